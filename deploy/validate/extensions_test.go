package validate

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

var extensionsOpts = renderOpts{ValueFiles: []string{"ci/extensions-values.yaml"}, APIVersions: crdAPIs("extensions")}

func decodeOne[T any](t *testing.T, objs []object, kind string) *T {
	t.Helper()
	os := find(objs, kind)
	if len(os) != 1 {
		t.Fatalf("want 1 %s, got %d", kind, len(os))
	}
	o, err := strictDecode(os[0])
	if err != nil {
		t.Fatal(err)
	}
	v, ok := any(o).(*T)
	if !ok {
		t.Fatalf("%s decoded as %T", kind, o)
	}
	return v
}

// ci/extensions-values.yaml uses every extension point; each lands where it should.
func TestExtensionPoints(t *testing.T) {
	objs := mustRender(t, extensionsOpts)
	d := decodeOne[appsv1.Deployment](t, objs, "Deployment")
	spec := d.Spec.Template.Spec
	if spec.PriorityClassName != "business-critical" {
		t.Errorf("priorityClassName = %q", spec.PriorityClassName)
	}
	if d.Spec.Template.Labels["example.com/cost-centre"] != "platform" || d.Spec.Template.Labels["app.kubernetes.io/name"] != "signpost" {
		t.Errorf("pod labels = %v", d.Spec.Template.Labels)
	}
	var names []string
	for _, c := range spec.Containers {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"signpost", "oauth2-proxy"}) || len(spec.InitContainers) != 1 || spec.InitContainers[0].Name != "wait-for-config" {
		t.Errorf("containers %v, init containers %s", names, toYAML(spec.InitContainers))
	}
	c := container(t, d)
	var env *corev1.EnvVar
	for i, e := range c.Env {
		if e.Name == "ENV" {
			env = &c.Env[i]
		}
	}
	if env == nil || env.ValueFrom == nil || env.ValueFrom.FieldRef == nil || env.ValueFrom.FieldRef.FieldPath != "metadata.namespace" {
		t.Errorf("extraEnv ENV = %s", toYAML(env))
	}
	var vols []string
	for _, v := range spec.Volumes {
		vols = append(vols, v.Name)
	}
	if !slices.Equal(vols, []string{"tmp", "oauth2-proxy-config", "oauth2-proxy-tmp"}) {
		t.Errorf("volumes = %v", vols)
	}
	// The Service sends traffic to the sidecar; probes and scrapes still reach signpost.
	svc := decodeOne[corev1.Service](t, objs, "Service")
	if svc.Spec.Ports[0].Name != "http" || svc.Spec.Ports[0].TargetPort != intstr.FromString("proxy") {
		t.Errorf("service ports = %s", toYAML(svc.Spec.Ports))
	}
	if c.ReadinessProbe.HTTPGet.Port != intstr.FromString("http") {
		t.Errorf("signpost's readiness probe goes to %s, want its own http port", c.ReadinessProbe.HTTPGet.Port.String())
	}

	route := decodeOne[gatewayv1.HTTPRoute](t, objs, "HTTPRoute")
	if len(route.Spec.ParentRefs) != 1 || route.Spec.ParentRefs[0].Name != "internal" || *route.Spec.ParentRefs[0].Namespace != "gateways" ||
		!slices.Equal(route.Spec.Hostnames, []gatewayv1.Hostname{"go", "go.corp.example.com"}) || len(route.Spec.Rules) != 1 {
		t.Fatalf("httproute = %s", toYAML(route.Spec))
	}
	rule := route.Spec.Rules[0]
	if len(rule.BackendRefs) != 1 || rule.BackendRefs[0].Name != "signpost" || *rule.BackendRefs[0].Port != 80 ||
		len(rule.Matches) != 1 || *rule.Matches[0].Path.Value != "/" || *rule.Matches[0].Path.Type != gatewayv1.PathMatchPathPrefix {
		t.Errorf("httproute rule = %s", toYAML(rule))
	}

	np := decodeOne[networkingv1.NetworkPolicy](t, objs, "NetworkPolicy")
	for k, v := range np.Spec.PodSelector.MatchLabels {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("the NetworkPolicy selects %s=%s, which the pods lack", k, v)
		}
	}
	if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}) || len(np.Spec.Ingress) != 2 {
		t.Fatalf("networkpolicy = %s", toYAML(np.Spec))
	}
	in := np.Spec.Ingress[0]
	if len(in.Ports) != 2 || *in.Ports[0].Port != intstr.FromString("http") || *in.Ports[1].Port != intstr.FromString("proxy") ||
		len(in.From) != 2 || in.From[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "gateways" ||
		in.From[1].PodSelector.MatchLabels["app.kubernetes.io/instance"] != "signpost" {
		t.Errorf("ingress rule = %s", toYAML(in))
	}
	if m := np.Spec.Ingress[1]; len(m.Ports) != 1 || *m.Ports[0].Port != intstr.FromString("metrics") || len(m.From) != 1 {
		t.Errorf("metrics rule = %s", toYAML(m))
	}
	if len(np.Spec.Egress) != 3 || *np.Spec.Egress[0].Ports[0].Port != intstr.FromInt32(53) || *np.Spec.Egress[1].Ports[0].Port != intstr.FromInt32(5432) {
		t.Errorf("egress = %s", toYAML(np.Spec.Egress))
	}

	// Defaults: none of it.
	def := mustRender(t, renderOpts{APIVersions: crdAPIs("extensions")})
	for _, kind := range []string{"HTTPRoute", "NetworkPolicy", "PrometheusRule", "ConfigMap"} {
		if n := len(find(def, kind)); n != 0 {
			t.Errorf("default values render %d %s", n, kind)
		}
	}
	dd := deployment(t, def)
	if s := dd.Spec.Template.Spec; s.PriorityClassName != "" || len(s.InitContainers) != 0 || len(s.Containers) != 1 || len(s.Volumes) != 1 {
		t.Errorf("default pod spec has extensions: %s", toYAML(s))
	}
}

