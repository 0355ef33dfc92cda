package validate

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/cli/values"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// Paths are relative to this package's directory, where go test runs.
const (
	chartDir     = "../helm/signpost"
	kustomizeDir = "../kubernetes"
	releaseName  = "signpost"
	namespace    = "signpost"
	// kubeCurrent is a cluster new enough for every feature the chart uses
	// (the preStop sleep action is on by default from 1.30).
	kubeCurrent = "1.30.0"
	// kubeOld is a cluster without the preStop sleep action.
	kubeOld = "1.27.0"
	// kubeOldest is the oldest cluster the chart supports (Chart.yaml's
	// kubeVersion): no preStop sleep and no topologySpreadConstraints matchLabelKeys.
	kubeOldest = "1.23.0"
)

// object is one rendered Kubernetes object, kept both as generic JSON-like
// data (for comparisons) and as its source YAML (for strict decoding).
type object struct {
	Source string // template or file it came from
	Raw    []byte // the YAML document
	Data   map[string]any
	Hook   bool // a Helm hook (e.g. the helm test pod)
}

func (o object) Kind() string { s, _ := o.Data["kind"].(string); return s }
func (o object) Name() string {
	md, _ := o.Data["metadata"].(map[string]any)
	s, _ := md["name"].(string)
	return s
}
func (o object) Key() string { return o.Kind() + "/" + o.Name() }

// renderOpts describes one `helm template` run.
type renderOpts struct {
	ValueFiles  []string // relative to the chart directory
	Set         []string // --set expressions
	KubeVersion string   // default kubeCurrent
	APIVersions []string // --api-versions
}

// renderChart renders the chart the way `helm template` does (client-only
// install dry run), including schema validation and Helm hooks.
func renderChart(opts renderOpts) ([]object, string, error) {
	chrt, err := loader.Load(chartDir)
	if err != nil {
		return nil, "", fmt.Errorf("load chart: %w", err)
	}
	var files []string
	for _, f := range opts.ValueFiles {
		files = append(files, filepath.Join(chartDir, f))
	}
	vals, err := (&values.Options{ValueFiles: files, Values: opts.Set}).MergeValues(nil)
	if err != nil {
		return nil, "", fmt.Errorf("values: %w", err)
	}
	kv := opts.KubeVersion
	if kv == "" {
		kv = kubeCurrent
	}
	parsed, err := chartutil.ParseKubeVersion(kv)
	if err != nil {
		return nil, "", err
	}
	install := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
	install.DryRun = true
	install.DryRunOption = "true"
	install.ClientOnly = true
	install.Replace = true
	install.ReleaseName = releaseName
	install.Namespace = namespace
	install.KubeVersion = parsed
	install.APIVersions = chartutil.VersionSet(opts.APIVersions)
	rel, err := install.Run(chrt, vals)
	if err != nil {
		return nil, "", err
	}
	objs, err := splitObjects("chart", []byte(rel.Manifest), false)
	if err != nil {
		return nil, "", err
	}
	for _, h := range rel.Hooks {
		hs, err := splitObjects(h.Path, []byte(h.Manifest), true)
		if err != nil {
			return nil, "", err
		}
		objs = append(objs, hs...)
	}
	return objs, rel.Info.Notes, nil
}

// mustRender renders the chart or fails the test.
func mustRender(t *testing.T, opts renderOpts) []object {
	t.Helper()
	objs, _, err := renderChart(opts)
	if err != nil {
		t.Fatalf("render %+v: %v", opts, err)
	}
	return objs
}

