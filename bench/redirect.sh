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
# Ready when Signpost's /readyz says 200 and bare answers (its 302 to everything).
wait_http "http://127.0.0.1:$sp_port/readyz" 200 30 || { echo "signpost did not get ready:" >&2; cat "$work/signpost.log" >&2; exit 1; }
wait_http "http://127.0.0.1:$bare_port/readyz" 302 10 || { echo "bench/bare did not start" >&2; exit 1; }
# Sanity: both answer a link with 302, Signpost with the right target.
loc=$(curl -so /dev/null -w '%{redirect_url}' "http://127.0.0.1:$sp_port/link-00042/a/b?x=1")
[ "$loc" = "https://example.com/42/docs/a/b?x=1" ] || { echo "unexpected redirect: $loc" >&2; cat "$work/signpost.log" >&2; exit 1; }

rps() { # port
  wrk -t2 -c50 -d"$DURATION" -s bench/redirect.lua "http://127.0.0.1:$1" > "$work/wrk.out"
  if grep -q "Non-2xx or 3xx" "$work/wrk.out"; then echo "errors in wrk run:" >&2; cat "$work/wrk.out" >&2; exit 1; fi
  awk '/Requests\/sec/ { print $2 }' "$work/wrk.out"
}

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
