package validate

import (
	"encoding/json"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/yaml"
)

// What docs/deploy-kubernetes.md ("Scaling and the HPA") says about
// replicas next to the HPA. `helm upgrade` and client-side `kubectl apply`
// both patch with strategicpatch.CreateThreeWayMergePatch (previous
// manifest, new manifest, live object), which includes every field whose
// live value differs from the new manifest: re-applying the plain
// manifests (the seed's replicas: 3) sets a Deployment the HPA scaled to 12
// back to 3. The chart renders no replicas with the HPA on, so its upgrades
// leave the count alone.
func TestReapplyAndTheHPAsCount(t *testing.T) {
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
	deploymentJSON := func(t *testing.T, objs []object) []byte {
		t.Helper()
		d := find(objs, "Deployment")
		if len(d) != 1 {
			t.Fatalf("want 1 Deployment, got %d", len(d))
		}
		b, err := yaml.YAMLToJSON(d[0].Raw)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	// The chart with the HPA on: upgrades leave the HPA's count alone.
	v1 := deploymentJSON(t, mustRender(t, renderOpts{Set: []string{"image.tag=1.0.0"}}))
	v2 := deploymentJSON(t, mustRender(t, renderOpts{Set: []string{"image.tag=1.0.1"}}))
	for name, tc := range map[string]struct{ original, modified []byte }{
		"helm upgrade, new image":       {v1, v2},
		"helm upgrade, nothing changed": {v1, v1},
	} {
		if v, ok := patchedReplicas(t, tc.original, tc.modified); ok {
			t.Errorf("%s: the patch sets replicas to %v, want the HPA's 12 left alone", name, v)
		}
	}
	// The plain manifests keep the seed's replicas: 3, and re-applying them
	// resets the count (the docs say so and show the overlay that avoids it).
	plain := deploymentJSON(t, buildKustomize(t))
	if v, ok := patchedReplicas(t, plain, plain); !ok || v != float64(3) {
		t.Errorf("kubectl apply of deploy/kubernetes again: the patch sets replicas to %v (present: %v), want 3", v, ok)
	}
	// With autoscaling off, replicaCount is the count, as it should be.
	off1 := deploymentJSON(t, mustRender(t, renderOpts{ValueFiles: []string{"ci/autoscaling-off-values.yaml"}, Set: []string{"image.tag=1.0.0"}}))
	off2 := deploymentJSON(t, mustRender(t, renderOpts{ValueFiles: []string{"ci/autoscaling-off-values.yaml"}, Set: []string{"image.tag=1.0.1", "replicaCount=7"}}))
	if v, ok := patchedReplicas(t, off1, off2); !ok || v != float64(7) {
		t.Errorf("autoscaling off, replicaCount 5 → 7: the patch sets replicas to %v (present: %v), want 7", v, ok)
	}
}
