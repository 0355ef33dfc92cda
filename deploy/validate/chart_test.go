package validate

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Every object of every variant decodes strictly into its API type.
func TestEveryRenderDecodesStrictly(t *testing.T) {
	for _, v := range chartVariants(t) {
		t.Run(v.Name, func(t *testing.T) {
			objs := mustRender(t, v.Opts)
			if len(objs) == 0 {
				t.Fatal("nothing rendered")
			}
			for _, o := range objs {
				if _, err := strictDecode(o); err != nil {
					t.Error(err)
				}
			}
		})
	}
	t.Run("kustomize", func(t *testing.T) {
		for _, o := range buildKustomize(t) {
			if _, err := strictDecode(o); err != nil {
				t.Error(err)
			}
		}
	})
	t.Run("secret.example.yaml", func(t *testing.T) {
		objs, err := splitObjects("secret.example.yaml", readFile(t, kustomizeDir+"/secret.example.yaml"), false)
		if err != nil || len(objs) != 1 {
			t.Fatalf("want one object, got %d (%v)", len(objs), err)
		}
		s, err := strictDecode(objs[0])
		if err != nil {
			t.Fatal(err)
		}
		if got := s.(*corev1.Secret).StringData["database-url"]; !strings.Contains(got, "CHANGE-ME") {
			t.Errorf("example secret must hold a placeholder, not a credential: %q", got)
		}
	})
}

// The strict decoder itself must refuse a misspelt field, or the test above proves nothing.
func TestStrictDecodeRefusesUnknownField(t *testing.T) {
	objs, err := splitObjects("inline", []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  replica: 3
  selector: {matchLabels: {a: b}}
  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i}]}}
