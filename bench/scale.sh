#!/usr/bin/env bash
# Signpost at 10k, 100k and 1M links. For each size it generates links (45-
# character URLs, a short description, 5% templates), imports them with
# `signpost import` into a fresh SQLite file, starts `signpost serve`, and
# prints one line with:
#   import time and peak RSS, DB size, start to /readyz 200, RSS when ready
#   and its peak, live heap after a GC, a /metrics scrape's time,
#   redirect req/s and p99 for Signpost and a bare net/http 302 server in
#   the same interleaved rounds (wrk -t2 -c50, random names),
#   API write p99 (PATCH, end to end, at WRITE_RATE writes/s) alone and
#   while the redirect load runs, the redirect p99 with and without those
#   writes, the click flushes' mean duration, and the same links imported
#   through the API into an empty server (API_IMPORT_CHUNK lines per
#   request, 250000; 0 skips it): time and the server's peak RSS.
#
#   bench/scale.sh                                  # SIZES="10000 100000 1000000"
#   SIZES="10000 100000" DURATION=3s ROUNDS=1 bench/scale.sh   # what CI runs
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES=${SIZES:-10000 100000 1000000}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
WRITE_RATE=${WRITE_RATE:-20}
export NAME_DIGITS=7 # link-0000000 ..., for bench/redirect.lua
. bench/lib.sh

go build -o "$work/bare" ./bench/bare
go build -o "$work/signpost" ./cmd/signpost

