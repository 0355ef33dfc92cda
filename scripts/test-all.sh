#!/usr/bin/env bash
# The whole test suite: what `make test` and CI (.ci/run) run.
#
# It installs what the tests need from Debian's packages (PostgreSQL 15,
# Chromium, wrk, a Docker engine, qemu-user-static, ...), idempotently,
# starts a throwaway PostgreSQL on 127.0.0.1, and runs:
#   1. gofmt and go vet
#   2. every Go test, with PostgreSQL and Chromium available (so the
#      conformance suite runs on both backends, the replica and outage tests
#      and the real-browser test run), then the core packages under -race
#   3. the container proof (scripts/test-docker.sh)
#   4. the Kubernetes manifests and Helm chart checks (scripts/test-k8s.sh)
#   5. a short redirect benchmark (bench/redirect.sh), printed, not gated
#   6. the scale benchmark at 10k and 100k links (bench/scale.sh), printed,
#      not gated (the 1M figures are in docs/benchmarks.md)
#
# SKIP="docker k8s bench scale" skips stages by name (for a quick local run).
set -uo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
export GOFLAGS=${GOFLAGS:--buildvcs=false}

passed=0 failed=0 failures=()
t_start=$(date +%s)
skip() { [[ " ${SKIP:-} " == *" $1 "* ]]; }
stage() { # name cmd...
	local name=$1 t0 rc
	shift
	if skip "$name"; then
		echo "=== $name: skipped (SKIP)"
		return 0
	fi
	echo "=== $name"
	t0=$(date +%s)
	"$@"
	rc=$?
	if ((rc == 0)); then
		passed=$((passed + 1))
		echo "=== $name: ok ($(($(date +%s) - t0))s)"
	else
		failed=$((failed + 1))
		failures+=("$name")
		echo "=== $name: FAILED with exit $rc ($(($(date +%s) - t0))s)"
	fi
}

apt_install() { # packages... (only those missing)
	local missing=()
	for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
	((${#missing[@]} == 0)) && return 0
	if [[ $(id -u) -ne 0 ]]; then
		echo "test-all: missing packages ${missing[*]}; run as root or install them" >&2
		return 1
	fi
	if [[ -z ${SIGNPOST_APT_UPDATED:-} ]]; then
		apt-get update -qq && export SIGNPOST_APT_UPDATED=1
	fi
	echo "test-all: installing ${missing[*]}"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

deps() {
	apt_install postgresql-15 chromium wrk curl ca-certificates python3
}

lint() {
	local unformatted
	unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './deploy/*'))
	if [[ -n $unformatted ]]; then
		echo "gofmt would change:"
		echo "$unformatted"
		return 1
	fi
	go vet ./...
}

gotests() {
	export SIGNPOST_TEST_CHROMIUM=${SIGNPOST_TEST_CHROMIUM:-/usr/bin/chromium}
	go test -count=1 -timeout 20m ./... || return 1
	# The concurrent core under the race detector.
	go test -count=1 -race -timeout 20m ./internal/... ./cmd/... || return 1
}

bench() {
	DURATION=${BENCH_DURATION:-5s} ROUNDS=${BENCH_ROUNDS:-3} bench/redirect.sh &&
		go test -run XXX -bench 'Redirect$' -benchmem -benchtime 200000x ./internal/web/
}

stage deps deps
. scripts/test-postgres.sh
trap signpost_pg_stop EXIT
if signpost_pg_start; then
	stage lint lint
	stage go-test gotests
else
	failed=$((failed + 1))
	failures+=("postgres-start")
fi
stage docker scripts/test-docker.sh
stage k8s scripts/test-k8s.sh
stage bench bench
stage scale env SIZES="10000 100000" DURATION=${BENCH_DURATION:-5s} ROUNDS=1 bench/scale.sh

echo
echo "test-all: finished in $(($(date +%s) - t_start))s"
((failed > 0)) && echo "test-all: failed stages: ${failures[*]}"
echo "stages: $passed passed, $failed failed"
((failed == 0))
