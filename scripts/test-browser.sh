#!/usr/bin/env bash
# The real-browser test: headless Chromium (Debian's chromium package) drives
# Signpost's UI through internal/web's TestBrowser.
#
#   scripts/test-browser.sh        install chromium if missing, run the test
#
# It checks, in a real browser over the full handler on a real SQLite file:
# creating a link with the home page's form; the link page; following
# go/<name>/a/b?x=1 to a second local server with path and query passed on;
# the not-found page offering creation with the name filled in, and creating
# from there; a javascript: target refused with the reason shown; delete with
# the JavaScript confirm; copy-link to the clipboard; no console errors or CSP
# violations on any page (and a probe proving such a violation is caught);
# no page wider than a 390px phone; create and delete with JavaScript off;
# the /-/go search shortcut never sending the browser to another host, for a
# table of open-redirect tricks (dot segments, backslashes, tabs, encodings);
# and, through the test OpenID provider (scripts/test-oidc.sh): signing in on
# the provider's login page, creating a group's link, signing out and seeing
# edit refused, a second member of the group editing it, an admin editing it.
# Every page, signed in and out, passes axe-core's audit in light and dark
# mode and fits a 390px phone, with names, URLs and descriptions at their
# limits.
#
# axe-core comes from the npm registry (the package's own axe.min.js), installed
# once into the tools cache by scripts/install-axe.sh.
#
# Environment:
#   SIGNPOST_TEST_CHROMIUM     the browser binary (default /usr/bin/chromium)
#   SIGNPOST_TEST_AXE          axe.min.js to use (default: the cached npm package)
#   SIGNPOST_TEST_SCREENSHOTS  a directory: save PNGs of the pages there
#
# Exits non-zero when the test fails or was skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh # apt_install, on_exit
export DEBIAN_FRONTEND=noninteractive
export GOFLAGS=${GOFLAGS:--buildvcs=false}
t0=$(date +%s)

export SIGNPOST_TEST_CHROMIUM=${SIGNPOST_TEST_CHROMIUM:-/usr/bin/chromium}
if [[ ! -x $SIGNPOST_TEST_CHROMIUM ]]; then
	if [[ $SIGNPOST_TEST_CHROMIUM != /usr/bin/chromium ]]; then
		echo "test-browser: SIGNPOST_TEST_CHROMIUM=$SIGNPOST_TEST_CHROMIUM is not an executable" >&2
		exit 1
	fi
	apt_install chromium fonts-dejavu-core
fi
# Debian's wrapper script prints a harmless shell warning; the version line is last.
echo "test-browser: $("$SIGNPOST_TEST_CHROMIUM" --version 2>/dev/null | tail -n 1)"

# axe-core from npm, cached (scripts/install-axe.sh); the test fails under
# CI=true without it.
if [[ -z ${SIGNPOST_TEST_AXE:-} ]]; then
	command -v npm >/dev/null || apt_install npm
	SIGNPOST_TEST_AXE=$(scripts/install-axe.sh)
fi
export SIGNPOST_TEST_AXE
echo "test-browser: axe-core at $SIGNPOST_TEST_AXE"

# The sign-in scenarios go through the test OpenID provider.
. scripts/test-oidc.sh
log=$(mktemp)
on_exit 'rm -f "$log"'
on_exit signpost_oidc_stop
signpost_oidc_start
set +e
go test -count=1 -timeout 5m -run '^TestBrowser(SignIn)?$' -v ./internal/web/ 2>&1 |
	grep --line-buffered -v 'dbus' | tee "$log"
rc=${PIPESTATUS[0]}
set -e

if ((rc != 0)); then
	echo "test-browser: FAILED (go test exit $rc) after $(($(date +%s) - t0))s" >&2
	exit "$rc"
fi
for t in TestBrowser TestBrowserSignIn; do
	if grep -q -- "--- SKIP: $t " "$log" || ! grep -q -- "--- PASS: $t " "$log"; then
		echo "test-browser: $t did not run (skipped or missing); is SIGNPOST_TEST_CHROMIUM usable, did the test provider start?" >&2
		exit 1
	fi
done
echo "test-browser: ok: $(grep -c -- '    --- PASS: TestBrowser' "$log") browser scenarios passed in $(($(date +%s) - t0))s"
