package validate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

// The chart's README.md is generated from values.yaml, helm-docs style: a
// key's description is the `# --` comment above it (continued by the `#`
// lines that follow). A documented map or list is one row, shown whole; an
// undocumented one is walked into. This test fails when the README is not
// what values.yaml and Chart.yaml give; regenerate it with
//
//	UPDATE_CHART_README=1 go test -run TestChartREADMEIsCurrent ./deploy/validate/   (from deploy/validate: .)
func TestChartREADMEIsCurrent(t *testing.T) {
	want := chartREADME(t)
	path := filepath.Join(chartDir, "README.md")
	if os.Getenv("UPDATE_CHART_README") != "" {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("%s is not generated from values.yaml (%v); run: cd deploy/validate && UPDATE_CHART_README=1 go test -run TestChartREADMEIsCurrent .\n%s",
			path, err, lineDiff(string(got), string(want)))
	}
}

// valueRow is one line of the values table.
type valueRow struct {
	Key, Type, Default, Description string
}

// valueRows walks values.yaml.
func valueRows(t *testing.T, src []byte) []valueRow {
	t.Helper()
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(src, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Kind != yamlv3.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yamlv3.MappingNode {
		t.Fatal("values.yaml is not a mapping")
	}
	var rows []valueRow
	var walk func(prefix string, m *yamlv3.Node)
	walk = func(prefix string, m *yamlv3.Node) {
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			key := prefix + k.Value
			desc, documented := description(k.HeadComment)
			container := (v.Kind == yamlv3.MappingNode || v.Kind == yamlv3.SequenceNode) && len(v.Content) > 0
			if container && !documented {
				if v.Kind == yamlv3.MappingNode {
					walk(key+".", v)
					continue
				}
			}
			if container && documented && v.Kind == yamlv3.MappingNode {
				// Shown whole; children documented on their own get rows too.
				rows = append(rows, valueRow{key, typeOf(v), defaultOf(t, v), desc})
				walkDocumented(t, key+".", v, &rows)
				continue
			}
			rows = append(rows, valueRow{key, typeOf(v), defaultOf(t, v), desc})
		}
	}
	walk("", doc.Content[0])
	return rows
}

// walkDocumented adds rows for the documented keys inside a map that is shown whole.
func walkDocumented(t *testing.T, prefix string, m *yamlv3.Node, rows *[]valueRow) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if desc, ok := description(k.HeadComment); ok {
			*rows = append(*rows, valueRow{prefix + k.Value, typeOf(v), defaultOf(t, v), desc})
		}
		if v.Kind == yamlv3.MappingNode {
			walkDocumented(t, prefix+k.Value+".", v, rows)
		}
	}
}

// description returns the text of the last `# --` comment block.
func description(head string) (string, bool) {
	lines := strings.Split(head, "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "# --") {
			start = i
		}
	}
	if start < 0 {
		return "", false
	}
	var parts []string
	for i, l := range lines[start:] {
		l = strings.TrimSpace(l)
		if l == "" {
			break // a blank line ends the block
		}
		l = strings.TrimPrefix(l, "#")
		if i == 0 {
			l = strings.TrimPrefix(strings.TrimSpace(l), "--")
		}
		parts = append(parts, strings.TrimSpace(l))
	}
	return strings.Join(parts, " "), true
}

func typeOf(v *yamlv3.Node) string {
	switch v.Kind {
	case yamlv3.MappingNode:
		return "object"
	case yamlv3.SequenceNode:
		return "list"
	}
	switch v.Tag {
	case "!!int":
		return "int"
	case "!!float":
		return "float"
	case "!!bool":
		return "bool"
	case "!!null":
		return "string"
	}
	return "string"
}

// defaultOf is the value as compact JSON, as helm-docs shows it.
func defaultOf(t *testing.T, v *yamlv3.Node) string {
	t.Helper()
	b, err := yamlv3.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, j); err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(buf.String(), "|", `\|`)
}

