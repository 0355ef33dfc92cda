#!/usr/bin/env bash
# Install axe-core, the accessibility engine the browser tests run on every
# page (internal/web/browser_audit_test.go), and print the path of its
# axe.min.js, which the tests read through SIGNPOST_TEST_AXE.
#
# It comes from the npm registry, the package as published (its own
# axe.min.js, nothing built or vendored here), into
# $SIGNPOST_TOOLS/npm-axe-core-VERSION once, and is reused afterwards. A
# prefix of its own: npm prunes what a prefix's package.json does not list.
set -euo pipefail

version=4.14.1
tools=${SIGNPOST_TOOLS:-$HOME/.cache/signpost-tools}
prefix=$tools/npm-axe-core-$version
js=$prefix/node_modules/axe-core/axe.min.js

if [[ ! -s $js ]]; then
	if ! command -v npm >/dev/null; then
		echo "install-axe: npm is missing (apt-get install npm), needed to install axe-core@$version" >&2
		exit 1
	fi
	echo "install-axe: npm install axe-core@$version into $prefix" >&2
	mkdir -p "$prefix"
	npm install --prefix "$prefix" --no-audit --no-fund --ignore-scripts --loglevel=error "axe-core@$version" >&2
fi
got=$(sed -n 's/^  "version": "\([^"]*\)".*/\1/p' "$prefix/node_modules/axe-core/package.json")
if [[ $got != "$version" ]]; then
	echo "install-axe: $prefix holds axe-core $got, not $version" >&2
	exit 1
fi
printf '%s\n' "$js"
