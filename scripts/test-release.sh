#!/usr/bin/env bash
# scripts/test-release.sh — the release configuration, offline.
#
#   1. builds GoReleaser once into $SIGNPOST_TOOLS_BIN (the same cache
#      test-k8s.sh uses for helm and promtool) and runs `goreleaser check`;
#   2. runs `goreleaser release --snapshot` without what cannot run here
#      (the Docker images need buildx and a registry, the SBOMs need syft,
#      publishing needs credentials): five binaries, five archives and
#      SHA256SUMS; then checks that the checksums verify, that every
#      archive holds LICENSE, the README and the binary, and that the
#      linux/amd64 binary reports the version the archives are named with
#      (it once said v0.0.0 against 0.0.1-next);
#   3. builds signpost with plain `go build` in a clone tagged v0.99.0-test
#      and checks that `signpost --version` reports v0.99.0-test and the
#      commit from Go's build information, unstamped.
#
# Cold, GoReleaser's `go install` dominates (see docs/benchmarks.md,
# "Release configuration"); warm, the snapshot links five binaries whose
# packages the Go build cache already has after test-docker.sh's `make dist`.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
TOOLS_BIN=${SIGNPOST_TOOLS_BIN:-$HOME/.cache/signpost-tools/bin}
GORELEASER_VERSION=v2.15.1
GORELEASER=$TOOLS_BIN/goreleaser

. scripts/lib.sh # step, fail, ok, on_exit

WORK=$(mktemp -d "${TMPDIR:-/tmp}/signpost-release.XXXXXX")
on_exit 'rm -rf "$WORK"'
mkdir -p "$TOOLS_BIN"

step "goreleaser $GORELEASER_VERSION (cached in $TOOLS_BIN)"
if ! { [ -x "$GORELEASER" ] && go version -m "$GORELEASER" | grep -Eq "^[[:space:]]+mod[[:space:]]+github.com/goreleaser/goreleaser/v2[[:space:]]+$GORELEASER_VERSION([[:space:]]|$)"; }; then
  echo "building goreleaser $GORELEASER_VERSION (first time only, several minutes)"
  t0=$(date +%s)
  GOBIN=$TOOLS_BIN GOFLAGS=-buildvcs=false go install "github.com/goreleaser/goreleaser/v2@$GORELEASER_VERSION"
  echo "built goreleaser in $(($(date +%s) - t0))s"
fi
"$GORELEASER" check -q -f .goreleaser.yaml || fail "goreleaser check"
ok "goreleaser check .goreleaser.yaml"

step "goreleaser release --snapshot (no images, SBOMs or publishing)"
# A clone, so the snapshot sees committed files only and a clean tree.
git clone -q --no-local "$ROOT" "$WORK/src"
(cd "$WORK/src" && GOFLAGS=-buildvcs=false "$GORELEASER" release --snapshot --clean --skip=docker,sbom,sign,publish,announce \
  >"$WORK/goreleaser.log" 2>&1) || { tail -n 40 "$WORK/goreleaser.log"; fail "goreleaser release --snapshot"; }
DIST=$WORK/src/dist
version=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$DIST/metadata.json")
[ -n "$version" ] || fail "no version in dist/metadata.json"
archives=$(ls "$DIST"/signpost_"$version"_*.tar.gz "$DIST"/signpost_"$version"_*.zip 2>/dev/null | wc -l)
[ "$archives" = 5 ] || { ls "$DIST"; fail "want 5 archives named signpost_${version}_*, found $archives"; }
ok "5 archives signpost_${version}_{linux,darwin}_{amd64,arm64}, _windows_amd64"
(cd "$DIST" && sha256sum -c --quiet SHA256SUMS) || fail "SHA256SUMS does not verify"
[ "$(wc -l <"$DIST/SHA256SUMS")" = 5 ] || fail "SHA256SUMS lists $(wc -l <"$DIST/SHA256SUMS") files, want the 5 archives"
ok "SHA256SUMS verifies the 5 archives"
tar -xzf "$DIST/signpost_${version}_linux_amd64.tar.gz" -C "$WORK"
for f in signpost LICENSE README.md CHANGELOG.md docs/runbooks.md deploy/grafana/signpost.json deploy/prometheus/alerts.yaml; do
  [ -e "$WORK/$f" ] || fail "the linux/amd64 archive lacks $f"
done
ok "the archive holds the binary, LICENSE, README, CHANGELOG, docs, the dashboard and the alerts"
out=$("$WORK/signpost" version)
echo "$out" | sed 's/^/     /'
grep -qx "signpost v$version" <<<"$out" || fail "the snapshot binary says $(head -n1 <<<"$out"), its archive says $version"
grep -q "^revision: $(git -C "$WORK/src" rev-parse HEAD)$" <<<"$out" || fail "the snapshot binary has the wrong revision"
ok "the snapshot binary says v$version, as its archive"

step "go build in a tagged clone: the version comes from Go's build information"
git -C "$WORK/src" -c user.name=test -c user.email=test@example.invalid tag -a v0.99.0-test -m test
(cd "$WORK/src" && GOFLAGS=-buildvcs=true CGO_ENABLED=0 go build -trimpath -o "$WORK/plain" ./cmd/signpost)
out=$("$WORK/plain" --version)
echo "$out" | sed 's/^/     /'
grep -qx "signpost v0.99.0-test" <<<"$out" || fail "an unstamped build at tag v0.99.0-test says $(head -n1 <<<"$out")"
grep -q "^revision: $(git -C "$WORK/src" rev-parse HEAD)$" <<<"$out" || fail "an unstamped build does not report its commit"
ok "an unstamped go build says v0.99.0-test and its commit"

step "done"
echo "test-release: $lib_passed passed, 0 failed in $(since "$lib_started")s"
