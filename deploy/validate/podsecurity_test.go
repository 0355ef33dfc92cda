package validate

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// Every pod the chart or the plain manifests create (the helm test pod too)
// passes the "restricted" Pod Security Standard, checked by the same code the
// API server's PodSecurity admission runs.
func TestPodsMeetRestrictedPodSecurityStandard(t *testing.T) {
	eval, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	level := psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}
	for _, set := range allManifestSets(t) {
		for _, o := range set.Objs {
			decoded, err := strictDecode(o)
			if err != nil {
				t.Fatal(err)
			}
			var meta *metav1.ObjectMeta
			var spec *corev1.PodSpec
			switch x := decoded.(type) {
			case *appsv1.Deployment:
				meta, spec = &x.Spec.Template.ObjectMeta, &x.Spec.Template.Spec
			case *corev1.Pod:
				meta, spec = &x.ObjectMeta, &x.Spec
			default:
				continue
			}
			if res := policy.AggregateCheckResults(eval.EvaluatePod(level, meta, spec)); !res.Allowed {
				t.Errorf("%s %s: not restricted: %s: %s", set.Name, o.Key(), res.ForbiddenReason(), res.ForbiddenDetail())
			}
		}
	}
}

// The check is not vacuous: a pod without the hardening fails it.
func TestRestrictedCheckRejectsPlainPod(t *testing.T) {
	eval, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	level := psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}}}
	if res := policy.AggregateCheckResults(eval.EvaluatePod(level, &pod.ObjectMeta, &pod.Spec)); res.Allowed {
		t.Fatal("a pod without securityContext passed the restricted level")
	}
}
