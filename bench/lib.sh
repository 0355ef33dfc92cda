# Shared set-up of the wrk benchmarks (bench/redirect.sh,
# scripts/bench-profiling.sh); source it from the repository root with
# `set -euo pipefail` on. It gives:
#   $work         a temp dir, removed on exit with every PID in pids[]
#   pids          add the PID of each server you start: killed on exit
#   free_port     prints a free TCP port on 127.0.0.1
#   links_file F  writes $LINKS (default 10000) links link-00000... as NDJSON to F
# and installs wrk with apt when it is missing.
LINKS=${LINKS:-10000}
export LINKS
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

if ! command -v wrk >/dev/null; then
  echo "$0: installing wrk" >&2
  [ -n "${SIGNPOST_APT_UPDATED:-}" ] || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

links_file() {
  awk -v n="$LINKS" 'BEGIN { for (i = 0; i < n; i++) printf("{\"name\":\"link-%05d\",\"url\":\"https://example.com/%d/docs\"}\n", i, i) }' > "$1"
}