`), false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := strictDecode(objs[0]); err == nil || !strings.Contains(err.Error(), "replica") {
		t.Fatalf("want an unknown field error naming 'replica', got %v", err)
	}
}

// The default render carries the seed's production values exactly, plus the hardening.
func TestDefaultRenderHasSeedValues(t *testing.T) {
	objs := mustRender(t, renderOpts{})
	d := deployment(t, objs)
	spec := d.Spec.Template.Spec
	c := container(t, d)

	// The seed's 3 pods come from the HPA's minReplicas (checked below):
	// with the HPA on, the chart leaves replicas to it.
	if d.Spec.Replicas != nil {
		t.Errorf("replicas = %d with the HPA on, want it left to the HPA", *d.Spec.Replicas)
	}
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType ||
		d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue() != 1 || d.Spec.Strategy.RollingUpdate.MaxSurge.IntValue() != 1 {
		t.Errorf("strategy = %s", toYAML(d.Spec.Strategy))
	}
	wantAnn := map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": "8080", "prometheus.io/path": "/metrics"}
	for k, v := range wantAnn {
		if got := d.Spec.Template.Annotations[k]; got != v {
			t.Errorf("pod annotation %s = %q, want %q", k, got, v)
		}
	}
	if spec.TerminationGracePeriodSeconds == nil || *spec.TerminationGracePeriodSeconds != 60 {
		t.Errorf("terminationGracePeriodSeconds = %v, want 60", spec.TerminationGracePeriodSeconds)
	}
	if len(c.Ports) != 1 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != 8080 {
		t.Errorf("container ports = %s, want only http 8080 (the debug port is never declared)", toYAML(c.Ports))
	}

	// env: DATABASE_URL from the Secret, LOG_LEVEL, GOMAXPROCS from limits.cpu, GOMEMLIMIT.
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		if _, dup := env[e.Name]; dup {
			t.Errorf("env %s set twice", e.Name)
		}
		env[e.Name] = e
	}
	if e := env["DATABASE_URL"]; e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil ||
		e.ValueFrom.SecretKeyRef.Name != "signpost-secrets" || e.ValueFrom.SecretKeyRef.Key != "database-url" {
		t.Errorf("DATABASE_URL = %s, want secretKeyRef signpost-secrets/database-url", toYAML(e))
	}
	if e := env["GOMAXPROCS"]; e.ValueFrom == nil || e.ValueFrom.ResourceFieldRef == nil || e.ValueFrom.ResourceFieldRef.Resource != "limits.cpu" {
		t.Errorf("GOMAXPROCS = %s, want resourceFieldRef limits.cpu", toYAML(e))
	}
	for name, want := range map[string]string{"LOG_LEVEL": "info", "GOMEMLIMIT": "900MiB", "SHUTDOWN_DELAY": "2s", "SHUTDOWN_TIMEOUT": "25s", "HTTP_ADDR": ":8080", "DEBUG_ADDR": "127.0.0.1:6060"} {
		if got := env[name]; got.Value != want || got.ValueFrom != nil {
			t.Errorf("env %s = %s, want %q", name, toYAML(got), want)
		}
	}

	wantRes := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")},
	}
	for _, pair := range []struct{ got, want corev1.ResourceList }{{c.Resources.Requests, wantRes.Requests}, {c.Resources.Limits, wantRes.Limits}} {
		for name, q := range pair.want {
			if g := pair.got[name]; g.Cmp(q) != 0 {
				t.Errorf("resources %s = %s, want %s", name, g.String(), q.String())
			}
		}
	}

	checkProbe := func(name string, p *corev1.Probe, path string, initial, period, failure int32) {
		t.Helper()
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s probe missing", name)
			return
		}
		if p.HTTPGet.Path != path || p.HTTPGet.Port != intstr.FromString("http") ||
			p.InitialDelaySeconds != initial || p.PeriodSeconds != period || (failure != 0 && p.FailureThreshold != failure) {
			t.Errorf("%s probe = %s", name, toYAML(p))
		}
	}
	checkProbe("liveness", c.LivenessProbe, "/healthz", 5, 10, 0)
	checkProbe("readiness", c.ReadinessProbe, "/readyz", 5, 5, 0)
	checkProbe("startup", c.StartupProbe, "/healthz", 0, 2, 30)

	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil || c.Lifecycle.PreStop.Sleep.Seconds != 5 {
		t.Errorf("preStop = %s, want sleep 5s", toYAML(c.Lifecycle))
	}

	// Hardening.
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 65532 ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext = %s", toYAML(psc))
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
		t.Errorf("container securityContext = %s", toYAML(sc))
	}
	if !mountsAt(spec, c, "/tmp", func(v corev1.Volume) bool { return v.EmptyDir != nil }) {
		t.Error("/tmp must be an emptyDir (the root filesystem is read-only)")
	}
	keys := map[string]bool{}
	for _, tsc := range spec.TopologySpreadConstraints {
		keys[tsc.TopologyKey] = tsc.WhenUnsatisfiable == corev1.ScheduleAnyway && tsc.LabelSelector != nil
	}
	if !keys["topology.kubernetes.io/zone"] || !keys["kubernetes.io/hostname"] {
		t.Errorf("topologySpreadConstraints = %s, want zone and hostname, ScheduleAnyway", toYAML(spec.TopologySpreadConstraints))
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("the pod must not mount a ServiceAccount token")
	}

	// Service 80 -> http, and nothing else.
	svcs := find(objs, "Service")
	if len(svcs) != 1 {
		t.Fatalf("want 1 Service, got %d", len(svcs))
	}
	so, _ := strictDecode(svcs[0])
	svc := so.(*corev1.Service)
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 80 || svc.Spec.Ports[0].TargetPort != intstr.FromString("http") {
		t.Errorf("service ports = %s, want only 80 -> http", toYAML(svc.Spec.Ports))
	}

	// HPA: autoscaling/v2, 3..20, CPU 70 %, memory 80 %, the seed's behaviour.
	hpas := find(objs, "HorizontalPodAutoscaler")
	if len(hpas) != 1 {
		t.Fatalf("want 1 HPA, got %d", len(hpas))
	}
	ho, _ := strictDecode(hpas[0])
	hpa := ho.(*autoscalingv2.HorizontalPodAutoscaler)
	if *hpa.Spec.MinReplicas != 3 || hpa.Spec.MaxReplicas != 20 || hpa.Spec.ScaleTargetRef.Name != d.Name || hpa.Spec.ScaleTargetRef.Kind != "Deployment" {
		t.Errorf("hpa = %s", toYAML(hpa.Spec))
	}
	util := map[corev1.ResourceName]int32{}
	for _, m := range hpa.Spec.Metrics {
		util[m.Resource.Name] = *m.Resource.Target.AverageUtilization
	}
	if util[corev1.ResourceCPU] != 70 || util[corev1.ResourceMemory] != 80 || len(util) != 2 {
		t.Errorf("hpa metrics = %v", util)
	}
	b := hpa.Spec.Behavior
	if b == nil || *b.ScaleDown.StabilizationWindowSeconds != 300 || len(b.ScaleDown.Policies) != 1 ||
		b.ScaleDown.Policies[0] != (autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 60}) ||
		*b.ScaleUp.StabilizationWindowSeconds != 30 || len(b.ScaleUp.Policies) != 1 ||
		b.ScaleUp.Policies[0] != (autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PercentScalingPolicy, Value: 50, PeriodSeconds: 60}) {
		t.Errorf("hpa behavior = %s", toYAML(b))
	}

	// PDB and ServiceAccount.
	pdbs := find(objs, "PodDisruptionBudget")
	if len(pdbs) != 1 {
		t.Fatalf("want 1 PDB, got %d", len(pdbs))
	}
	po, _ := strictDecode(pdbs[0])
	if pdb := po.(*policyv1.PodDisruptionBudget); pdb.Spec.MaxUnavailable.IntValue() != 1 {
		t.Errorf("pdb = %s", toYAML(pdb.Spec))
	}
	if sas := find(objs, "ServiceAccount"); len(sas) != 1 || sas[0].Name() != spec.ServiceAccountName {
		t.Errorf("want the ServiceAccount %q the pods run as", spec.ServiceAccountName)
	}
	for _, o := range objs {
		labels, _ := o.Data["metadata"].(map[string]any)["labels"].(map[string]any)
		for _, k := range []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version", "app.kubernetes.io/managed-by", "helm.sh/chart"} {
			if labels[k] == nil {
				t.Errorf("%s lacks label %s", o.Key(), k)
			}
		}
	}
	if n := len(find(objs, "Ingress")) + len(find(objs, "ServiceMonitor")) + len(find(objs, "PersistentVolumeClaim")); n != 0 {
		t.Errorf("default render has %d Ingress/ServiceMonitor/PVC objects, want none", n)
	}
}

func mountsAt(spec corev1.PodSpec, c corev1.Container, path string, kind func(corev1.Volume) bool) bool {
	for _, m := range c.VolumeMounts {
		if m.MountPath != path {
			continue
		}
		for _, v := range spec.Volumes {
			if v.Name == m.Name && kind(v) {
				return true
			}
		}
	}
	return false
}

func TestSQLiteMode(t *testing.T) {
	objs := mustRender(t, renderOpts{ValueFiles: []string{"ci/sqlite-single-values.yaml"}})
	d := deployment(t, objs)
	c := container(t, d)
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
		t.Errorf("replicas = %v, want 1", d.Spec.Replicas)
	}
	if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType || d.Spec.Strategy.RollingUpdate != nil {
		t.Errorf("strategy = %s, want Recreate", toYAML(d.Spec.Strategy))
	}
	env, _ := envMap(c)
	if env["DATABASE_URL"] != "sqlite:/data/signpost.db" {
		t.Errorf("DATABASE_URL = %q", env["DATABASE_URL"])
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			t.Errorf("sqlite mode needs no Secret, but %s reads one", e.Name)
		}
	}
	pvcs := find(objs, "PersistentVolumeClaim")
	if len(pvcs) != 1 {
		t.Fatalf("want 1 PVC, got %d", len(pvcs))
	}
	po, _ := strictDecode(pvcs[0])
	pvc := po.(*corev1.PersistentVolumeClaim)
	if q := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; q.String() != "5Gi" || *pvc.Spec.StorageClassName != "standard" {
		t.Errorf("pvc = %s", toYAML(pvc.Spec))
	}
	if !mountsAt(d.Spec.Template.Spec, c, "/data", func(v corev1.Volume) bool {
		return v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == pvc.Name
	}) {
		t.Error("/data must mount the PVC")
	}
	if n := len(find(objs, "HorizontalPodAutoscaler")) + len(find(objs, "PodDisruptionBudget")); n != 0 {
		t.Errorf("sqlite mode rendered %d HPA/PDB objects, want none", n)
	}

	// An existing claim is used as is, and no new one is made.
	objs = mustRender(t, renderOpts{ValueFiles: []string{"ci/sqlite-single-values.yaml"}, Set: []string{"database.sqlite.persistence.existingClaim=my-claim"}})
	if len(find(objs, "PersistentVolumeClaim")) != 0 {
		t.Error("existingClaim must not create a PVC")
	}
	d = deployment(t, objs)
	if !mountsAt(d.Spec.Template.Spec, container(t, d), "/data", func(v corev1.Volume) bool {
		return v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == "my-claim"
	}) {
		t.Error("/data must mount the existing claim")
	}
}

// The install notes tell a newcomer what to do next in each mode, and give
// pprof instructions only when pprof is on.
func TestNotes(t *testing.T) {
	for _, tc := range []struct {
		opts renderOpts
		want []string
		dont []string
	}{
		{renderOpts{}, []string{"create secret generic signpost-secrets", "--from-literal=database-url=", "3 to 20", "helm test signpost", "port-forward deploy/signpost 6060:6060", "pprof listens on 127.0.0.1:6060"}, []string{"METRICS_ADDR"}},
		{renderOpts{Set: []string{"metrics.port=9090"}}, []string{"/metrics is served on port 9090 only", "METRICS_ADDR=:9090"}, nil},
		{renderOpts{ValueFiles: []string{"ci/sqlite-single-values.yaml"}, KubeVersion: kubeOld}, []string{"PersistentVolumeClaim signpost-data", "Replicas: 1", "SHUTDOWN_DELAY=7s"}, nil},
		{renderOpts{Set: []string{"debug.addr=127.0.0.1:7070"}}, []string{"port-forward deploy/signpost 6060:7070", "pprof listens on 127.0.0.1:7070"}, nil},
		{renderOpts{Set: []string{"debug.addr=off"}}, []string{"helm test signpost"}, []string{"pprof", "6060"}},
		{renderOpts{Set: []string{"debug.addr="}}, []string{"helm test signpost"}, []string{"pprof", "6060"}},
	} {
		_, notes, err := renderChart(tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(notes, w) {
				t.Errorf("NOTES for %+v lack %q:\n%s", tc.opts, w, notes)
			}
		}
		for _, d := range tc.dont {
			if strings.Contains(notes, d) {
				t.Errorf("NOTES for %+v mention %q:\n%s", tc.opts, d, notes)
			}
		}
	}
}

func TestAutoscalingOff(t *testing.T) {
	objs := mustRender(t, renderOpts{ValueFiles: []string{"ci/autoscaling-off-values.yaml"}})
	d := deployment(t, objs)
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 5 {
		t.Errorf("replicas = %v, want 5 from replicaCount", d.Spec.Replicas)
	}
	if n := len(find(objs, "HorizontalPodAutoscaler")); n != 0 {
		t.Errorf("got %d HPAs, want none", n)
	}
}

func TestIngressAndServiceMonitor(t *testing.T) {
	opts := renderOpts{ValueFiles: []string{"ci/servicemonitor-ingress-values.yaml"}}
	// Without the CRD's API in the cluster, no ServiceMonitor (it would fail the install), and NOTES say why.
	objs, notes, err := renderChart(opts)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(find(objs, "ServiceMonitor")); n != 0 {
		t.Errorf("ServiceMonitor rendered without monitoring.coreos.com/v1: %d", n)
	}
	if !strings.Contains(notes, "monitoring.coreos.com/v1") {
		t.Errorf("NOTES should warn that no ServiceMonitor was created:\n%s", notes)
	}

	opts.APIVersions = []string{"monitoring.coreos.com/v1/ServiceMonitor"}
	objs = mustRender(t, opts)
	sms := find(objs, "ServiceMonitor")
	if len(sms) != 1 {
		t.Fatalf("want 1 ServiceMonitor, got %d", len(sms))
	}
	so, err := strictDecode(sms[0])
	if err != nil {
		t.Fatal(err)
	}
	sm := so.(*monitoringv1.ServiceMonitor)
	// The file sets metrics.port: the ServiceMonitor scrapes the metrics port (TestMetricsPort has the rest).
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "metrics" || sm.Spec.Endpoints[0].Path != "/metrics" ||
		sm.Labels["release"] != "prometheus" || sm.Spec.Selector.MatchLabels["app.kubernetes.io/name"] != "signpost" {
		t.Errorf("servicemonitor = %s", toYAML(sm))
	}
	if _, ok := deployment(t, objs).Spec.Template.Annotations["prometheus.io/scrape"]; ok {
		t.Error("metrics.podAnnotations=false must drop the prometheus.io annotations")
	}
	// And nothing when the value is off, even with the API present.
	objs = mustRender(t, renderOpts{APIVersions: opts.APIVersions})
	if n := len(find(objs, "ServiceMonitor")); n != 0 {
		t.Errorf("ServiceMonitor rendered with metrics.serviceMonitor.enabled=false")
	}

	ings := find(mustRender(t, opts), "Ingress")
	if len(ings) != 1 {
		t.Fatalf("want 1 Ingress, got %d", len(ings))
	}
	io, _ := strictDecode(ings[0])
	ing := io.(*networkingv1.Ingress)
	be := ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service
	if *ing.Spec.IngressClassName != "nginx" || len(ing.Spec.Rules) != 2 || ing.Spec.Rules[0].Host != "go" || ing.Spec.Rules[1].Host != "go.example.com" ||
		be.Name != "signpost" || be.Port.Name != "http" ||
		len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].SecretName != "go-example-com-tls" || ing.Spec.TLS[0].Hosts[0] != "go.example.com" {
		t.Errorf("ingress = %s", toYAML(ing.Spec))
	}
	// The values' own example serves Host: go, what a browser sends for go/docs.
	ings = find(mustRender(t, renderOpts{Set: []string{"ingress.enabled=true"}}), "Ingress")
	if len(ings) != 1 || ings[0].Data["spec"].(map[string]any)["rules"].([]any)[0].(map[string]any)["host"] != "go" {
		t.Errorf("ingress.enabled=true with the default hosts: %s", toYAML(ings))
	}
}

func TestPyroscopeSettings(t *testing.T) {
	d := deployment(t, mustRender(t, renderOpts{ValueFiles: []string{"ci/postgres-ha-values.yaml"}}))
	env, _ := envMap(container(t, d))
	if env["PYROSCOPE_SERVER"] != "http://pyroscope.observability.svc:4040" || env["ENV"] != "production" {
		t.Errorf("PYROSCOPE_SERVER=%q ENV=%q", env["PYROSCOPE_SERVER"], env["ENV"])
	}
	d = deployment(t, mustRender(t, renderOpts{}))
	if env, _ := envMap(container(t, d)); env["PYROSCOPE_SERVER"] != "" {
		t.Errorf("pyroscope is off by default, got PYROSCOPE_SERVER=%q", env["PYROSCOPE_SERVER"])
	}
}

// On clusters before 1.30 the kubelet cannot sleep in preStop: the server
// waits instead, the sleep's seconds and its own delay together.
func TestPreStopFallsBackToShutdownDelay(t *testing.T) {
	for _, tc := range []struct {
		kube      string
		wantSleep int64
		wantDelay string
		set       []string
	}{
		{"1.30.0", 5, "2s", nil},
		{"1.33.2", 5, "2s", nil},
		{"1.29.4", 0, "7s", nil},
		{kubeOld, 0, "7s", nil},
		{"1.30.0", 5, "0s", []string{"shutdown.delaySeconds=0"}},
		{kubeOld, 0, "5s", []string{"shutdown.delaySeconds=0"}},
		{"1.30.0", 0, "3s", []string{"shutdown.preStopSleepSeconds=0", "shutdown.delaySeconds=3"}},
	} {
		t.Run(tc.kube+strings.Join(tc.set, ","), func(t *testing.T) {
			c := container(t, deployment(t, mustRender(t, renderOpts{KubeVersion: tc.kube, Set: tc.set})))
			var sleep int64
			if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
				sleep = c.Lifecycle.PreStop.Sleep.Seconds
			}
			env, _ := envMap(c)
			if sleep != tc.wantSleep || env["SHUTDOWN_DELAY"] != tc.wantDelay {
				t.Errorf("preStop sleep %ds, SHUTDOWN_DELAY %q; want %ds, %q", sleep, env["SHUTDOWN_DELAY"], tc.wantSleep, tc.wantDelay)
			}
		})
	}
}

// topologySpreadConstraints[].matchLabelKeys is an unknown field before
// Kubernetes 1.25 (the API server refuses the Deployment) and an alpha field,
// off and dropped, in 1.25-1.26: the chart renders it from 1.27 only, and the
// spread itself on every version.
func TestMatchLabelKeysFrom127(t *testing.T) {
	for kube, want := range map[string]bool{kubeOldest: false, "1.24.17": false, "1.26.9": false, "1.27.0": true, "1.29.4": true, kubeCurrent: true} {
		t.Run(kube, func(t *testing.T) {
			spec := deployment(t, mustRender(t, renderOpts{KubeVersion: kube})).Spec.Template.Spec
			if len(spec.TopologySpreadConstraints) != 2 {
				t.Fatalf("want 2 topologySpreadConstraints, got %s", toYAML(spec.TopologySpreadConstraints))
			}
			for _, tsc := range spec.TopologySpreadConstraints {
				got := len(tsc.MatchLabelKeys) == 1 && tsc.MatchLabelKeys[0] == "pod-template-hash"
				if got != want || (!want && len(tsc.MatchLabelKeys) != 0) {
					t.Errorf("%s: matchLabelKeys = %v, want pod-template-hash: %v", tsc.TopologyKey, tsc.MatchLabelKeys, want)
				}
			}
		})
	}
}

// Chart.yaml's kubeVersion admits the oldest version the suite validates
// (kubeOldest) and refuses the one before, with Helm's own message.
func TestChartKubeVersionFloor(t *testing.T) {
	if _, _, err := renderChart(renderOpts{KubeVersion: kubeOldest}); err != nil {
		t.Errorf("Kubernetes %s is refused: %v", kubeOldest, err)
	}
	_, _, err := renderChart(renderOpts{KubeVersion: "1.22.17"})
	if err == nil || !strings.Contains(err.Error(), "chart requires kubeVersion") {
		t.Errorf("Kubernetes 1.22.17: want Helm's kubeVersion refusal, got %v", err)
	}
}

// values.schema.json and the chart's own checks refuse bad values with a useful message.
func TestValuesAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  []string
		file []string
		want string // a fragment of the error
	}{
		{"misspelt top-level key", []string{"replicaCont=3"}, nil, "replicaCont"},
		{"misspelt nested key", []string{"autoscaling.minReplica=3"}, nil, "minReplica"},
		{"wrong type", []string{"replicaCount=three"}, nil, "replicaCount"},
		{"unknown database mode", []string{"database.mode=mysql"}, nil, "mode"},
		{"sqlite with more than one replica", []string{"replicaCount=2"}, []string{"ci/sqlite-single-values.yaml"}, "replicaCount"},
		{"sqlite with autoscaling", []string{"database.mode=sqlite", "replicaCount=1"}, nil, "enabled"},
		{"bad duration", []string{"shutdown.timeout=25"}, nil, "timeout"},
		{"reserved env name", []string{"env.HTTP_ADDR=:9090"}, nil, "env.HTTP_ADDR is set by the chart"},
		{"lower-case env name", []string{"env.log_level=debug"}, nil, "log_level"},
		{"env and secret both", []string{"env.DATABASE_URL=x"}, nil, "DATABASE_URL"},
		{"postgres without DATABASE_URL", nil, []string{"../../validate/testdata/no-secrets-values.yaml"}, "needs a secrets entry for DATABASE_URL"},
		{"pyroscope without server", []string{"pyroscope.enabled=true"}, nil, "pyroscope.server"},
		{"misspelt securityContext field", []string{"securityContext.readOnlyRootFileSystem=true"}, nil, "readOnlyRootFileSystem"},
		{"misspelt podSecurityContext field", []string{"podSecurityContext.runAsNonroot=true"}, nil, "runAsNonroot"},
		{"misspelt nested securityContext field", []string{"securityContext.capabilities.dorp[0]=ALL"}, nil, "dorp"},
		{"securityContext wrong type", []string{"securityContext.runAsUser=nobody"}, nil, "runAsUser"},
		{"unknown seccomp profile type", []string{"podSecurityContext.seccompProfile.type=Default"}, nil, "type"},
		{"misspelt toleration field", []string{"tolerations[0].key=dedicated", "tolerations[0].operater=Exists"}, nil, "operater"},
		{"unknown toleration effect", []string{"tolerations[0].key=dedicated", "tolerations[0].effect=NoSchedul"}, nil, "effect"},
		{"misspelt affinity kind", []string{"affinity.nodeAfinity.x=y"}, nil, "nodeAfinity"},
		{"env name serve --help does not list", []string{"env.LOG_LEVL=debug"}, nil, "LOG_LEVL"},
		{"METRICS_ADDR in env", []string{"env.METRICS_ADDR=:9090"}, nil, "env.METRICS_ADDR is set by the chart; use metrics.port"},
		{"METRICS_ADDR in env besides metrics.port", []string{"metrics.port=9090", "env.METRICS_ADDR=:9091"}, nil, "use metrics.port"},
		{"metrics.port above 65535", []string{"metrics.port=70000"}, nil, "/metrics/port"},
		{"negative metrics.port", []string{"metrics.port=-1"}, nil, "/metrics/port"},
		{"metrics.port not a number", []string{"metrics.port=nine"}, nil, "/metrics/port"},
		{"metrics.port on the http port", []string{"metrics.port=8080"}, nil, "metrics.port 8080 is also service.targetPort"},
		{"metrics.port on a moved http port", []string{"service.targetPort=9090", "metrics.port=9090"}, nil, "metrics.port 9090 is also service.targetPort"},
		{"metrics.port on the debug port", []string{"metrics.port=6060"}, nil, "metrics.port 6060 is also the port of debug.addr"},
		{"metrics.port on a moved debug port", []string{"debug.addr=127.0.0.1:7070", "metrics.port=7070"}, nil, "debug.addr 127.0.0.1:7070"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := renderChart(renderOpts{ValueFiles: tc.file, Set: tc.set})
			if err == nil {
				t.Fatalf("values %v %v were accepted", tc.file, tc.set)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error does not mention %q:\n%v", tc.want, err)
			}
		})
	}
}

// At the HPA's maximum, the default render's and the plain manifests' pools
// plus one LISTEN connection per pod fit PostgreSQL's default
// max_connections (100, of which 3 are reserved for superusers).
func TestConnectionsFitDefaultPostgres(t *testing.T) {
	for name, objs := range map[string][]object{"chart defaults": mustRender(t, renderOpts{}), "kustomize": buildKustomize(t)} {
		c := container(t, deployment(t, objs))
		env, _ := envMap(c)
		hpas := find(objs, "HorizontalPodAutoscaler")
		if len(hpas) != 1 {
			t.Fatalf("%s: want 1 HPA, got %d", name, len(hpas))
		}
		ho, err := strictDecode(hpas[0])
		if err != nil {
			t.Fatal(err)
		}
		hpa := ho.(*autoscalingv2.HorizontalPodAutoscaler)
		open, err := strconv.Atoi(env["DB_MAX_OPEN_CONNS"])
		if err != nil {
			t.Fatalf("%s: DB_MAX_OPEN_CONNS %q: %v", name, env["DB_MAX_OPEN_CONNS"], err)
		}
		if n := int(hpa.Spec.MaxReplicas) * (open + 1); n > 97 {
			t.Errorf("%s: maxReplicas %d x (DB_MAX_OPEN_CONNS %d + 1 listener) = %d connections, over PostgreSQL's default 97", name, hpa.Spec.MaxReplicas, open, n)
		}
	}
}

// The timing and memory arithmetic holds in every variant and in the plain manifests.
func TestShutdownAndMemoryArithmetic(t *testing.T) {
	flush, push := drainBound(t, "FinalFlushTimeout"), drainBound(t, "ProfilePushTimeout")
	check := func(t *testing.T, objs []object) {
		d := deployment(t, objs)
		c := container(t, d)
		env, _ := envMap(c)
		grace := time.Duration(*d.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second
		var preStop time.Duration
		if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
			preStop = time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
		}
		delay, err1 := time.ParseDuration(env["SHUTDOWN_DELAY"])
		timeout, err2 := time.ParseDuration(env["SHUTDOWN_TIMEOUT"])
		if err1 != nil || err2 != nil {
			t.Fatalf("SHUTDOWN_DELAY %q / SHUTDOWN_TIMEOUT %q: %v %v", env["SHUTDOWN_DELAY"], env["SHUTDOWN_TIMEOUT"], err1, err2)
		}
		if worst := preStop + delay + timeout + flush + push; worst >= grace {
			t.Errorf("terminationGracePeriodSeconds %v must exceed preStop %v + SHUTDOWN_DELAY %v + SHUTDOWN_TIMEOUT %v + final flush %v + profile push %v = %v", grace, preStop, delay, timeout, flush, push, worst)
		}
		if preStop+delay == 0 {
			t.Error("neither preStop nor SHUTDOWN_DELAY waits for the endpoints to drop the pod")
		}
		// Behind a TCP balancer (a ClusterIP Service) connections stay pinned
		// to the pod: the server must answer Connection: close for a while
		// after SIGTERM, or Shutdown cuts keep-alive connections
		// (scripts/test-fleet.sh, FLEET_SCENARIOS=prestop: 8 of 60,000 failed
		// with 0s, none with 2s).
		if delay < 2*time.Second {
			t.Errorf("SHUTDOWN_DELAY %v: under 2s, Shutdown cuts keep-alive connections still pinned to the pod", delay)
		}
		limit, ok := c.Resources.Limits[corev1.ResourceMemory]
		if gml, set := env["GOMEMLIMIT"]; set {
			if !ok {
				t.Fatalf("GOMEMLIMIT=%s without a memory limit", gml)
			}
			bytes, err := parseGoMemLimit(gml)
			if err != nil {
				t.Fatal(err)
			}
			if max := float64(limit.Value()) * 0.9; float64(bytes) > max {
				t.Errorf("GOMEMLIMIT %s = %d bytes is more than 90%% of the %s memory limit (%d bytes)", gml, bytes, limit.String(), int64(max))
			}
		}
	}
	for _, v := range chartVariants(t) {
		t.Run(v.Name, func(t *testing.T) { check(t, mustRender(t, v.Opts)) })
	}
	t.Run("kustomize", func(t *testing.T) { check(t, buildKustomize(t)) })
}

// drainBound reads a bound of the drain's last steps (a constant N *
// time.Second) from internal/ops/drain.go, so that the arithmetic follows the
// code (this module does not import the service's).
func drainBound(t *testing.T, name string) time.Duration {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "../../internal/ops/drain.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if n.Name != name || i >= len(vs.Values) {
					continue
				}
				if b, ok := vs.Values[i].(*ast.BinaryExpr); ok && b.Op == token.MUL {
					lit, ok1 := b.X.(*ast.BasicLit)
					sel, ok2 := b.Y.(*ast.SelectorExpr)
					if ok1 && ok2 && sel.Sel.Name == "Second" {
						if n, err := strconv.Atoi(lit.Value); err == nil {
							return time.Duration(n) * time.Second
						}
					}
				}
				t.Fatalf("internal/ops/drain.go: %s is not N * time.Second", name)
			}
		}
	}
	t.Fatalf("internal/ops/drain.go declares no constant %s", name)
	return 0
}

var goMemLimit = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)(B|KiB|MiB|GiB|TiB)?$`)

