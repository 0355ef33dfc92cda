package validate

import (
	"reflect"
	"sort"
	"strings"
	"testing"
)

// helmOnlyLabels are the labels only Helm can set truthfully; the plain
// manifests leave them out, and the comparison ignores them.
var helmOnlyLabels = []string{"helm.sh/chart", "app.kubernetes.io/managed-by"}

// TestPlainManifestsMatchChartDefault: `kubectl kustomize deploy/kubernetes`
// and `helm template signpost deploy/helm/signpost` (default values, a
// Kubernetes with the preStop sleep) produce the same objects, field for field.
func TestPlainManifestsMatchChartDefault(t *testing.T) {
	plain := index(t, buildKustomize(t))
	var chart []object
	for _, o := range mustRender(t, renderOpts{}) {
		if !o.Hook { // the helm test pod exists only in the chart
			chart = append(chart, o)
		}
	}
	helm := index(t, chart)

	for _, key := range sortedKeys(helm) {
		p, ok := plain[key]
		if !ok {
			t.Errorf("%s is rendered by the chart but missing from deploy/kubernetes", key)
			continue
		}
		if p.Kind() == "Deployment" {
			// The one intended difference: the plain Deployment carries the
			// seed's replicas: 3, the chart leaves replicas to the HPA.
			spec, _ := p.Data["spec"].(map[string]any)
			if r, _ := spec["replicas"].(float64); r != 3 {
				t.Errorf("deploy/kubernetes Deployment replicas = %v, want the seed's 3", spec["replicas"])
			}
			delete(spec, "replicas")
		}
		h := normalise(helm[key].Data)
		if !reflect.DeepEqual(h, normalise(p.Data)) {
			t.Errorf("%s differs between the chart (-) and deploy/kubernetes (+):\n%s", key, lineDiff(toYAML(h), toYAML(normalise(p.Data))))
		}
	}
	for _, key := range sortedKeys(plain) {
		if _, ok := helm[key]; !ok {
			t.Errorf("%s is in deploy/kubernetes but not rendered by the chart's defaults", key)
		}
	}
}

func index(t *testing.T, objs []object) map[string]object {
	t.Helper()
	m := map[string]object{}
	for _, o := range objs {
		if _, dup := m[o.Key()]; dup {
			t.Errorf("%s appears twice", o.Key())
		}
		m[o.Key()] = o
	}
	return m
}

func sortedKeys(m map[string]object) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// normalise returns a copy of an object without the Helm-only labels, wherever labels appear.
func normalise(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			if k == "labels" {
				if labels, ok := val.(map[string]any); ok {
					kept := map[string]any{}
					for lk, lv := range labels {
						drop := false
						for _, h := range helmOnlyLabels {
							drop = drop || lk == h
						}
						if !drop {
							kept[lk] = lv
						}
					}
					out[k] = kept
					continue
				}
			}
			out[k] = normalise(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = normalise(x[i])
		}
		return out
	default:
		return v
	}
}

// lineDiff is a small longest-common-subsequence line diff for failure messages.
func lineDiff(a, b string) string {
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	n, m := len(x), len(y)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type line struct {
		op   byte // ' ', '-' or '+'
		text string
	}
	var lines []line
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && x[i] == y[j]:
			lines = append(lines, line{' ', x[i]})
			i, j = i+1, j+1
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			lines = append(lines, line{'-', x[i]})
			i++
		default:
			lines = append(lines, line{'+', y[j]})
			j++
		}
	}
	// Print changed lines with three lines of context.
	const context = 3
	var sb strings.Builder
	last := -1
	for k, l := range lines {
		near := false
		for d := max(0, k-context); d <= min(len(lines)-1, k+context); d++ {
			near = near || lines[d].op != ' '
		}
		if !near {
			continue
		}
		if last >= 0 && k > last+1 {
			sb.WriteString("  ...\n")
		}
		sb.WriteString(string(l.op) + " " + l.text + "\n")
		last = k
	}
	return sb.String()
}
