#!/usr/bin/env bash
# scripts/test-k8s.sh — offline checks of the Kubernetes manifests
# (deploy/kubernetes) and the Helm chart (deploy/helm/signpost).
#
# No cluster and no schema downloads are needed. The script:
#   1. builds (once, cached in $SIGNPOST_TOOLS_BIN) helm and kustomize from the
#      deploy/validate module, and kubectl-validate from the Go module proxy;
#   2. builds the signpost binary;
#   3. runs helm lint --strict and helm template for the default values and every
#      deploy/helm/signpost/ci/*-values.yaml, for Kubernetes 1.30, 1.27 and the
#      oldest version Chart.yaml's kubeVersion admits (1.23), plus the default
#      values for every minor version in between, and checks that the CLI
#      refuses bad values (schema) and a Kubernetes older than kubeVersion;
#   4. validates every rendered object against the OpenAPI schemas of the very
#      Kubernetes version it was rendered for, and the kustomize build and the
#      example Secret against 1.30 (kubectl-validate, unknown fields are
#      errors), after proving the validator rejects a typo;
#   5. runs the deploy/validate Go tests: strict decoding into k8s.io/api types,
#      the seed's values, both database modes, schema refusals, the shutdown and
#      memory arithmetic, plain manifests == chart default render, and the
#      consistency checks against the real binary (env names in `serve --help`,
#      probe paths answered by `signpost serve`, exit 0 on SIGTERM);
#   6. checks the alerting rules and the dashboard with promtool (built once,
#      cached in $SIGNPOST_TOOLS_BIN): `promtool check rules` and `promtool test
#      rules` on deploy/prometheus/alerts.yaml and on the chart's rendered
#      PrometheusRule, and every dashboard query parsed as PromQL;
#   7. packages the chart as `helm package` does for the OCI registry (the Go
#      tests push it with scripts/publish-chart.sh to a registry on loopback);
#   8. checks that the service binary's module has no Kubernetes dependency.
#
# Cold (nothing cached, 2 cores): ~10 minutes, mostly building tools once
# (promtool adds a few: it is built without Prometheus' service discovery).
# Warm: well under a minute. Exits non-zero on the first failing step.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
. scripts/lib.sh # step, fail, on_exit

