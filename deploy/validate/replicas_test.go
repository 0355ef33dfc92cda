package validate

import (
	"encoding/json"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/yaml"
)

// What docs/deploy-kubernetes.md ("Scaling and the HPA") says about the
// Deployment's replicas: 3 next to the HPA. `helm upgrade` and client-side
// `kubectl apply` both patch with strategicpatch.CreateThreeWayMergePatch
// (previous manifest, new manifest, live object), which includes every field
// whose live value differs from the new manifest: an upgrade or re-apply sets
// a Deployment the HPA scaled to 12 back to 3, even when replicas did not
// change. Only a manifest without replicas (before and after) leaves it alone.
func TestReapplyResetsTheHPAsCount(t *testing.T) {
	meta, err := strategicpatch.NewPatchMetaFromStruct(appsv1.Deployment{})
	if err != nil {
		t.Fatal(err)
	}
	// patchedReplicas returns spec.replicas of the patch from original to
	// modified against a live object the HPA scaled to 12, and whether it is there.
	patchedReplicas := func(t *testing.T, original, modified []byte) (any, bool) {
		t.Helper()
		var live map[string]any
		if err := json.Unmarshal(original, &live); err != nil {
			t.Fatal(err)
		}
		if spec, ok := live["spec"].(map[string]any); ok {
			spec["replicas"] = 12
		}
		current, err := json.Marshal(live)
		if err != nil {
			t.Fatal(err)
		}
		patch, err := strategicpatch.CreateThreeWayMergePatch(original, modified, current, meta, true)
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			Spec map[string]any `json:"spec"`
		}
		if err := json.Unmarshal(patch, &p); err != nil {
			t.Fatal(err)
		}
		v, ok := p.Spec["replicas"]
		return v, ok
	}
	deploymentJSON := func(t *testing.T, objs []object, dropReplicas bool) []byte {
		t.Helper()
		d := find(objs, "Deployment")
		if len(d) != 1 {
			t.Fatalf("want 1 Deployment, got %d", len(d))
		}
		b, err := yaml.YAMLToJSON(d[0].Raw)
		if err != nil {
			t.Fatal(err)
		}
		if dropReplicas {
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			delete(m["spec"].(map[string]any), "replicas")
			if b, err = json.Marshal(m); err != nil {
				t.Fatal(err)
			}
		}
		return b
	}

	v1 := deploymentJSON(t, mustRender(t, renderOpts{Set: []string{"image.tag=1.0.0"}}), false)
	v2 := deploymentJSON(t, mustRender(t, renderOpts{Set: []string{"image.tag=1.0.1"}}), false)
	plain := deploymentJSON(t, buildKustomize(t), false)
	for name, tc := range map[string]struct{ original, modified []byte }{
		"helm upgrade, new image":                  {v1, v2},
		"helm upgrade, nothing changed":            {v1, v1},
		"kubectl apply of deploy/kubernetes again": {plain, plain},
	} {
		if v, ok := patchedReplicas(t, tc.original, tc.modified); !ok || v != float64(3) {
			t.Errorf("%s: the patch sets replicas to %v (present: %v), want 3: the docs say an upgrade resets the HPA's count", name, v, ok)
		}
	}
	noReplicas1 := deploymentJSON(t, mustRender(t, renderOpts{Set: []string{"image.tag=1.0.0"}}), true)
	noReplicas2 := deploymentJSON(t, mustRender(t, renderOpts{Set: []string{"image.tag=1.0.1"}}), true)
	if v, ok := patchedReplicas(t, noReplicas1, noReplicas2); ok {
		t.Errorf("manifests without replicas: the patch sets replicas to %v, want it left alone", v)
	}
	// Removing the field from manifests that had it deletes it: the API server then defaults it to 1.
	if v, ok := patchedReplicas(t, v1, noReplicas2); !ok || v != nil {
		t.Errorf("dropping replicas from the manifests: the patch sets replicas to %v (present: %v), want null", v, ok)
	}
}
