#!/usr/bin/env bash
# The test OpenID provider (tools/testoidc, built on zitadel/oidc's pkg/op)
# for Signpost's sign-in tests.
#
#   scripts/test-oidc.sh              build (once, cached) and start the provider on
#                                     127.0.0.1, run the Go tests that sign in through it
#                                     (TestOIDC*, the cmd/signpost end-to-end), stop it
#   scripts/test-oidc.sh run CMD..    the same, running CMD instead
#   . scripts/test-oidc.sh            (sourced, as scripts/test-all.sh does) defines
#                                     signpost_oidc_start and signpost_oidc_stop
#
# Exported while it runs:
#   SIGNPOST_TEST_OIDC_ISSUER  the running provider's issuer URL
#   SIGNPOST_TEST_OIDC_BIN     the binary, for tests that start their own
#
# The binary is built from tools/testoidc (its own module) into
# $SIGNPOST_TOOLS_BIN (default ~/.cache/signpost-tools/bin) and rebuilt only
# when its sources change.

signpost_oidc_build() {
	local root tools stamp want
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	tools=${SIGNPOST_TOOLS_BIN:-$HOME/.cache/signpost-tools/bin}
	mkdir -p "$tools" || return 1
	want=$(cat "$root"/tools/testoidc/go.mod "$root"/tools/testoidc/go.sum "$root"/tools/testoidc/*.go | sha256sum | cut -c1-16)
	stamp="$tools/testoidc.stamp"
	if [[ -x $tools/testoidc && -f $stamp && $(cat "$stamp") == "$want" ]]; then
		SIGNPOST_TEST_OIDC_BIN=$tools/testoidc
		return 0
	fi
	echo "test-oidc: building tools/testoidc (first time, or its sources changed)" >&2
	(cd "$root/tools/testoidc" && GOFLAGS=-buildvcs=false go build -o "$tools/testoidc.tmp" .) || return 1
	mv "$tools/testoidc.tmp" "$tools/testoidc" && echo "$want" >"$stamp"
	SIGNPOST_TEST_OIDC_BIN=$tools/testoidc
}

signpost_oidc_start() {
	signpost_oidc_build || return 1
	local dir i
	dir=$(mktemp -d "${TMPDIR:-/tmp}/signpost-oidc.XXXXXX") || return 1
	SIGNPOST_OIDC_DIR=$dir
	# Files, not pipes, for its output: nothing waits on a pipe it holds.
	"$SIGNPOST_TEST_OIDC_BIN" --addr 127.0.0.1:0 </dev/null >"$dir/out" 2>"$dir/log" &
	echo $! >"$dir/pid"
	for ((i = 0; i < 100; i++)); do
		if grep -q '^SIGNPOST_TEST_OIDC_ISSUER=' "$dir/out" 2>/dev/null; then
			SIGNPOST_TEST_OIDC_ISSUER=$(sed -n 's/^SIGNPOST_TEST_OIDC_ISSUER=//p' "$dir/out")
			export SIGNPOST_TEST_OIDC_ISSUER SIGNPOST_TEST_OIDC_BIN SIGNPOST_OIDC_DIR
			echo "test-oidc: provider at $SIGNPOST_TEST_OIDC_ISSUER (pid $(cat "$dir/pid"))" >&2
			return 0
		fi
		if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	echo "test-oidc: the provider did not start:" >&2
	cat "$dir/log" >&2
	signpost_oidc_stop
	return 1
}

signpost_oidc_stop() {
	local dir=${SIGNPOST_OIDC_DIR:-}
	[[ -n $dir && -d $dir ]] || return 0
	if [[ -f $dir/pid ]]; then
		kill "$(cat "$dir/pid")" 2>/dev/null || true
		wait "$(cat "$dir/pid")" 2>/dev/null || true
	fi
	rm -rf "$dir"
	unset SIGNPOST_OIDC_DIR SIGNPOST_TEST_OIDC_ISSUER
}

# Sourced: only define the functions.
if [[ ${BASH_SOURCE[0]} != "$0" ]]; then
	return 0
fi

set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh # on_exit
export GOFLAGS=${GOFLAGS:--buildvcs=false}
on_exit signpost_oidc_stop
signpost_oidc_start
if [[ ${1:-} == run ]]; then
	shift
	"$@"
else
	go test -count=1 -run 'OIDC' ./internal/web/ ./cmd/signpost/
fi
