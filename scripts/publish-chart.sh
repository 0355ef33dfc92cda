#!/usr/bin/env bash
# Publish the Helm chart as an OCI artifact (what the release's
# `publishers` entry in .goreleaser.yaml runs):
#
#   scripts/publish-chart.sh VERSION [oci://REGISTRY/PATH]
#
# VERSION is the release (1.2.3 or v1.2.3); the registry defaults to
# $CHART_REGISTRY, else oci://ghcr.io/signpost-go/charts, where users then
# `helm install signpost oci://ghcr.io/signpost-go/charts/signpost --version CHART_VERSION`.
# Log in first (`helm registry login ghcr.io`).
#
# It refuses, before packaging anything, a chart whose appVersion is not
# VERSION (set appVersion and the artifacthub.io/images tag in Chart.yaml as
# part of the release) and a chart version that the registry already has
# (bump `version` in Chart.yaml). DRY_RUN=DIR packages into DIR and pushes
# nothing. HELM names the helm binary; HELM_REGISTRY_FLAGS are passed to
# `helm show` and `helm push` (--plain-http for the test suite's local registry).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
if [[ $# -lt 1 || $# -gt 2 || $1 == -* ]]; then
	usage >&2
	exit 2
fi
version=${1#v}
registry=${2:-${CHART_REGISTRY:-oci://ghcr.io/signpost-go/charts}}
helm=${HELM:-helm}
read -r -a flags <<<"${HELM_REGISTRY_FLAGS:-}"
chart=deploy/helm/signpost

chart_version=$(sed -n 's/^version: *//p' "$chart/Chart.yaml")
app_version=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' "$chart/Chart.yaml")
if [[ $app_version != "$version" ]]; then
	echo "publish-chart: Chart.yaml has appVersion $app_version, the release is $version: set appVersion (and the artifacthub.io/images tag) to $version" >&2
	exit 1
fi
if [[ -z ${DRY_RUN:-} ]] && "$helm" show chart "${flags[@]}" "$registry/signpost" --version "$chart_version" >/dev/null 2>&1; then
	echo "publish-chart: signpost $chart_version is already in $registry: bump version in $chart/Chart.yaml" >&2
	exit 1
fi
out=${DRY_RUN:-$(mktemp -d)}
"$helm" package "$chart" --destination "$out" >/dev/null
pkg=$out/signpost-$chart_version.tgz
[[ -f $pkg ]] || { echo "publish-chart: helm package wrote no $pkg" >&2; exit 1; }
if [[ -n ${DRY_RUN:-} ]]; then
	echo "publish-chart: packaged $pkg (chart $chart_version, Signpost $version); DRY_RUN: not pushed to $registry"
	exit 0
fi
"$helm" push "${flags[@]}" "$pkg" "$registry"
rm -rf "$out"
echo "publish-chart: pushed signpost $chart_version (Signpost $version) to $registry"
