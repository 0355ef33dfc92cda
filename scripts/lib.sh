# Helpers shared by the test and benchmark scripts (every scripts/test-*.sh,
# bench/lib.sh and so every benchmark, scripts/bench-profiling.sh). Source it
# from bash; it only defines functions and variables, apart from the one
# EXIT trap that runs what on_exit registered. Sourcing it again (a script
# that sources scripts/test-postgres.sh, which sources it too) does nothing,
# so what on_exit registered stays registered. Do not write a second copy of
# these in a script: add what several scripts need here.
#
#   on_exit CMD...          run CMD when the script exits (last registered first)
#   apt_install PKG...      install the Debian packages that are missing (needs
#                           root; `apt-get update` once per run, SIGNPOST_APT_UPDATED)
#   free_port               print a free TCP port on 127.0.0.1
#   http_code URL [ARGS]    the status of a request (curl ARGS), 000 when nothing answers
#   wait_http URL CODE SEC [PID]
#                           poll every 50 ms until URL answers CODE, at most SEC
#                           seconds; gives up at once when process PID has exited
#   wait_gone PID SEC       wait until process PID (a child) exits, SIGKILL it after
#                           SEC seconds; reaps it and leaves its exit status in gone_rc
#   now / since T           a timestamp, and the seconds since one (two decimals)
#   now_ms                  milliseconds since the epoch
#   mb BYTES                BYTES in MB (10^6), two decimals
#   median                  the median of the numbers on stdin, one a line
#   cpu_ticks PID           user + system CPU clock ticks process PID used so far
#                           (0 without a PID; getconf CLK_TCK ticks a second)
#   step TITLE              a section header with the seconds since the script began
#   fail MSG                print "FAIL: MSG" to stderr and exit 1
#
# Counted checks, for scripts that go on after a failure and sum up at the end:
#   ok MSG / not_ok MSG     count a check as passed / failed and print it
#   check MSG CMD...        run CMD, then ok or not_ok
#   expect MSG ACTUAL OP WANT
#                           a numeric check (OP: -eq -le -ge -lt -gt); a non-number fails
#   note MSG                print a line that is not a check
#   figure NAME VALUE       record a measured figure (printed by figures)
#   figures [FILE]          print the figures (and write them to FILE)
#   summary                 print "N passed, N failed" and what failed; fails when any failed

[[ -n ${lib_sourced:-} ]] && return 0
lib_sourced=1
lib_started=$(date +%s.%N)
lib_exit=()
on_exit() { lib_exit+=("$*"); }
lib_on_exit() {
	local rc=$? i
	set +e
	for ((i = ${#lib_exit[@]} - 1; i >= 0; i--)); do eval "${lib_exit[i]}"; done
	exit "$rc"
}
trap lib_on_exit EXIT

apt_install() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	((${#missing[@]} == 0)) && return 0
	if [[ $(id -u) -ne 0 ]]; then
		echo "$(basename "$0"): missing Debian packages ${missing[*]}; run as root or install them" >&2
		return 1
	fi
	if [[ -z ${SIGNPOST_APT_UPDATED:-} ]]; then
		DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
		export SIGNPOST_APT_UPDATED=1
	fi
	echo "$(basename "$0"): apt-get install ${missing[*]}" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

http_code() {
	local url=$1
	shift
	curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" "$url" || true
}

wait_http() {
	local deadline
	deadline=$(awk -v s="$(now)" -v t="$3" 'BEGIN { printf "%.0f", s + t }')
	while (($(date +%s) < deadline)); do
		[[ $(http_code "$1" --max-time 1) == "$2" ]] && return 0
		if [[ -n ${4:-} ]] && ! kill -0 "$4" 2>/dev/null; then
			echo "wait_http: process $4 exited before $1 answered $2" >&2
			return 1
		fi
		sleep 0.05
	done
	return 1
}

wait_gone() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null && echo "wait_gone: process $1 still running after $2 s: killed" >&2
	wait "$1"
	gone_rc=$?
}

now() { date +%s.%N; }
now_ms() { date +%s%3N; }
since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.2f", e - s }'; }
mb() { awk -v b="$1" 'BEGIN { printf "%.2f MB", b / 1000000 }'; }
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
cpu_ticks() { if [[ -n ${1:-} ]]; then awk '{ print $14 + $15 }' "/proc/$1/stat"; else echo 0; fi; }

step() { printf '\n== %s (%.0fs)\n' "$*" "$(since "$lib_started")"; }
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

lib_passed=0 lib_failed=0 lib_figures=() lib_failures=()
ok() {
	lib_passed=$((lib_passed + 1))
	printf 'ok    %s\n' "$*"
}
not_ok() {
	lib_failed=$((lib_failed + 1))
	lib_failures+=("$*")
	printf 'FAIL  %s\n' "$*"
}
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}
expect() {
	local label=$1 actual=$2 op=$3 want=$4 sym
	case $op in -eq) sym="=" ;; -le) sym="<=" ;; -ge) sym=">=" ;; -lt) sym="<" ;; -gt) sym=">" ;; *) sym=$op ;; esac
	if [[ $actual =~ ^-?[0-9]+$ ]] && [ "$actual" "$op" "$want" ]; then
		ok "$label: $actual (want $sym $want)"
	else
		not_ok "$label: $actual (want $sym $want)"
	fi
}
note() { printf '...   %s\n' "$*"; }
figure() {
	lib_figures+=("$(printf '%-44s %s' "$1" "$2")")
	note "$1: $2"
}
figures() {
	printf '%s\n' "${lib_figures[@]}"
	if [[ -n ${1:-} ]]; then printf '%s\n' "${lib_figures[@]}" >"$1"; fi
}
summary() {
	echo "$lib_passed passed, $lib_failed failed"
	((lib_failed == 0)) && return 0
	printf 'failed: %s\n' "${lib_failures[@]}"
	return 1
}