gen() { # n file: names link-0000000..., 1 in 20 a template
  awk -v n="$1" 'BEGIN {
    for (i = 0; i < n; i++) {
      if (i % 20 == 7) url = sprintf("https://search.example.com/q?s={{QueryEscape .Path}}&n=%07d", i)
      else url = sprintf("https://example.com/%07d/docs/some/longer/path", i)
      printf("{\"name\":\"link-%07d\",\"url\":\"%s\",\"description\":\"Link number %d for the team\"}\n", i, url, i)
    }
  }' > "$2"
}
wait_ready() { # port pid: seconds until /readyz answers 200 (bounded: 120 s)
  local t0 i
  t0=$(date +%s.%N)
  for i in $(seq 1 1200); do
    [ "$(curl -so /dev/null -w '%{http_code}' "http://127.0.0.1:$1/readyz" || true)" = 200 ] && break
    kill -0 "$2" 2>/dev/null || { echo "server exited" >&2; return 1; }
    sleep 0.1
  done
  awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'
}
rss_mb() { awk -v k="$2" '$1 == k":" { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
metric() { curl -s "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m { print $2 }'; }
wrk_run() { # url -> "req/s p99_ms"
  wrk -t2 -c50 -d"$DURATION" --latency -s bench/redirect.lua "$1" > "$work/wrk.out"
  if grep -q "Non-2xx or 3xx" "$work/wrk.out"; then cat "$work/wrk.out" >&2; exit 1; fi
  awk 'function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec/ { r = $2 } $1 == "99%" { p = ms($2) } END { printf "%.0f %.2f\n", r, p }' "$work/wrk.out"
}
p99() { sort -n | awk '{ a[NR] = $1 } END { i = int(NR * 0.99 + 0.999); if (i < 1) i = 1; print a[i] }'; }

# writes port n file seconds max: PATCH random links at WRITE_RATE per
# second for seconds (0: until max writes), appending "time_total code".
writes() {
  local end=$(($(date +%s) + $4)) i=0 name
  while { [ "$4" = 0 ] || [ "$(date +%s)" -lt "$end" ]; } && [ $i -lt "$5" ]; do
    name=$(printf 'link-%07d' $(((RANDOM * 32768 + RANDOM) % $2)))
    curl -so /dev/null -w '%{time_total} %{http_code}\n' -X PATCH -H 'Content-Type: application/merge-patch+json' \
      -d "{\"description\":\"edited $i\"}" "http://127.0.0.1:$1/api/v1/links/$name" >> "$3"
    i=$((i + 1))
    sleep "$(awk -v r="$WRITE_RATE" 'BEGIN { print 1 / r }')"
  done
}
write_p99() { # file: p99 in ms; fails when a write did
  if awk '$2 != 200 { bad = 1 } END { exit !bad }' "$1"; then
    echo "scale: writes failed:" >&2; awk '$2 != 200' "$1" | sort | uniq -c | head >&2; exit 1
  fi
  awk '{ printf "%.2f\n", $1 * 1000 }' "$1" | p99
}

bare_port=$(free_port)
"$work/bare" -addr 127.0.0.1:$bare_port &
pids+=($!)

printf '%-8s %9s %8s %8s %7s %8s %8s %8s %8s %9s %13s %13s %9s %11s\n' links import_s imp_MB db_MB ready_s rss_MB peak_MB heap_MB scrape_ms sp_req/s "sp_p99_ms" "bare_req/s" "ratio" "write_p99"
for n in $SIZES; do
  LINKS=$n
  export LINKS
  gen "$n" "$work/links-$n.ndjson"
  db=$work/scale-$n.db
  /usr/bin/time -f '%e %M' -o "$work/import.time" env DATABASE_URL=sqlite:$db "$work/signpost" import "$work/links-$n.ndjson" 2>/dev/null
  read -r imp_s imp_kb < "$work/import.time"
  db_mb=$(du -cm "$db"* | awk 'END { print $1 }')

  port=$(free_port); dport=$(free_port)
  DATABASE_URL=sqlite:$db HTTP_ADDR=127.0.0.1:$port DEBUG_ADDR=127.0.0.1:$dport LOG_LEVEL=warn SHUTDOWN_DELAY=0 \
    CLICK_FLUSH_INTERVAL=${CLICK_FLUSH_INTERVAL:-10s} "$work/signpost" serve 2>"$work/serve-$n.log" &
  sp=$!
  pids+=($sp)
  ready=$(wait_ready "$port" "$sp")
  rss=$(rss_mb "$sp" VmRSS)
  curl -so /dev/null "http://127.0.0.1:$dport/debug/pprof/heap?gc=1" # a GC, so that the live heap is current
  heap=$(awk -v b="$(metric "$port" go_gc_heap_live_bytes)" 'BEGIN { printf "%.0f", b / 1048576 }')
  scrape=$(curl -so /dev/null -w '%{time_total}' "http://127.0.0.1:$port/metrics" | awk '{ printf "%.1f", $1 * 1000 }')

  # API writes alone (nothing else running): WRITES of them at WRITE_RATE
  # per second, end to end (the answer comes once the index published).
  : > "$work/writes-alone"
  writes "$port" "$n" "$work/writes-alone" 0 "${WRITES:-100}"
  wp99_alone=$(write_p99 "$work/writes-alone")

  # Redirects under load, interleaved with the bare server; in the first
  # round, API writes run alongside at WRITE_RATE per second (its p99 is
  # then compared with the other rounds').
  : > "$work/r-sp" ; : > "$work/r-bare" ; : > "$work/writes"
  for r in $(seq 1 "$ROUNDS"); do
    if [ "$r" = 1 ]; then
      writes "$port" "$n" "$work/writes" "${DURATION%s}" 10000 &
      writer=$!
    fi
    wrk_run "http://127.0.0.1:$port" >> "$work/r-sp"
    [ "$r" = 1 ] && wait "$writer"
    wrk_run "http://127.0.0.1:$bare_port" >> "$work/r-bare"
  done
  sm=$(cut -d' ' -f1 "$work/r-sp" | median); sp99=$(cut -d' ' -f2 "$work/r-sp" | median)
  bm=$(cut -d' ' -f1 "$work/r-bare" | median); bp99=$(cut -d' ' -f2 "$work/r-bare" | median)
  sp99_writes=$(sed -n 1p "$work/r-sp" | cut -d' ' -f2)
  sp99_quiet=-
  [ "$ROUNDS" -gt 1 ] && sp99_quiet=$(sed -n '2,$p' "$work/r-sp" | cut -d' ' -f2 | median)
  wp99=$(write_p99 "$work/writes")
  # Let one flush run after the load, then read the flush histogram.
  sleep "${CLICK_FLUSH_INTERVAL:-10}" 2>/dev/null || sleep 10
  fsum=$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^signpost_click_flush_duration_seconds_sum\{result="ok"\}/ { print $2 }')
  fcnt=$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^signpost_click_flush_duration_seconds_count\{result="ok"\}/ { print $2 }')
  peak=$(rss_mb "$sp" VmHWM)
  kill "$sp"; wait "$sp" 2>/dev/null || true

  printf '%-8s %9s %8.0f %8s %7s %8s %8s %8s %8s %9s %13s %13s %9.3f %11s\n' "$n" "$imp_s" "$((imp_kb / 1024))" "$db_mb" "$ready" "$rss" "$peak" "$heap" "$scrape" \
    "$sm" "$sp99" "$bm ($bp99)" "$(awk -v s="$sm" -v b="$bm" 'BEGIN { print s / b }')" "$wp99_alone"
  printf '         flushes: %s, mean %s ms; writes alone: %s, p99 %s ms; writes under the redirect load: %s, p99 %s ms (end to end, curl time_total); redirect p99 with writes %s ms, without %s ms\n' "${fcnt:-0}" \
    "$(awk -v s="${fsum:-0}" -v c="${fcnt:-0}" 'BEGIN { if (c > 0) printf "%.1f", s / c * 1000; else print "-" }')" \
    "$(wc -l < "$work/writes-alone")" "$wp99_alone" "$(wc -l < "$work/writes")" "$wp99" "$sp99_writes" "$sp99_quiet"

  # The same links through the API into an empty server, in chunks under
  # the 64 MiB body limit (API_IMPORT_CHUNK lines; 0 skips this).
  chunk=${API_IMPORT_CHUNK:-250000}
  if [ "$chunk" -gt 0 ]; then
    rm -f "$db"*
    split -l "$chunk" -d -a 3 "$work/links-$n.ndjson" "$work/chunk-"
    port=$(free_port)
    DATABASE_URL=sqlite:$db HTTP_ADDR=127.0.0.1:$port DEBUG_ADDR=off LOG_LEVEL=warn SHUTDOWN_DELAY=0 "$work/signpost" serve 2>"$work/serve-api-$n.log" &
    sp=$!
    pids+=($sp)
    wait_ready "$port" "$sp" >/dev/null
    t0=$(date +%s.%N) times=""
    for f in "$work"/chunk-*; do
      out=$(curl -s -w ' %{http_code} %{time_total}' --max-time 300 -H 'Content-Type: application/x-ndjson' --data-binary "@$f" "http://127.0.0.1:$port/api/v1/import")
      case $out in *' 200 '*) ;; *) echo "scale: API import of $f: $out" >&2; exit 1 ;; esac
      times="$times ${out##* }"
    done
    api_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    printf '         API import into an empty server, %s chunks of <= %s lines: %s s (%s), server peak RSS %s MB, RSS after %s MB\n' \
      "$(ls "$work"/chunk-* | wc -l)" "$chunk" "$api_s" "${times# }" "$(rss_mb "$sp" VmHWM)" "$(rss_mb "$sp" VmRSS)"
    kill "$sp"; wait "$sp" 2>/dev/null || true
    rm -f "$work"/chunk-*
  fi
  rm -f "$db"* "$work/links-$n.ndjson"
done
