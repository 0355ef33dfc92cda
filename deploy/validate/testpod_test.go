package validate

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// The helm test pod carries the release's labels, so a selector on those
// alone would take it for a server pod: the Service would list it, the
// PodDisruptionBudget and the topology spread would count it, and with
// networkPolicy.egress on the NetworkPolicy would cut the test's own
// requests to the Service. Every selector of the server's pods must match
// the Deployment's pods and not the test pod, in every variant, and a
// NetworkPolicy that restricts ingress must still let the test pod in.
func TestHelmTestPodIsNotSelected(t *testing.T) {
	for _, v := range chartVariants(t) {
		t.Run(v.Name, func(t *testing.T) {
			objs := mustRender(t, v.Opts)
			server := labels.Set(deployment(t, objs).Spec.Template.Labels)
			var testPod labels.Set
			for _, o := range objs {
				if o.Hook && o.Kind() == "Pod" {
					ro, err := strictDecode(o)
					if err != nil {
						t.Fatal(err)
					}
					testPod = labels.Set(ro.(*corev1.Pod).Labels)
				}
			}
			if testPod == nil {
				t.Fatal("no helm test pod rendered")
			}
			if testPod["app.kubernetes.io/component"] != "test" {
				t.Errorf("the helm test pod's component label is %q, want test", testPod["app.kubernetes.io/component"])
			}

			selects := func(what string, sel labels.Selector) {
				t.Helper()
				if sel.Empty() {
					t.Errorf("%s selects every pod", what)
				}
				if !sel.Matches(server) {
					t.Errorf("%s (%s) does not select the server's pods %v", what, sel, server)
				}
				if sel.Matches(testPod) {
					t.Errorf("%s (%s) selects the helm test pod %v", what, sel, testPod)
				}
			}
			asSelector := func(what string, ls *metav1.LabelSelector) labels.Selector {
				t.Helper()
				sel, err := metav1.LabelSelectorAsSelector(ls)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				return sel
			}

			svc := decodeOne[corev1.Service](t, objs, "Service")
			selects("the Service", labels.SelectorFromSet(svc.Spec.Selector))
			if len(find(objs, "PodDisruptionBudget")) > 0 {
				pdb := decodeOne[policyv1.PodDisruptionBudget](t, objs, "PodDisruptionBudget")
				selects("the PodDisruptionBudget", asSelector("pdb", pdb.Spec.Selector))
			}
			for _, tsc := range deployment(t, objs).Spec.Template.Spec.TopologySpreadConstraints {
				selects("the topology spread over "+tsc.TopologyKey, asSelector(tsc.TopologyKey, tsc.LabelSelector))
			}
			if len(find(objs, "NetworkPolicy")) == 0 {
				return
			}
			np := decodeOne[networkingv1.NetworkPolicy](t, objs, "NetworkPolicy")
			selects("the NetworkPolicy", asSelector("networkpolicy", &np.Spec.PodSelector))
			http := np.Spec.Ingress[0]
			if len(http.From) == 0 {
				return // open to every source
			}
			for _, peer := range http.From {
				if peer.PodSelector != nil && peer.NamespaceSelector == nil && asSelector("peer", peer.PodSelector).Matches(testPod) {
					return
				}
			}
			t.Errorf("the NetworkPolicy's http rule lets no pod with the test pod's labels %v in: %s", testPod, toYAML(http.From))
		})
	}
}
