#!/usr/bin/env bash
# The whole test suite: what `make test` and CI (.ci/run) run.
#
# It installs what the tests need from Debian's packages (PostgreSQL 15,
# Chromium, wrk, a Docker engine, qemu-user-static, ...), idempotently,
# starts a throwaway PostgreSQL on 127.0.0.1, and runs:
#   1. gofmt and go vet
#   2. every Go test, with PostgreSQL, Chromium and the test OpenID provider
#      (tools/testoidc, scripts/test-oidc.sh) available (so the conformance
#      suite runs on both backends, the replica and outage tests, sign-in
#      through a real provider and the real-browser tests run, with axe-core
#      from npm auditing every page, scripts/install-axe.sh) and the
#      release binaries of all five platforms and UPX checked, then the core
#      packages under -race; with CI=true a test that skips fails the stage
#      (scripts/noskip)
#   3. the fleet under load through a real HAProxy: rolling restarts, a
#      crash, PostgreSQL outages, a SQLite drain (scripts/test-fleet.sh,
#      about 4 minutes; it installs haproxy and starts its own PostgreSQL)
#   4. the container proof (scripts/test-docker.sh)
#   5. the release configuration: goreleaser check and a snapshot build
#      (scripts/test-release.sh; after docker, whose `make dist` warms the
#      Go build cache for the five platforms)
#   6. the Kubernetes manifests, Helm chart, alerts and dashboard checks
#      (scripts/test-k8s.sh)
#   7. the OpenAPI description from outside Go: Redocly's lint, and a
#      client generated from it run against `signpost serve`
#      (scripts/test-openapi.sh)
#   8. a short redirect benchmark (bench/redirect.sh), printed, not gated
#   9. the image's build and start-up times (bench/container.sh), printed;
#      a rebuild after a one-line change must be 5x faster than cold
#  10. the scale benchmark at 10k and 100k links (bench/scale.sh), printed,
#      not gated (the 1M figures are in docs/benchmarks.md)
#
# SKIP="fleet docker release k8s openapi bench bench-container scale" skips
# stages by name (for a quick local run).
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh # apt_install, on_exit
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

deps() {
	apt_install postgresql-15 chromium wrk curl ca-certificates python3 make || return 1
	# npm only when there is none: a nodejs from NodeSource brings its own
	# and conflicts with Debian's npm package.
	command -v npm >/dev/null || apt_install npm
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

# gotest ARGS...: go test; with CI=true as JSON through scripts/noskip, which
# prints what go test would and fails when a test skipped (in CI everything
# the tests need is installed, so a skip is a check that did not run).
gotest() {
	if [[ ${CI:-} != true ]]; then
		go test "$@"
		return
	fi
	local noskip
	noskip=$(mktemp)
	go build -o "$noskip" ./scripts/noskip || return 1
	go test -json "$@" | "$noskip"
	local rc=$?
	rm -f "$noskip"
	return "$rc"
}

gotests() {
	export SIGNPOST_TEST_CHROMIUM=${SIGNPOST_TEST_CHROMIUM:-/usr/bin/chromium}
	# axe-core for the browser tests' accessibility audit (npm, cached).
	SIGNPOST_TEST_AXE=${SIGNPOST_TEST_AXE:-$(scripts/install-axe.sh)} || return 1
	export SIGNPOST_TEST_AXE
	# The release binaries of every platform, and the UPX copy.
	local upx
	upx=$(scripts/install-upx.sh) || return 1
	SIGNPOST_TEST_RELEASE=all SIGNPOST_TEST_UPX=$upx gotest -count=1 -timeout 20m ./... || return 1
	# The concurrent core under the race detector (the release builds are
	# not concurrent code: once is enough).
	gotest -count=1 -race -timeout 20m -skip '^Test(ReleaseBinaries|DistUPXWithoutUPX)$' ./internal/... ./cmd/... || return 1
}

bench() {
	DURATION=${BENCH_DURATION:-5s} ROUNDS=${BENCH_ROUNDS:-3} bench/redirect.sh &&
		go test -run XXX -bench 'Redirect$' -benchmem -benchtime 200000x ./internal/web/
}

stage deps deps
. scripts/test-postgres.sh
. scripts/test-oidc.sh
on_exit signpost_pg_stop
on_exit signpost_oidc_stop
if ! signpost_oidc_start; then
	failed=$((failed + 1))
	failures+=("oidc-start")
fi
if signpost_pg_start; then
	stage lint lint
	stage go-test gotests
else
	failed=$((failed + 1))
	failures+=("postgres-start")
fi
stage fleet scripts/test-fleet.sh
stage docker scripts/test-docker.sh
stage release scripts/test-release.sh
stage k8s scripts/test-k8s.sh
stage openapi scripts/test-openapi.sh
stage bench bench
stage bench-container env MIN_REBUILD_SPEEDUP=5 bench/container.sh
stage scale env SIZES="10000 100000" DURATION=${BENCH_DURATION:-5s} ROUNDS=1 bench/scale.sh

echo
echo "test-all: finished in $(($(date +%s) - t_start))s"
((failed > 0)) && echo "test-all: failed stages: ${failures[*]}"
echo "stages: $passed passed, $failed failed"
((failed == 0))
