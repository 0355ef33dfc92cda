#!/usr/bin/env bash
# Redirect throughput: Signpost with 10,000 links vs a bare net/http server
# that answers every request with a fixed 302, both under the same wrk load
# (random names, wrk -t2 -c50) in the same run, alternating, on loopback.
#
#   bench/redirect.sh                      # SQLite (default)
#   DATABASE_URL=postgres://... bench/redirect.sh
#   DURATION=10s ROUNDS=3 bench/redirect.sh
#   PEER_URL=http://127.0.0.1:9090 bench/redirect.sh   # also a peer, see below
#
# Prints each round and the median requests/s of both, their ratio, and
# the server CPU time per request of each (from /proc/PID/stat).
#
# PEER_URL names any redirect server already running and loaded with the
# same links (link-00000 ... as `bench/lib.sh links_file` writes them; e.g.
# a golink you built yourself, or an older Signpost): it is measured in the
# same interleaved rounds, and PEER_PID, when given, adds its CPU per
# request.
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
pids+=($!); sp_pid=$!
"$work/bare" -addr 127.0.0.1:$bare_port &
pids+=($!); bare_pid=$!
# Ready when Signpost's /readyz says 200 and bare answers (its 302 to everything).
wait_http "http://127.0.0.1:$sp_port/readyz" 200 30 || { echo "signpost did not get ready:" >&2; cat "$work/signpost.log" >&2; exit 1; }
wait_http "http://127.0.0.1:$bare_port/readyz" 302 10 || { echo "bench/bare did not start" >&2; exit 1; }
# Sanity: both answer a link with 302, Signpost with the right target.
loc=$(curl -so /dev/null -w '%{redirect_url}' "http://127.0.0.1:$sp_port/link-00042/a/b?x=1")
[ "$loc" = "https://example.com/42/docs/a/b?x=1" ] || { echo "unexpected redirect: $loc" >&2; cat "$work/signpost.log" >&2; exit 1; }

hz=$(getconf CLK_TCK)
run() { # url [pid] -> "req/s cpu_us_per_request p99_ms"
  local c0 c1
  c0=$(cpu_ticks "${2:-}")
  wrk -t2 -c50 -d"$DURATION" --latency -s bench/redirect.lua "$1" > "$work/wrk.out"
  c1=$(cpu_ticks "${2:-}")
  if grep -q "Non-2xx or 3xx" "$work/wrk.out"; then echo "errors in wrk run:" >&2; cat "$work/wrk.out" >&2; exit 1; fi
  awk -v c="$((c1 - c0))" -v hz="$hz" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /requests in/ { n = $1 } /Requests\/sec/ { r = $2 } $1 == "99%" { p = ms($2) }
    END { printf "%.0f %.2f %.2f\n", r, c / hz * 1e6 / n, p }' "$work/wrk.out"
}

# Warm up, then alternate so drift hits all alike.
sp_url=http://127.0.0.1:$sp_port bare_url=http://127.0.0.1:$bare_port
for u in "$sp_url" "$bare_url" ${PEER_URL:+"$PEER_URL"}; do
  wrk -t2 -c50 -d2s -s bench/redirect.lua "$u" >/dev/null
done
: > "$work/sp"; : > "$work/bare.txt"; : > "$work/peer"
for r in $(seq 1 "$ROUNDS"); do
  b=$(run "$bare_url" "$bare_pid"); echo "$b" >> "$work/bare.txt"
  s=$(run "$sp_url" "$sp_pid"); echo "$s" >> "$work/sp"
  line="round $r: bare $b, signpost $s"
  if [ -n "${PEER_URL:-}" ]; then
    p=$(run "$PEER_URL" "${PEER_PID:-}"); echo "$p" >> "$work/peer"; line="$line, peer $p"
  fi
  echo "$line (req/s, µs CPU/req, p99 ms)"
done
col() { cut -d' ' -f"$1" "$2" | median; }
bm=$(col 1 "$work/bare.txt"); sm=$(col 1 "$work/sp")
bc=$(col 2 "$work/bare.txt"); sc=$(col 2 "$work/sp")
backend=${db%%:*}
printf 'median over %d rounds of %s (wrk -t2 -c50, %d links, %s backend): bare %.0f req/s, signpost %.0f req/s, ratio %.3f; CPU per request bare %.2f µs, signpost %.2f µs, ratio %.3f; p99 bare %s ms, signpost %s ms\n' \
  "$ROUNDS" "$DURATION" "$LINKS" "$backend" "$bm" "$sm" "$(awk -v s="$sm" -v b="$bm" 'BEGIN { print s / b }')" \
  "$bc" "$sc" "$(awk -v s="$sc" -v b="$bc" 'BEGIN { print s / b }')" "$(col 3 "$work/bare.txt")" "$(col 3 "$work/sp")"
if [ -n "${PEER_URL:-}" ]; then
  pm=$(col 1 "$work/peer")
  printf 'peer %s: median %.0f req/s, ratio to bare %.3f, p99 %s ms' "$PEER_URL" "$pm" "$(awk -v s="$pm" -v b="$bm" 'BEGIN { print s / b }')" "$(col 3 "$work/peer")"
  [ -n "${PEER_PID:-}" ] && printf ', CPU per request %.2f µs' "$(col 2 "$work/peer")"
  echo
fi
if [ -n "${MIN_RATIO:-}" ]; then
  awk -v s="$sm" -v b="$bm" -v m="$MIN_RATIO" 'BEGIN { exit !(s / b >= m) }' || { echo "ratio below MIN_RATIO=$MIN_RATIO" >&2; exit 1; }
fi