// buildKustomize runs `kubectl kustomize deploy/kubernetes` in-process.
func buildKustomize(t *testing.T) []object {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resMap, err := k.Run(filesys.MakeFsOnDisk(), kustomizeDir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", kustomizeDir, err)
	}
	out, err := resMap.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	objs, err := splitObjects("kustomize", out, false)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

var docSeparator = regexp.MustCompile(`(?m)^---\s*$`)

// splitObjects splits a multi-document YAML stream into objects, dropping
// empty documents and Helm's "# Source:" comments.
func splitObjects(source string, stream []byte, hook bool) ([]object, error) {
	var objs []object
	for _, doc := range docSeparator.Split(string(stream), -1) {
		src := source
		var body []string
		for _, line := range strings.Split(doc, "\n") {
			if rest, ok := strings.CutPrefix(line, "# Source: "); ok {
				src = rest
				continue
			}
			body = append(body, line)
		}
		raw := []byte(strings.Join(body, "\n"))
		var data map[string]any
		if err := yaml.Unmarshal(raw, &data); err != nil {
			return nil, fmt.Errorf("%s: %w\n%s", src, err, raw)
		}
		if len(data) == 0 {
			continue
		}
		objs = append(objs, object{Source: src, Raw: raw, Data: data, Hook: hook})
	}
	return objs, nil
}

// strictDecode decodes o into its Go API type, refusing unknown and duplicate
// fields: a misspelt field in a template fails here.
func strictDecode(o object) (runtime.Object, error) {
	var tm struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(o.Raw, &tm); err != nil {
		return nil, err
	}
	gv, err := schema.ParseGroupVersion(tm.APIVersion)
	if err != nil {
		return nil, err
	}
	gvk := gv.WithKind(tm.Kind)
	var into runtime.Object
	switch gvk {
	case monitoringv1.SchemeGroupVersion.WithKind(monitoringv1.ServiceMonitorsKind):
		into = &monitoringv1.ServiceMonitor{}
	case monitoringv1.SchemeGroupVersion.WithKind(monitoringv1.PrometheusRuleKind):
		into = &monitoringv1.PrometheusRule{}
	case gatewayv1.SchemeGroupVersion.WithKind("HTTPRoute"):
		into = &gatewayv1.HTTPRoute{}
	default:
		into, err = scheme.Scheme.New(gvk)
		if err != nil {
			return nil, fmt.Errorf("%s (%s): not a known Kubernetes API type: %w", o.Key(), o.Source, err)
		}
	}
	if err := yaml.UnmarshalStrict(o.Raw, into); err != nil {
		return nil, fmt.Errorf("%s (%s): %w", o.Key(), o.Source, err)
	}
	return into, nil
}

// find returns the objects of a kind.
func find(objs []object, kind string) []object {
	var out []object
	for _, o := range objs {
		if o.Kind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// deployment returns the single Deployment, typed.
func deployment(t *testing.T, objs []object) *appsv1.Deployment {
	t.Helper()
	ds := find(objs, "Deployment")
	if len(ds) != 1 {
		t.Fatalf("want 1 Deployment, got %d", len(ds))
	}
	d, err := strictDecode(ds[0])
	if err != nil {
		t.Fatal(err)
	}
	return d.(*appsv1.Deployment)
}

// container returns the signpost container of a Deployment.
func container(t *testing.T, d *appsv1.Deployment) corev1.Container {
	t.Helper()
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == "signpost" {
			return c
		}
	}
	t.Fatalf("no signpost container in %s", d.Name)
	return corev1.Container{}
}

// envMap returns the container's plain env values, and the names of all env vars.
func envMap(c corev1.Container) (map[string]string, []string) {
	m := map[string]string{}
	var names []string
	for _, e := range c.Env {
		names = append(names, e.Name)
		if e.ValueFrom == nil {
			m[e.Name] = e.Value
		}
	}
	return m, names
}

// variant is one chart render that the suite checks in full.
type variant struct {
	Name string
	Opts renderOpts
}

// chartVariants lists the default values and every ci/*-values.yaml file,
// each for a current, an old (the preStop fallback) and the oldest supported
// Kubernetes (no matchLabelKeys either).
func chartVariants(t *testing.T) []variant {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("want at least 4 ci/*-values.yaml files, found %d", len(files))
	}
	sort.Strings(files)
	var vs []variant
	for _, kv := range []string{kubeCurrent, kubeOld, kubeOldest} {
		vs = append(vs, variant{Name: "default@" + kv, Opts: renderOpts{KubeVersion: kv}})
		for _, f := range files {
			rel, _ := filepath.Rel(chartDir, f)
			opts := renderOpts{ValueFiles: []string{rel}, KubeVersion: kv}
			opts.APIVersions = crdAPIs(f)
			vs = append(vs, variant{Name: strings.TrimSuffix(filepath.Base(f), "-values.yaml") + "@" + kv, Opts: opts})
		}
	}
	return vs
}

// crdAPIs lists the custom resource APIs a ci values file's render is
// given (helm template --api-versions), so that it renders the objects of
// those kinds; scripts/test-k8s.sh gives the same.
func crdAPIs(valuesFile string) []string {
	switch {
	case strings.Contains(valuesFile, "servicemonitor"):
		return []string{"monitoring.coreos.com/v1/ServiceMonitor"}
	case strings.Contains(valuesFile, "extensions"):
		return []string{"monitoring.coreos.com/v1/ServiceMonitor", "monitoring.coreos.com/v1/PrometheusRule", "gateway.networking.k8s.io/v1/HTTPRoute"}
	}
	return nil
}

// toYAML is for failure messages.
func toYAML(v any) string {
	b, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(bytes.TrimSpace(b))
}

// readFile reads a file or fails the test.
func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
