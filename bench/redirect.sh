#!/usr/bin/env bash
# Redirect throughput: Signpost with 10,000 links vs a bare net/http server
# that answers every request with a fixed 302, both under the same wrk load
# (random names, wrk -t2 -c50) in the same run, alternating, on loopback.
#
#   bench/redirect.sh                      # SQLite (default)
#   DATABASE_URL=postgres://... bench/redirect.sh
#   DURATION=10s ROUNDS=3 bench/redirect.sh
#
# Prints each round and the median requests/s of both, and their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
. bench/lib.sh

go build -o "$work/signpost" ./cmd/signpost
go build -o "$work/bare" ./bench/bare

db=${DATABASE_URL:-sqlite:$work/bench.db}
links_file "$work/links.ndjson"
DATABASE_URL=$db "$work/signpost" import "$work/links.ndjson"

sp_port=$(free_port); bare_port=$(free_port)
DATABASE_URL=$db HTTP_ADDR=127.0.0.1:$sp_port DEBUG_ADDR=off LOG_LEVEL=warn SHUTDOWN_DELAY=0 "$work/signpost" serve 2>"$work/signpost.log" &
pids+=($!)
"$work/bare" -addr 127.0.0.1:$bare_port &
pids+=($!)
# Wait until Signpost is ready (/readyz 200: its port opens before the links
# load) and the bare server answers at all (bounded: 10 s each).
for want in "$sp_port 200" "$bare_port any"; do
  set -- $want
  for _ in $(seq 1 100); do
    code=$(curl -so /dev/null -w '%{http_code}' "http://127.0.0.1:$1/readyz" || true)
    { [ "$code" = 200 ] || { [ "$2" = any ] && [ "$code" != 000 ]; }; } && break
    sleep 0.1
  done
done
# Sanity: both answer a link with 302, Signpost with the right target.
loc=$(curl -so /dev/null -w '%{redirect_url}' "http://127.0.0.1:$sp_port/link-00042/a/b?x=1")
[ "$loc" = "https://example.com/42/docs/a/b?x=1" ] || { echo "unexpected redirect: $loc" >&2; cat "$work/signpost.log" >&2; exit 1; }

rps() { # port
  wrk -t2 -c50 -d"$DURATION" -s bench/redirect.lua "http://127.0.0.1:$1" > "$work/wrk.out"
  if grep -q "Non-2xx or 3xx" "$work/wrk.out"; then echo "errors in wrk run:" >&2; cat "$work/wrk.out" >&2; exit 1; fi
  awk '/Requests\/sec/ { print $2 }' "$work/wrk.out"
}
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# Warm both up, then alternate so drift hits both alike.
wrk -t2 -c50 -d2s -s bench/redirect.lua "http://127.0.0.1:$sp_port" >/dev/null
wrk -t2 -c50 -d2s -s bench/redirect.lua "http://127.0.0.1:$bare_port" >/dev/null
: > "$work/sp"; : > "$work/bare.txt"
for r in $(seq 1 "$ROUNDS"); do
  b=$(rps "$bare_port"); echo "$b" >> "$work/bare.txt"
  s=$(rps "$sp_port"); echo "$s" >> "$work/sp"
  printf 'round %d: bare %s req/s, signpost %s req/s\n' "$r" "$b" "$s"
done
bm=$(median < "$work/bare.txt"); sm=$(median < "$work/sp")
backend=${db%%:*}
printf 'median over %d rounds of %s (wrk -t2 -c50, %d links, %s backend): bare %.0f req/s, signpost %.0f req/s, ratio %.3f\n' \
  "$ROUNDS" "$DURATION" "$LINKS" "$backend" "$bm" "$sm" "$(awk -v s="$sm" -v b="$bm" 'BEGIN { print s / b }')"
if [ -n "${MIN_RATIO:-}" ]; then
  awk -v s="$sm" -v b="$bm" -v m="$MIN_RATIO" 'BEGIN { exit !(s / b >= m) }' || { echo "ratio below MIN_RATIO=$MIN_RATIO" >&2; exit 1; }
fi
