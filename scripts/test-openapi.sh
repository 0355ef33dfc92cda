#!/usr/bin/env bash
# The OpenAPI description (internal/web/openapi.json) from outside Go:
#   1. Redocly's linter, a second OpenAPI 3.1 validator besides the Go
#      tests' kin-openapi, must find no error;
#   2. a client generated from it (openapi-typescript types, openapi-fetch)
#      must type-check (scripts/openapi-client/client.ts) and then work
#      against a live `signpost serve`: create, merge patch, a refused
#      stale PUT, list, 404, delete, history, restore.
# The npm packages are pinned and installed once into
# $SIGNPOST_TOOLS/npm-openapi (a stage of scripts/test-all.sh; needs node
# and npm, which the deps stage installs).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

tools=${SIGNPOST_TOOLS:-$HOME/.cache/signpost-tools}
prefix=$tools/npm-openapi
packages=(@redocly/cli@2.77.0 openapi-typescript@7.13.0 openapi-fetch@0.17.0 typescript@5.9.3 @types/node@20.19.43)
stamp=$prefix/.installed
if [[ ! -f $stamp || $(cat "$stamp") != "${packages[*]}" ]]; then
	command -v npm >/dev/null || fail "npm is missing (apt-get install npm)"
	echo "test-openapi: npm install ${packages[*]} into $prefix" >&2
	mkdir -p "$prefix"
	npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "${packages[@]}" >&2
	echo "${packages[*]}" >"$stamp"
fi
bin=$prefix/node_modules/.bin

step "redocly lint"
# Redocly sends usage data unless told not to; nothing leaves loopback here.
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
	"$bin/redocly" lint --format=stylish internal/web/openapi.json

step "a generated client against signpost serve"
work=$(mktemp -d)
on_exit rm -rf "$work"
cp scripts/openapi-client/client.ts scripts/openapi-client/tsconfig.json "$work/"
echo '{"type":"module"}' >"$work/package.json"
ln -s "$prefix/node_modules" "$work/node_modules"
"$bin/openapi-typescript" internal/web/openapi.json -o "$work/schema.ts"
(cd "$work" && "$bin/tsc" -p tsconfig.json --types node) || fail "the generated client does not type-check"

go build -o "$work/signpost" ./cmd/signpost
port=$(free_port)
HTTP_ADDR=127.0.0.1:$port DATABASE_URL=sqlite:$work/links.db DEBUG_ADDR=off LOG_LEVEL=warn \
	"$work/signpost" serve >"$work/serve.log" 2>&1 &
pid=$!
on_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
wait_http "http://127.0.0.1:$port/readyz" 200 30 || { cat "$work/serve.log"; fail "signpost did not get ready"; }
node "$work/client.js" "http://127.0.0.1:$port"