// parseGoMemLimit parses a GOMEMLIMIT value the way the Go runtime does
// (a byte count with an optional B, KiB, MiB, GiB or TiB suffix).
func parseGoMemLimit(s string) (int64, error) {
	m := goMemLimit.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("GOMEMLIMIT %q is not a byte count with a B/KiB/MiB/GiB/TiB suffix", s)
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, err
	}
	shift := map[string]int{"": 0, "B": 0, "KiB": 10, "MiB": 20, "GiB": 30, "TiB": 40}[m[2]]
	return int64(n * math.Pow(2, float64(shift))), nil
}

func TestParseGoMemLimit(t *testing.T) {
	for in, want := range map[string]int64{"900MiB": 900 << 20, "1GiB": 1 << 30, "1024": 1024, "512KiB": 512 << 10} {
		if got, err := parseGoMemLimit(in); err != nil || got != want {
			t.Errorf("parseGoMemLimit(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"900Mi", "1G", "", "MiB"} {
		if _, err := parseGoMemLimit(bad); err == nil {
			t.Errorf("parseGoMemLimit(%q) accepted", bad)
		}
	}
}

// An empty debug.addr disables pprof: the binary reads an empty variable as
// unset (its default is loopback:6060), so the chart must say "off".
func TestEmptyDebugAddrRendersOff(t *testing.T) {
	for set, want := range map[string]string{"debug.addr=": "off", "debug.addr=127.0.0.1:7070": "127.0.0.1:7070"} {
		d := deployment(t, mustRender(t, renderOpts{Set: []string{set}}))
		if env, _ := envMap(container(t, d)); env["DEBUG_ADDR"] != want {
			t.Errorf("--set %s: DEBUG_ADDR = %q, want %q", set, env["DEBUG_ADDR"], want)
		}
	}
}