// Without the Gateway API in the cluster no HTTPRoute is rendered (it
// would fail the install), and the notes say so.
func TestHTTPRouteNeedsItsAPI(t *testing.T) {
	objs, notes, err := renderChart(renderOpts{ValueFiles: extensionsOpts.ValueFiles})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(find(objs, "HTTPRoute")) + len(find(objs, "PrometheusRule")); n != 0 {
		t.Errorf("%d HTTPRoute/PrometheusRule objects rendered without their APIs", n)
	}
	for _, want := range []string{"gateway.networking.k8s.io/v1\nHTTPRoute", "monitoring.coreos.com/v1 PrometheusRule", "deploy/prometheus/alerts.yaml"} {
		if !strings.Contains(notes, want) {
			t.Errorf("NOTES lack %q:\n%s", want, notes)
		}
	}
}

func TestExtensionValuesAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  []string
		want string
	}{
		{"extraEnv sets a chart-set name", []string{"extraEnv[0].name=HTTP_ADDR", "extraEnv[0].value=:1"}, "extraEnv HTTP_ADDR is set by the chart; use service.targetPort"},
		{"extraEnv repeats env", []string{"extraEnv[0].name=LOG_LEVEL", "extraEnv[0].value=debug"}, "extraEnv LOG_LEVEL is also set in env or secrets"},
		{"extraEnv repeats a secret", []string{"extraEnv[0].name=DATABASE_URL", "extraEnv[0].value=x"}, "extraEnv DATABASE_URL is set by the chart"},
		{"extraEnv twice", []string{"extraEnv[0].name=ENV", "extraEnv[0].value=a", "extraEnv[1].name=ENV", "extraEnv[1].value=b"}, "extraEnv ENV appears twice"},
		{"extraEnv misspelt field", []string{"extraEnv[0].name=ENV", "extraEnv[0].valeu=a"}, "valeu"},
		{"extraEnv without a name", []string{"extraEnv[0].value=a"}, "name"},
		{"extraEnv misspelt valueFrom field", []string{"extraEnv[0].name=ENV", "extraEnv[0].valueFrom.fieldRef.fieldPth=x"}, "fieldPth"},
		{"extraVolumes takes the chart's name", []string{"extraVolumes[0].name=tmp", "extraVolumes[0].emptyDir.medium=Memory"}, `the name "tmp" is the chart's own volume`},
		{"extraVolumes misspelt source", []string{"extraVolumes[0].name=x", "extraVolumes[0].configmap.name=y"}, "configmap"},
		{"extraVolumeMounts without mountPath", []string{"extraVolumeMounts[0].name=x"}, "mountPath"},
		{"extraContainers takes signpost's name", []string{"extraContainers[0].name=signpost", "extraContainers[0].image=x"}, `the name "signpost" is the chart's own container`},
		{"extraContainers misspelt field", []string{"extraContainers[0].name=p", "extraContainers[0].image=x", "extraContainers[0].imagePullPolcy=Always"}, "imagePullPolcy"},
		{"initContainers without an image", []string{"initContainers[0].name=init"}, "image"},
		{"priorityClassName not a string", []string{"priorityClassName[0]=x"}, "priorityClassName"},
		{"httpRoute without parentRefs", []string{"httpRoute.enabled=true"}, "httpRoute.enabled=true needs httpRoute.parentRefs"},
		{"httpRoute misspelt parentRefs field", []string{"httpRoute.parentRefs[0].name=gw", "httpRoute.parentRefs[0].sectionname=http"}, "sectionname"},
		{"networkPolicy misspelt peer", []string{"networkPolicy.ingressFrom[0].namespaceSelecter.matchLabels.a=b"}, "namespaceSelecter"},
		{"networkPolicy misspelt egress field", []string{"networkPolicy.egress.to[0].too[0].ipBlock.cidr=10.0.0.0/8"}, "too"},
		{"service.targetPortName not a port name", []string{"service.targetPortName=Proxy_1"}, "targetPortName"},
		{"a proxy in front with the ServiceMonitor on its port", []string{"service.targetPortName=proxy", "metrics.serviceMonitor.enabled=true"}, "set metrics.port for the ServiceMonitor"},
		{"misspelt grafana key", []string{"grafana.dashbaord.enabled=true"}, "dashbaord"},
		{"misspelt prometheusRule key", []string{"prometheusRule.enable=true"}, "enable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := renderChart(renderOpts{Set: tc.set})
			if err == nil {
				t.Fatalf("values %v were accepted", tc.set)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error does not mention %q:\n%v", tc.want, err)
			}
		})
	}
}