// chartREADME renders the README from Chart.yaml and values.yaml.
func chartREADME(t *testing.T) []byte {
	t.Helper()
	var chart struct {
		Name, Description, Version, AppVersion, KubeVersion, Home string
	}
	if err := yaml.Unmarshal(readFile(t, filepath.Join(chartDir, "Chart.yaml")), &chart); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `# %s

<!-- Generated from Chart.yaml and values.yaml by deploy/validate (TestChartREADMEIsCurrent): edit those, then
     cd deploy/validate && UPDATE_CHART_README=1 go test -run TestChartREADMEIsCurrent . -->

%s

Chart version %s, Signpost %s, Kubernetes %s.

`+"```sh"+`
kubectl create namespace signpost
kubectl -n signpost create secret generic signpost-secrets \
  --from-literal=database-url='postgres://signpost:PASSWORD@postgres.db.svc:5432/signpost?sslmode=require'
helm install signpost oci://ghcr.io/signpost-go/charts/signpost --version %s -n signpost
`+"```"+`

One pod on SQLite instead: `+"`--set database.mode=sqlite,replicaCount=1,autoscaling.enabled=false`"+`.
The guide, with both modes, scaling, the shutdown timeline, TLS for `+"`go/`"+`, the
extension points, the dashboard and the alerts:
[docs/deploy-kubernetes.md](%s/blob/main/docs/deploy-kubernetes.md). What to do when an
alert fires, backups and upgrades: [docs/runbooks.md](%s/blob/main/docs/runbooks.md).

## Values

Every key is checked by `+"`values.schema.json`"+`: a misspelt key or a wrong type fails
`+"`helm install`"+` with its name.

| Key | Type | Default | Description |
|-----|------|---------|-------------|
`, chart.Name, chart.Description, chart.Version, chart.AppVersion, chart.KubeVersion, chart.Version, chart.Home, chart.Home)
	for _, r := range valueRows(t, readFile(t, filepath.Join(chartDir, "values.yaml"))) {
		fmt.Fprintf(&b, "| %s | %s | `%s` | %s |\n", r.Key, r.Type, r.Default, strings.ReplaceAll(r.Description, "|", `\|`))
	}
	return b.Bytes()
}

// The generator reads descriptions the way helm-docs does.
func TestValueRows(t *testing.T) {
	rows := valueRows(t, []byte(`# File header, not a description.

# -- The count.
# Continued here.
count: 3
image:
  # -- Repository.
  repository: x/y
  tag: ""
# -- A documented map, shown whole.
resources:
  limits:
    cpu: "1"
  # -- Documented inside.
  requests: {}
# Plain comment only.
plain: true
list: []
`))
	want := []valueRow{
		{"count", "int", "3", "The count. Continued here."},
		{"image.repository", "string", `"x/y"`, "Repository."},
		{"image.tag", "string", `""`, ""},
		{"resources", "object", `{"limits":{"cpu":"1"},"requests":{}}`, "A documented map, shown whole."},
		{"resources.requests", "object", `{}`, "Documented inside."},
		{"plain", "bool", "true", ""},
		{"list", "list", "[]", ""},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows = %+v", rows)
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d = %+v, want %+v", i, rows[i], want[i])
		}
	}
}

// Chart.yaml's Artifact Hub annotations parse, name the image the chart
// deploys (appVersion), use only the change kinds Artifact Hub knows, and
// give the license of the LICENSE file.
func TestArtifactHubAnnotations(t *testing.T) {
	var chart struct {
		Version     string            `json:"version"`
		AppVersion  string            `json:"appVersion"`
		Annotations map[string]string `json:"annotations"`
	}
	if err := yaml.Unmarshal(readFile(t, filepath.Join(chartDir, "Chart.yaml")), &chart); err != nil {
		t.Fatal(err)
	}
	a := chart.Annotations
	if a["artifacthub.io/license"] != "Apache-2.0" || !bytes.Contains(readFile(t, "../../LICENSE"), []byte("Apache License\n                           Version 2.0")) {
		t.Errorf("artifacthub.io/license %q, and LICENSE must be the Apache License 2.0", a["artifacthub.io/license"])
	}
	var images []struct {
		Name, Image string
		Platforms   []string
	}
	if err := yaml.UnmarshalStrict([]byte(a["artifacthub.io/images"]), &images); err != nil || len(images) != 1 {
		t.Fatalf("artifacthub.io/images: %v %+v", err, images)
	}
	if want := "ghcr.io/signpost-go/signpost:" + chart.AppVersion; images[0].Image != want {
		t.Errorf("artifacthub.io/images names %s, want %s (appVersion)", images[0].Image, want)
	}
	var changes []struct{ Kind, Description string }
	if err := yaml.UnmarshalStrict([]byte(a["artifacthub.io/changes"]), &changes); err != nil || len(changes) == 0 {
		t.Fatalf("artifacthub.io/changes: %v", err)
	}
	for _, c := range changes {
		if !strings.Contains(" added changed deprecated removed fixed security ", " "+c.Kind+" ") || c.Description == "" {
			t.Errorf("artifacthub.io/changes entry %+v: kind must be added, changed, deprecated, removed, fixed or security", c)
		}
	}
	var links []struct{ Name, URL string }
	if err := yaml.UnmarshalStrict([]byte(a["artifacthub.io/links"]), &links); err != nil || len(links) == 0 {
		t.Fatalf("artifacthub.io/links: %v", err)
	}
	for _, k := range []string{"artifacthub.io/operator", "artifacthub.io/prerelease", "artifacthub.io/containsSecurityUpdates"} {
		if v := a[k]; v != "true" && v != "false" {
			t.Errorf("%s = %q, want \"true\" or \"false\"", k, v)
		}
	}
	if !bytes.Contains(bytes.ToLower(readFile(t, "../../CHANGELOG.md")), []byte("chart "+chart.Version)) {
		t.Errorf("CHANGELOG.md does not mention chart %s", chart.Version)
	}
}