# ---- Docker builds (test-docker.sh, bench/container.sh) ---------------------
# docker_prepare TAG: starts dockerd when none answers (stopped at exit unless
# it was up before), makes the stand-in base images unless
# SIGNPOST_DOCKER_REAL_BASES=1, and copies the work tree and an offline
# Dockerfile (without its `# syntax=` line, whose frontend image cannot be
# pulled offline) into $work. It sets:
#   docker, work, ctx              the engine CLI, a temp dir, the build context
#   version, revision, build_date  the stamps every build gets
#   base_args, build_args          docker build flags (without and with stamps)
# The images docker_build and make_image tag, the containers in
# containers[] and the volume $volume (when set) are removed at exit;
# SIGNPOST_DOCKER_KEEP=1 keeps them, the engine and $work.
docker_prepare() {
	docker_tag=$1
	export DOCKER_BUILDKIT=1
	docker=${DOCKER:-/usr/bin/docker}
	version=v0.0.0-test
	revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
	build_date=2026-01-02T03:04:05Z
	work=$(mktemp -d "/tmp/signpost-$docker_tag.XXXXXX")
	containers=()
	docker_images=()
	docker_engine_was_up=0
	"$docker" info >/dev/null 2>&1 && docker_engine_was_up=1
	on_exit docker_cleanup
	scripts/docker-engine.sh start
	local bases=()
	if [[ ${SIGNPOST_DOCKER_REAL_BASES:-} != 1 ]]; then
		mapfile -t bases < <(scripts/docker-standin-images.sh)
		# Each line is "--build-arg NAME=VALUE": split into two words.
		read -r -a bases <<<"${bases[*]}"
	fi
	sed '1{/^# syntax=/d}' Dockerfile >"$work/Dockerfile"
	# Build from a copy of the work tree, so that a change made for a
	# rebuild never touches the repository.
	ctx=$work/context
	mkdir -p "$ctx"
	tar -C "$PWD" --exclude=./.git --exclude=./dist -cf - . | tar -C "$ctx" -xf -
	base_args=(--network host -f "$work/Dockerfile" "${bases[@]}" --build-arg "GOPROXY=$(go env GOPROXY)")
	build_args=("${base_args[@]}" --build-arg "VERSION=$version" --build-arg "REVISION=$revision" --build-arg "DATE=$build_date")
}

docker_cleanup() {
	local c
	for c in "${containers[@]}"; do "$docker" rm -f "$c" >/dev/null 2>&1; done
	if [[ ${SIGNPOST_DOCKER_KEEP:-} == 1 ]]; then
		echo "kept $work, the images and the engine"
		return
	fi
	((${#docker_images[@]})) && "$docker" rmi -f "${docker_images[@]}" >/dev/null 2>&1
	[[ -n ${volume:-} ]] && "$docker" volume rm -f "$volume" >/dev/null 2>&1
	rm -rf "$work"
	((docker_engine_was_up)) || scripts/docker-engine.sh stop
}

# docker_build LOG IMAGE ARGS...: docker build of $ctx into LOG, tagged IMAGE;
# prints the log's tail on failure.
docker_build() {
	local log=$1 image=$2
	shift 2
	docker_images+=("$image")
	if "$docker" build --progress plain "${build_args[@]}" -t "$image" "$@" "$ctx" >"$log" 2>&1; then
		return 0
	fi
	echo "---- last lines of $log" >&2
	tail -n 30 "$log" >&2
	return 1
}

# make_image LOG IMAGE: `make image` in the copy, with the stamps as make
# variables (so the labels and `version` prove the Makefile passes them on).
make_image() {
	local log=$1
	docker_images+=("$2")
	if make -C "$ctx" image DOCKER="$docker" IMAGE="$2" \
		DOCKER_BUILD_FLAGS="--progress plain ${base_args[*]}" \
		VERSION="$version" REVISION="$revision" DATE="$build_date" >"$log" 2>&1; then
		return 0
	fi
	echo "---- last lines of $log" >&2
	tail -n 30 "$log" >&2
	return 1
}

# run_service IMAGE NAME [docker run args...]: starts the service read-only,
# without capabilities, on the host network, with the volume $volume on
# /data (when set), and waits for /readyz 200 (30 s). Sets cid, port and
# ready_s (docker run to ready, in seconds).
run_service() {
	local image=$1 name=$2 t0
	shift 2
	port=$(free_port)
	t0=$(now)
	cid=$("$docker" run -d --name "$name-$$" \
		--read-only --tmpfs /tmp \
		--cap-drop ALL --security-opt no-new-privileges \
		--network host \
		${volume:+-v "$volume:/data"} \
		-e HTTP_ADDR=127.0.0.1:"$port" \
		-e DEBUG_ADDR=127.0.0.1:"$(free_port)" \
		-e SHUTDOWN_DELAY=1s \
		--health-interval 1s --health-start-period 1s \
		"$@" "$image")
	containers+=("$cid")
	if wait_http "http://127.0.0.1:$port/readyz" 200 30; then
		ready_s=$(since "$t0")
		return 0
	fi
	echo "---- container log" >&2
	"$docker" logs "$cid" 2>&1 | tail -n 30 >&2
	return 1
}

# stop_service: docker stop $cid; sets stop_s and exit_code.
stop_service() {
	local t0
	t0=$(now)
	"$docker" stop -t 30 "$cid" >/dev/null
	stop_s=$(since "$t0")
	exit_code=$("$docker" inspect -f '{{.State.ExitCode}}' "$cid")
}