TOOLS_BIN=${SIGNPOST_TOOLS_BIN:-$HOME/.cache/signpost-tools/bin}
KUBECTL_VALIDATE_VERSION=v0.0.4     # Kubernetes 1.23–1.30 schemas built in
PROMTOOL_VERSION=v0.316.0           # github.com/prometheus/prometheus (Prometheus 3.16)
KUBE_CURRENT=1.30                   # newest schema kubectl-validate ships; has the preStop sleep action
KUBE_OLD=1.27                       # no preStop sleep: the chart falls back to SHUTDOWN_DELAY
CHART=deploy/helm/signpost
# The oldest supported version is the one Chart.yaml's kubeVersion (">=1.23.0-0") names.
KUBE_OLDEST=$(sed -nE 's/^kubeVersion: *"?>= *([0-9]+\.[0-9]+)\.[0-9]+(-0)?"? *$/\1/p' "$CHART/Chart.yaml")
[ -n "$KUBE_OLDEST" ] || { echo "FAIL: no kubeVersion: \">=X.Y.Z-0\" in $CHART/Chart.yaml" >&2; exit 1; }
# Every minor version from the oldest to the newest schema: the default values are rendered for each.
KUBE_ALL=()
for ((m = ${KUBE_OLDEST#1.}; m <= ${KUBE_CURRENT#1.}; m++)); do KUBE_ALL+=("1.$m"); done
VALIDATE_MOD=deploy/validate
export GOFLAGS=${GOFLAGS:--buildvcs=false}

started=$(date +%s)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/signpost-k8s.XXXXXX")
on_exit 'rm -rf "$WORK"'
mkdir -p "$TOOLS_BIN"

# has_module BIN MODULE VERSION: the Go binary was built with that module version.
has_module() {
  [ -x "$1" ] && go version -m "$1" 2>/dev/null | grep -Eq "^[[:space:]]+(mod|dep)[[:space:]]+$2[[:space:]]+$3([[:space:]]|$)"
}

step "tools (cached in $TOOLS_BIN)"
mod_version() { (cd "$VALIDATE_MOD" && go list -m -f '{{.Version}}' "$1"); }
HELM_VERSION=$(mod_version helm.sh/helm/v3)
KUSTOMIZE_VERSION=$(mod_version sigs.k8s.io/kustomize/kustomize/v5)
K8S_MINOR=$(mod_version k8s.io/client-go | cut -d. -f2)
HELM=$TOOLS_BIN/helm
KUSTOMIZE=$TOOLS_BIN/kustomize
KUBECTL_VALIDATE=$TOOLS_BIN/kubectl-validate
if ! has_module "$HELM" helm.sh/helm/v3 "$HELM_VERSION"; then
  echo "building helm $HELM_VERSION from $VALIDATE_MOD (first time only, a few minutes)"
  t0=$(date +%s)
  # The same version stamps as Helm's own release builds (its Makefile), so the
  # default Kubernetes version of `helm template` is 1.$K8S_MINOR, as for users.
  (cd "$VALIDATE_MOD" && go build -o "$HELM.tmp" -ldflags "-s -w \
      -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION \
      -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$K8S_MINOR \
      -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$K8S_MINOR" \
      helm.sh/helm/v3/cmd/helm)
  mv "$HELM.tmp" "$HELM"
  echo "built helm in $(($(date +%s) - t0))s"
fi
if ! has_module "$KUSTOMIZE" sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION"; then
  echo "building kustomize $KUSTOMIZE_VERSION from $VALIDATE_MOD"
  t0=$(date +%s)
  (cd "$VALIDATE_MOD" && go build -o "$KUSTOMIZE.tmp" sigs.k8s.io/kustomize/kustomize/v5)
  mv "$KUSTOMIZE.tmp" "$KUSTOMIZE"
  echo "built kustomize in $(($(date +%s) - t0))s"
fi
if ! has_module "$KUBECTL_VALIDATE" sigs.k8s.io/kubectl-validate "$KUBECTL_VALIDATE_VERSION"; then
  echo "building kubectl-validate $KUBECTL_VALIDATE_VERSION (first time only, a few minutes)"
  t0=$(date +%s)
  GOBIN=$TOOLS_BIN go install "sigs.k8s.io/kubectl-validate@$KUBECTL_VALIDATE_VERSION"
  echo "built kubectl-validate in $(($(date +%s) - t0))s"
fi
PROMTOOL=$TOOLS_BIN/promtool
if ! has_module "$PROMTOOL" github.com/prometheus/prometheus "$PROMTOOL_VERSION"; then
  echo "building promtool $PROMTOOL_VERSION (first time only, a few minutes)"
  t0=$(date +%s)
  # remove_all_sd leaves out Prometheus' service discovery (cloud SDKs,
  # Kubernetes client): promtool's rule checks and tests do not need it,
  # and it is most of the build.
  GOBIN=$TOOLS_BIN go install -tags remove_all_sd "github.com/prometheus/prometheus/cmd/promtool@$PROMTOOL_VERSION"
  echo "built promtool in $(($(date +%s) - t0))s"
fi
"$HELM" version --short
echo "kustomize $("$KUSTOMIZE" version)"
echo "kubectl-validate $KUBECTL_VALIDATE_VERSION"
echo "promtool $PROMTOOL_VERSION"

step "signpost binary"
SIGNPOST_BIN=${SIGNPOST_BIN:-$WORK/signpost}
go build -o "$SIGNPOST_BIN" ./cmd/signpost
export SIGNPOST_BIN
"$SIGNPOST_BIN" version

step "helm lint --strict and helm template"
variants=(default)
for f in "$CHART"/ci/*-values.yaml; do variants+=("$(basename "$f" -values.yaml)"); done
[ "${#variants[@]}" -ge 5 ] || fail "want the default values and at least 4 ci/*-values.yaml files"
for kv in "${KUBE_ALL[@]}"; do mkdir -p "$WORK/$kv"; done
mkdir -p "$WORK/crd"
for v in "${variants[@]}"; do
  args=()
  [ "$v" = default ] || args+=(-f "$CHART/ci/$v-values.yaml")
  "$HELM" lint --strict --quiet "${args[@]}" "$CHART" >"$WORK/lint.log" 2>&1 \
    || { cat "$WORK/lint.log"; fail "helm lint --strict ($v)"; }
  for kv in "${KUBE_ALL[@]}"; do
    case $kv in "$KUBE_CURRENT" | "$KUBE_OLD" | "$KUBE_OLDEST") ;; *) [ "$v" = default ] || continue ;; esac
    "$HELM" template signpost "$CHART" --namespace signpost --kube-version "$kv.0" "${args[@]}" \
      >"$WORK/$kv/chart-$v.yaml" || fail "helm template ($v, Kubernetes $kv)"
  done
  objects=$(grep -c '^kind:' "$WORK/$KUBE_CURRENT/chart-$v.yaml")
  echo "ok   $v: lint clean, $objects objects ($(grep '^kind:' "$WORK/$KUBE_CURRENT/chart-$v.yaml" | cut -d' ' -f2 | sort | paste -sd, -))"
done
# The ServiceMonitor appears only when the cluster serves its API. kubectl-validate
# has no schema for that CRD; the Go tests decode it strictly into the
# prometheus-operator types instead.
"$HELM" template signpost "$CHART" --namespace signpost -f "$CHART/ci/servicemonitor-ingress-values.yaml" \
  --api-versions monitoring.coreos.com/v1/ServiceMonitor >"$WORK/crd/chart-servicemonitor.yaml"
grep -q '^kind: ServiceMonitor' "$WORK/crd/chart-servicemonitor.yaml" || fail "no ServiceMonitor with --api-versions monitoring.coreos.com/v1/ServiceMonitor"
grep -q '^kind: ServiceMonitor' "$WORK/$KUBE_CURRENT/chart-servicemonitor-ingress.yaml" && fail "ServiceMonitor rendered without its API"
echo "ok   ServiceMonitor only with monitoring.coreos.com/v1 available"
# The same for the PrometheusRule and the HTTPRoute of ci/extensions-values.yaml.
"$HELM" template signpost "$CHART" --namespace signpost -f "$CHART/ci/extensions-values.yaml" \
  --api-versions monitoring.coreos.com/v1/PrometheusRule --api-versions gateway.networking.k8s.io/v1/HTTPRoute \
  >"$WORK/crd/chart-extensions.yaml"
for kind in PrometheusRule HTTPRoute; do
  grep -q "^kind: $kind" "$WORK/crd/chart-extensions.yaml" || fail "no $kind with its API available"
  grep -q "^kind: $kind" "$WORK/$KUBE_CURRENT/chart-extensions.yaml" && fail "$kind rendered without its API"
done
echo "ok   PrometheusRule and HTTPRoute only with their APIs available"
# topologySpreadConstraints[].matchLabelKeys is unknown before 1.25 and off before 1.27.
for kv in "${KUBE_ALL[@]}"; do
  n=$(grep -c 'matchLabelKeys:' "$WORK/$kv/chart-default.yaml" || true)
  want=0; [ "${kv#1.}" -ge 27 ] && want=2
  [ "$n" = "$want" ] || fail "Kubernetes $kv: $n matchLabelKeys in the default render, want $want"
done
echo "ok   matchLabelKeys rendered for Kubernetes 1.27+ only (rendered for ${KUBE_ALL[0]}..${KUBE_ALL[-1]})"

step "values.schema.json refuses bad values (helm CLI)"
refuse() { # refuse WANT_IN_ERROR helm-template-args...
  local want=$1; shift
  if "$HELM" template signpost "$CHART" "$@" >"$WORK/refused.log" 2>&1; then
    fail "helm template $* was accepted"
  fi
  grep -q -- "$want" "$WORK/refused.log" || { cat "$WORK/refused.log"; fail "error for $* does not mention $want"; }
  echo "ok   refused: $* ($(grep -m1 -o -- "$want.*" "$WORK/refused.log" | cut -c1-90))"
}
refuse replicaCont --set replicaCont=3
refuse replicaCount --set replicaCount=three
refuse replicaCount -f "$CHART/ci/sqlite-single-values.yaml" --set replicaCount=2
refuse enabled --set database.mode=sqlite --set replicaCount=1
refuse readOnlyRootFileSystem --set securityContext.readOnlyRootFileSystem=true
refuse LOG_LEVL --set env.LOG_LEVL=debug
refuse "use metrics.port" --set env.METRICS_ADDR=:9090
refuse "metrics.port 8080 is also service.targetPort" --set metrics.port=8080
refuse "extraEnv HTTP_ADDR is set by the chart" --set 'extraEnv[0].name=HTTP_ADDR' --set 'extraEnv[0].value=:1'
refuse "imagePullPolcy" --set 'extraContainers[0].name=p' --set 'extraContainers[0].image=x' --set 'extraContainers[0].imagePullPolcy=Always'
refuse "needs httpRoute.parentRefs" --set httpRoute.enabled=true
oldest_minor=${KUBE_OLDEST#1.}
refuse "chart requires kubeVersion" --kube-version "1.$((oldest_minor - 1)).0"

step "kustomize build deploy/kubernetes"
"$KUSTOMIZE" build deploy/kubernetes >"$WORK/$KUBE_CURRENT/kustomize.yaml" || fail "kustomize build deploy/kubernetes"
# What users run (`kubectl apply -k`) must build the same objects, when kubectl is here.
if command -v kubectl >/dev/null 2>&1; then
  kubectl kustomize deploy/kubernetes >"$WORK/kubectl-kustomize.yaml" || fail "kubectl kustomize deploy/kubernetes"
  if ! cmp -s "$WORK/kubectl-kustomize.yaml" "$WORK/$KUBE_CURRENT/kustomize.yaml"; then
    diff -u "$WORK/$KUBE_CURRENT/kustomize.yaml" "$WORK/kubectl-kustomize.yaml" | head -n 40 || true
    fail "kubectl kustomize ($(kubectl version --client 2>/dev/null | head -n 1)) and kustomize $KUSTOMIZE_VERSION build different output"
  fi
  echo "ok   kubectl kustomize gives the same output"
else
  echo "skip kubectl not installed: kubectl kustomize not compared"
fi
cp deploy/kubernetes/secret.example.yaml "$WORK/$KUBE_CURRENT/"
echo "ok   $(grep -c '^kind:' "$WORK/$KUBE_CURRENT/kustomize.yaml") objects"

step "kubectl-validate against Kubernetes OpenAPI schemas (offline)"
# A validator that passes everything proves nothing: it must reject a typo.
cat >"$WORK/typo.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: typo}
spec:
  replica: 3
  selector: {matchLabels: {a: b}}
  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i}]}}
EOF
if "$KUBECTL_VALIDATE" --version "$KUBE_CURRENT" "$WORK/typo.yaml" >"$WORK/typo.log" 2>&1; then
  cat "$WORK/typo.log"; fail "kubectl-validate accepted an unknown field"
fi
grep -q 'replica' "$WORK/typo.log" || { cat "$WORK/typo.log"; fail "kubectl-validate did not name the unknown field"; }
echo "ok   kubectl-validate rejects an unknown field (spec.replica)"
for kv in "${KUBE_ALL[@]}"; do
  if ! "$KUBECTL_VALIDATE" --version "$kv" "$WORK/$kv" >"$WORK/validate-$kv.log" 2>&1; then
    cat "$WORK/validate-$kv.log"; fail "kubectl-validate --version $kv"
  fi
  n=$(cat "$WORK/$kv"/*.yaml | grep -c '^kind:')
  echo "ok   Kubernetes $kv: $n objects in $(ls "$WORK/$kv" | wc -l) files valid"
done

step "go test ./... in $VALIDATE_MOD (strict decoding, chart/kustomize agreement, binary consistency)"
# HELM_BIN: the chart is pushed to, and pulled from, an OCI registry on loopback.
(cd "$VALIDATE_MOD" && go vet ./... && HELM_BIN=$HELM go test -count=1 -v ./...) >"$WORK/gotest.log" 2>&1 || {
  grep -vE '^(=== (RUN|PAUSE|CONT)|\s+--- PASS)' "$WORK/gotest.log"; fail "go test in $VALIDATE_MOD"; }
grep -E '^(--- |ok|FAIL|PASS)' "$WORK/gotest.log"
grep -E '^\s+binary_test.go:[0-9]+: ready' "$WORK/gotest.log" | sed 's/^ */     /' || true
if grep -qE -- '--- SKIP' "$WORK/gotest.log"; then
  grep -E -- '--- SKIP' "$WORK/gotest.log"; fail "a deploy/validate test was skipped"
fi

step "promtool: alerting rules and dashboard queries"
PROM=$WORK/prometheus
mkdir -p "$PROM/plain" "$PROM/chart" "$PROM/chart-scoped"
cp deploy/prometheus/alerts.yaml deploy/prometheus/alerts_test.yaml "$PROM/plain/"
# The chart's PrometheusRule: its spec is a rules file. Unscoped it must
# pass the same unit tests (whose series span several namespaces); scoped
# to its namespace (the default) it must still be valid PromQL, and
# deploy/validate checks that the scoping adds only the namespace matchers.
prometheus_rule() { # DIR helm-args...
  local dir=$1; shift
  "$HELM" template signpost "$CHART" --namespace signpost --set prometheusRule.enabled=true "$@" \
    --api-versions monitoring.coreos.com/v1/PrometheusRule --show-only templates/prometheusrule.yaml \
    | sed -n '/^spec:$/,$p' | sed '1d; s/^  //' >"$PROM/$dir/alerts.yaml"
  grep -q '^groups:' "$PROM/$dir/alerts.yaml" || fail "could not cut the rules out of the rendered PrometheusRule ($dir)"
}
prometheus_rule chart --set prometheusRule.scopeToNamespace=false
prometheus_rule chart-scoped
cp deploy/prometheus/alerts_test.yaml "$PROM/chart/"
for d in plain chart chart-scoped; do
  "$PROMTOOL" check rules "$PROM/$d/alerts.yaml" || fail "promtool check rules ($d)"
done
for d in plain chart; do
  (cd "$PROM/$d" && "$PROMTOOL" test rules alerts_test.yaml) || fail "promtool test rules ($d)"
done
echo "ok   alerts.yaml and the chart's PrometheusRule pass promtool check rules and promtool test rules"
# A rules file that breaks must fail, or the checks above prove nothing.
sed 's/> 0.05$/> 0.50/' "$PROM/plain/alerts.yaml" >"$PROM/broken.yaml"
mkdir -p "$PROM/broken" && mv "$PROM/broken.yaml" "$PROM/broken/alerts.yaml" && cp deploy/prometheus/alerts_test.yaml "$PROM/broken/"
if (cd "$PROM/broken" && "$PROMTOOL" test rules alerts_test.yaml) >"$PROM/broken.log" 2>&1; then
  fail "promtool test rules passed with a 50% threshold"
fi
echo "ok   promtool test rules fails when a threshold changes"
# Every dashboard query, with Grafana's variables filled in, as a recording
# rule: promtool parses each one as PromQL.
python3 - deploy/grafana/signpost.json >"$PROM/dashboard-rules.yaml" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print("groups:\n  - name: dashboard\n    rules:")
n = 0
for p in d["panels"]:
    for t in p.get("targets", []):
        e = t["expr"].replace("$__rate_interval", "5m").replace("$namespace", ".*").replace("$pod", ".*")
        n += 1
        print("      - record: dashboard:query_%d\n        expr: %s" % (n, json.dumps(e)))
PY
"$PROMTOOL" check rules "$PROM/dashboard-rules.yaml" || fail "a dashboard query is not valid PromQL"
echo "ok   $(grep -c 'record:' "$PROM/dashboard-rules.yaml") dashboard queries parse as PromQL"

step "helm package (the OCI artifact)"
"$HELM" package "$CHART" --destination "$WORK/package" >/dev/null || fail "helm package"
CHART_VERSION=$(sed -n 's/^version: *//p' "$CHART/Chart.yaml")
PKG=$WORK/package/signpost-$CHART_VERSION.tgz
[ -f "$PKG" ] || fail "helm package did not write signpost-$CHART_VERSION.tgz"
tar -tzf "$PKG" >"$WORK/package.list"
for f in Chart.yaml values.yaml values.schema.json README.md files/alerts.yaml files/dashboard.json templates/prometheusrule.yaml; do
  grep -qx "signpost/$f" "$WORK/package.list" || fail "the chart package lacks $f"
done
grep -q '^signpost/ci/' "$WORK/package.list" && fail "the chart package carries the test values in ci/"
echo "ok   signpost-$CHART_VERSION.tgz: $(wc -l <"$WORK/package.list") files, README and the alert and dashboard files in, ci/ out"

step "the service module has no Kubernetes dependency"
# A failing go list must fail the run, not look like "no Kubernetes package".
go list -deps ./... >"$WORK/deps.txt" 2>"$WORK/deps.err" || { cat "$WORK/deps.err"; fail "go list -deps ./..."; }
grep -qx 'github.com/signpost-go/signpost/cmd/signpost' "$WORK/deps.txt" || fail "go list -deps ./... does not list ./cmd/signpost"
if grep -E '^(k8s\.io|sigs\.k8s\.io|helm\.sh)/' "$WORK/deps.txt"; then
  fail "the signpost module imports Kubernetes packages"
fi
echo "ok   go list -deps ./...: $(wc -l <"$WORK/deps.txt") packages, none from k8s.io, sigs.k8s.io or helm.sh"

step "done"
echo "test-k8s: all checks passed in $(($(date +%s) - started))s"
