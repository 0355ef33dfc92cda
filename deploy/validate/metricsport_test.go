package validate

import (
	"bytes"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// metricsPortOpts moves /metrics to its own listener on 9090, with the pod
// annotations (on by default) and a ServiceMonitor both scraping it.
// allManifestSets runs the binary with this render's env too.
var metricsPortOpts = renderOpts{
	Set:         []string{"metrics.port=9090", "metrics.serviceMonitor.enabled=true"},
	APIVersions: []string{"monitoring.coreos.com/v1/ServiceMonitor"},
}

// metricsView is what a render says about where /metrics is served.
type metricsView struct {
	env          map[string]string
	envNames     []string
	ports        []corev1.ContainerPort
	annotation   string
	servicePorts []corev1.ServicePort
	smPorts      []string // ServiceMonitor endpoint ports, nil without one
}

func viewMetrics(t *testing.T, objs []object) metricsView {
	t.Helper()
	for _, o := range objs {
		if _, err := strictDecode(o); err != nil {
			t.Error(err)
		}
	}
	d := deployment(t, objs)
	c := container(t, d)
	var v metricsView
	v.env, v.envNames = envMap(c)
	v.ports = c.Ports
	v.annotation = d.Spec.Template.Annotations["prometheus.io/port"]
	svcs := find(objs, "Service")
	if len(svcs) != 1 {
		t.Fatalf("want 1 Service, got %d", len(svcs))
	}
	so, _ := strictDecode(svcs[0])
	v.servicePorts = so.(*corev1.Service).Spec.Ports
	for _, sm := range find(objs, "ServiceMonitor") {
		so, _ := strictDecode(sm)
		for _, ep := range so.(*monitoringv1.ServiceMonitor).Spec.Endpoints {
			v.smPorts = append(v.smPorts, ep.Port)
		}
	}
	return v
}

// metrics.port set: METRICS_ADDR, a container port and a Service port named
// "metrics", and the annotation and the ServiceMonitor pointing at it; every
// object still decodes strictly, on every supported Kubernetes version.
func TestMetricsPort(t *testing.T) {
	for _, kv := range []string{kubeCurrent, kubeOld, kubeOldest} {
		t.Run(kv, func(t *testing.T) {
			opts := metricsPortOpts
			opts.KubeVersion = kv
			objs, notes, err := renderChart(opts)
			if err != nil {
				t.Fatal(err)
			}
			v := viewMetrics(t, objs)
			if v.env["METRICS_ADDR"] != ":9090" {
				t.Errorf("METRICS_ADDR = %q, want \":9090\"", v.env["METRICS_ADDR"])
			}
			if n := strings.Count(strings.Join(v.envNames, " ")+" ", "METRICS_ADDR "); n != 1 {
				t.Errorf("METRICS_ADDR set %d times", n)
			}
			want := []corev1.ContainerPort{
				{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP},
				{Name: "metrics", ContainerPort: 9090, Protocol: corev1.ProtocolTCP},
			}
			if toYAML(v.ports) != toYAML(want) {
				t.Errorf("container ports = %s, want http 8080 and metrics 9090", toYAML(v.ports))
			}
			if v.annotation != "9090" {
				t.Errorf("prometheus.io/port = %q, want \"9090\"", v.annotation)
			}
			wantSvc := []corev1.ServicePort{
				{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP},
				{Name: "metrics", Port: 9090, TargetPort: intstr.FromString("metrics"), Protocol: corev1.ProtocolTCP},
			}
			if toYAML(v.servicePorts) != toYAML(wantSvc) {
				t.Errorf("service ports = %s, want http 80 -> http and metrics 9090 -> metrics", toYAML(v.servicePorts))
			}
			if len(v.smPorts) != 1 || v.smPorts[0] != "metrics" {
				t.Errorf("ServiceMonitor endpoint ports = %v, want [metrics]", v.smPorts)
			}
			for _, w := range []string{"/metrics is served on port 9090 only", "METRICS_ADDR=:9090", "404"} {
				if !strings.Contains(notes, w) {
					t.Errorf("NOTES lack %q:\n%s", w, notes)
				}
			}
		})
	}

	// From a values file the number arrives as a float: still ":9090", not ":9.09e+03".
	v := viewMetrics(t, mustRender(t, renderOpts{ValueFiles: []string{"ci/servicemonitor-ingress-values.yaml"}, APIVersions: metricsPortOpts.APIVersions}))
	if v.env["METRICS_ADDR"] != ":9090" || len(v.ports) != 2 || v.ports[1].ContainerPort != 9090 || len(v.smPorts) != 1 || v.smPorts[0] != "metrics" {
		t.Errorf("ci/servicemonitor-ingress-values.yaml: METRICS_ADDR %q, container ports %s, ServiceMonitor ports %v", v.env["METRICS_ADDR"], toYAML(v.ports), v.smPorts)
	}

	// The debug port is free for metrics once pprof is off.
	for _, debug := range []string{"debug.addr=off", "debug.addr="} {
		v := viewMetrics(t, mustRender(t, renderOpts{Set: []string{"metrics.port=6060", debug}}))
		if v.env["METRICS_ADDR"] != ":6060" || v.env["DEBUG_ADDR"] != "off" {
			t.Errorf("--set metrics.port=6060,%s: METRICS_ADDR %q DEBUG_ADDR %q", debug, v.env["METRICS_ADDR"], v.env["DEBUG_ADDR"])
		}
	}
}

// metrics.port 0 (the default) or null leaves /metrics on the http port, and
// 0 renders exactly the default objects.
func TestMetricsPortOff(t *testing.T) {
	def, _, err := renderChart(renderOpts{})
	if err != nil {
		t.Fatal(err)
	}
	for _, set := range [][]string{nil, {"metrics.port=0"}, {"metrics.port=null"}} {
		opts := renderOpts{Set: append(set, "metrics.serviceMonitor.enabled=true"), APIVersions: metricsPortOpts.APIVersions}
		v := viewMetrics(t, mustRender(t, opts))
		if _, ok := v.env["METRICS_ADDR"]; ok || strings.Contains(strings.Join(v.envNames, " "), "METRICS_ADDR") {
			t.Errorf("%v: METRICS_ADDR is set (%q)", set, v.env["METRICS_ADDR"])
		}
		if len(v.ports) != 1 || v.ports[0].Name != "http" {
			t.Errorf("%v: container ports = %s, want only http", set, toYAML(v.ports))
		}
		if v.annotation != "8080" {
			t.Errorf("%v: prometheus.io/port = %q, want \"8080\"", set, v.annotation)
		}
		if len(v.servicePorts) != 1 || v.servicePorts[0].Name != "http" {
			t.Errorf("%v: service ports = %s, want only http", set, toYAML(v.servicePorts))
		}
		if len(v.smPorts) != 1 || v.smPorts[0] != "http" {
			t.Errorf("%v: ServiceMonitor endpoint ports = %v, want [http]", set, v.smPorts)
		}
		if set != nil {
			objs, _, err := renderChart(renderOpts{Set: set})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(joinRaw(objs), joinRaw(def)) {
				t.Errorf("--set %v renders differently from the defaults", set)
			}
		}
	}
}

func joinRaw(objs []object) []byte {
	var b bytes.Buffer
	for _, o := range objs {
		b.WriteString(o.Source + "\n")
		b.Write(o.Raw)
		b.WriteString("\n---\n")
	}
	return b.Bytes()
}
