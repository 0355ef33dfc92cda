#!/usr/bin/env bash
# Continuous-profiling overhead on the redirect path. Two Signpost servers on
# the same SQLite file of 10,000 links, one with Pyroscope off and one with it
# on (all ten profile types, pushed every 15s to a local stand-in server that
# accepts and discards them; mutex/block sampling on), loaded in alternating
# rounds with the redirect benchmark's wrk script (random names, -t2 -c50).
#
#   scripts/bench-profiling.sh                 # DURATION=10s ROUNDS=5
#
# For each it reports requests/s and the server's CPU time per request (from
# /proc/PID/stat): on a shared machine the CPU cost is the steadier figure.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-5}
. bench/lib.sh

go build -o "$work/signpost" ./cmd/signpost
links_file "$work/links.ndjson"
for db in off on; do  # one database each: two processes never share a SQLite writer
  DATABASE_URL=sqlite:$work/$db.db "$work/signpost" import "$work/links.ndjson" 2>/dev/null
done

# The stand-in Pyroscope server: 200 to every push, counted.
sink=$(free_port)
python3 - "$sink" "$work/pushes" <<'EOF' &
import http.server, sys
port, out = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    n = 0
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        H.n += 1
        open(out, "w").write(str(H.n))
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
EOF
pids+=($!)

off=$(free_port); on=$(free_port)
common=(DEBUG_ADDR=off LOG_LEVEL=warn SHUTDOWN_DELAY=0)
env "${common[@]}" DATABASE_URL=sqlite:$work/off.db HTTP_ADDR=127.0.0.1:$off "$work/signpost" serve 2>"$work/off.log" &
pids+=($!); pid_off=$!
env "${common[@]}" DATABASE_URL=sqlite:$work/on.db HTTP_ADDR=127.0.0.1:$on PYROSCOPE_SERVER=http://127.0.0.1:$sink ENV=bench "$work/signpost" serve 2>"$work/on.log" &
pids+=($!); pid_on=$!
wait_http "http://127.0.0.1:$off/readyz" 200 30 "$pid_off" || { cat "$work/off.log" >&2; exit 1; }
wait_http "http://127.0.0.1:$on/readyz" 200 30 "$pid_on" || { cat "$work/on.log" >&2; exit 1; }

hz=$(getconf CLK_TCK)
run() { # port pid -> "req/s cpu_us_per_request"
  local c0 c1
  c0=$(cpu_ticks "$2")
  wrk -t2 -c50 -d"$DURATION" -s bench/redirect.lua "http://127.0.0.1:$1" > "$work/wrk.out"
  c1=$(cpu_ticks "$2")
  if grep -q "Non-2xx or 3xx" "$work/wrk.out"; then cat "$work/wrk.out" >&2; exit 1; fi
  awk -v c="$((c1 - c0))" -v hz="$hz" '/requests in/ { n = $1 } /Requests\/sec/ { r = $2 } END { printf "%.0f %.2f\n", r, c / hz * 1e6 / n }' "$work/wrk.out"
}

wrk -t2 -c50 -d2s -s bench/redirect.lua "http://127.0.0.1:$off" >/dev/null
wrk -t2 -c50 -d2s -s bench/redirect.lua "http://127.0.0.1:$on" >/dev/null
for r in $(seq 1 "$ROUNDS"); do
  read -r a_rps a_cpu < <(run "$off" "$pid_off"); echo "$a_rps $a_cpu" >> "$work/off"
  read -r b_rps b_cpu < <(run "$on" "$pid_on"); echo "$b_rps $b_cpu" >> "$work/on"
  printf 'round %d: pyroscope off %s req/s %s µs CPU/req; on %s req/s %s µs CPU/req\n' "$r" "$a_rps" "$a_cpu" "$b_rps" "$b_cpu"
done
pushes=$(cat "$work/pushes" 2>/dev/null || echo 0)
[ "$pushes" -gt 0 ] || { echo "bench-profiling: no profiles were pushed; is Pyroscope on?" >&2; cat "$work/on.log" >&2; exit 1; }
ar=$(cut -d' ' -f1 "$work/off" | median); ac=$(cut -d' ' -f2 "$work/off" | median)
br=$(cut -d' ' -f1 "$work/on" | median); bc=$(cut -d' ' -f2 "$work/on" | median)
printf 'median of %d rounds of %s (wrk -t2 -c50, %d links): pyroscope off %.0f req/s, %.2f µs CPU/req; on %.0f req/s, %.2f µs CPU/req; throughput %+.1f%%, CPU per request %+.1f%% (%d pushes)\n' \
  "$ROUNDS" "$DURATION" "$LINKS" "$ar" "$ac" "$br" "$bc" \
  "$(awk -v a="$ar" -v b="$br" 'BEGIN { print (b / a - 1) * 100 }')" \
  "$(awk -v a="$ac" -v b="$bc" 'BEGIN { print (b / a - 1) * 100 }')" "$pushes"
