# Shared set-up of the wrk benchmarks (bench/redirect.sh,
# scripts/bench-profiling.sh); source it from the repository root with
# `set -euo pipefail` on. With scripts/lib.sh's helpers (free_port,
# wait_http, median, cpu_ticks, apt_install, ...) it gives:
#   $work         a temp dir, removed on exit with every PID in pids[]
#   pids          add the PID of each server you start: killed on exit
#   links_file F  writes $LINKS (default 10000) links link-00000... as NDJSON to F
# and installs wrk with apt when it is missing.
. scripts/lib.sh
LINKS=${LINKS:-10000}
export LINKS
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
on_exit cleanup

command -v wrk >/dev/null || apt_install wrk

links_file() {
  awk -v n="$LINKS" 'BEGIN { for (i = 0; i < n; i++) printf("{\"name\":\"link-%05d\",\"url\":\"https://example.com/%d/docs\"}\n", i, i) }' > "$1"
}
