#!/usr/bin/env bash
# Build and start-up times of the image and the release binaries, with a
# real Docker engine, offline (the figures in docs/benchmarks.md,
# "Container image and release binaries"). scripts/test-docker.sh checks
# the image; this only measures. Needs what test-docker.sh needs (run that
# once first: it installs the packages and the stand-in base images).
#
#   bench/container.sh                      # prints the figures
#   SIGNPOST_DOCKER_FIGURES=FILE bench/container.sh   # and writes them to FILE
#   MIN_REBUILD_SPEEDUP=5 bench/container.sh          # fail when a rebuild after a
#                                                     # one-line change is not 5x faster than cold
#
# It measures: the image build with an empty build cache (it prunes the
# BuildKit cache first) and a rebuild after a one-line Go change; the
# UPX=1 and linux/arm64 builds; docker run to /readyz 200 and docker stop
# to exit, plain and UPX=1; make dist-upx for the five platforms; and
# `signpost version` start-up, plain against UPX (median of 11), plus
# whether the packed arm64 binary runs under qemu-aarch64-static.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
docker_prepare bench-container

step "image build, cold"
"$docker" builder prune -af >/dev/null
t=$(now)
make_image "$work/build-cold.log" signpost-bench:latest || fail "make image"
cold=$(since "$t")
figure "image build, cold (empty cache mounts)" "$cold s"

step "rebuild after a one-line Go change"
main_go=$(find "$ctx/cmd/signpost" -maxdepth 1 -name '*.go' ! -name '*_test.go' | sort | head -n 1)
echo "var _ = \"rebuild $(date +%s%N)\"" >>"$main_go"
t=$(now)
docker_build "$work/build-warm.log" signpost-bench:rebuild || fail "rebuild"
warm=$(since "$t")
speedup=$(awk -v c="$cold" -v w="$warm" 'BEGIN { printf "%.1f", c / w }')
figure "image rebuild after a one-line Go change" "$warm s (${speedup}x faster than cold)"

step "UPX=1 and arm64 images"
t=$(now)
docker_build "$work/build-upx.log" signpost-bench:upx --build-arg UPX=1 || fail "UPX=1 build"
figure "image build, UPX=1 (warm cache)" "$(since "$t") s"
t=$(now)
docker_build "$work/build-arm64.log" signpost-bench:arm64 --platform linux/arm64 --build-arg RUNTIME_IMAGE=scratch || fail "arm64 build"
figure "image build, linux/arm64 (cross-compiled)" "$(since "$t") s"

step "container start and stop"
volume=signpost-bench-data-$$
"$docker" volume create "$volume" >/dev/null
for img in latest upx; do
	run_service "signpost-bench:$img" "signpost-bench-$img" || fail "signpost-bench:$img not ready within 30s"
	figure "container start to ready, $img (docker run to /readyz 200)" "$ready_s s"
	stop_service
	[[ $exit_code == 0 ]] || fail "docker stop ($img): exit code $exit_code"
	figure "docker stop to exit 0, $img (SHUTDOWN_DELAY=1s)" "$stop_s s"
done

step "release binaries"
dist=$work/dist
t=$(now)
env -u REVISION -u DATE -u DIST_DIR -u UPX_BIN -u UPX_TARGETS -u PLATFORMS \
	make dist-upx VERSION="$version" REVISION="$revision" DATE="$build_date" DIST_DIR="$dist" \
	UPX_BIN="$(scripts/install-upx.sh)" UPX_TARGETS="linux-amd64 linux-arm64" >"$work/dist.log" || { cat "$work/dist.log"; fail "make dist-upx"; }
figure "make dist-upx (five platforms + UPX)" "$(since "$t") s"
for f in "$dist"/signpost-*; do
	figure "binary size $(basename "$f")" "$(mb "$(stat -c %s "$f")")"
done
for arch in amd64 arm64; do
	figure "UPX binary size linux-$arch" "$(mb "$(stat -c %s "$dist/upx/signpost-linux-$arch")") (from $(mb "$(stat -c %s "$dist/signpost-linux-$arch")"))"
done
# median_ms CMD...: median wall time of 11 runs of CMD, in milliseconds.
median_ms() {
	local i t0 times=()
	for ((i = 0; i < 11; i++)); do
		t0=$(date +%s%N)
		"$@" >/dev/null 2>&1 || true
		times+=($((($(date +%s%N) - t0) / 1000000)))
	done
	printf '%s\n' "${times[@]}" | median
}
figure "start-up, signpost version, linux-amd64" \
	"$(median_ms "$dist/signpost-linux-amd64" version) ms plain, $(median_ms "$dist/upx/signpost-linux-amd64" version) ms UPX (median of 11)"
# Recorded, not required: qemu-user may not run UPX's arm64 unpacker.
rc=0
out=$(timeout 60 qemu-aarch64-static "$dist/upx/signpost-linux-arm64" version 2>&1) || rc=$?
if ((rc == 0)) && grep -q -- "$version" <<<"$out"; then
	figure "UPX linux-arm64 under qemu-aarch64-static" "runs"
else
	figure "UPX linux-arm64 under qemu-aarch64-static" "does not run: exit $rc, $(head -c 100 <<<"$out" | tr -s '\n ' ' ')"
fi

figure "bench/container.sh total" "$(since "$lib_started") s"
step figures
figures "${SIGNPOST_DOCKER_FIGURES:-}"
if [[ -n ${MIN_REBUILD_SPEEDUP:-} ]]; then
	awk -v r="$speedup" -v m="$MIN_REBUILD_SPEEDUP" 'BEGIN { exit !(r >= m) }' ||
		fail "the rebuild is ${speedup}x faster than cold, below MIN_REBUILD_SPEEDUP=$MIN_REBUILD_SPEEDUP"
fi
