package validate

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// schemaNode is the part of a JSON schema these tests read.
type schemaNode struct {
	Type                 any                    `json:"type"`
	Properties           map[string]*schemaNode `json:"properties"`
	AdditionalProperties any                    `json:"additionalProperties"`
	Items                *schemaNode            `json:"items"`
}

func loadValuesSchema(t *testing.T) *schemaNode {
	t.Helper()
	var root schemaNode
	if err := json.Unmarshal(readFile(t, filepath.Join(chartDir, "values.schema.json")), &root); err != nil {
		t.Fatalf("values.schema.json: %v", err)
	}
	return &root
}

// jsonFields returns the JSON field names of a struct type and their
// types, with the fields of inlined embedded structs (a Volume's
// VolumeSource) as its own.
func jsonFields(st reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < st.NumField(); i++ {
		f := st.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" && f.Anonymous {
			for n, t := range jsonFields(f.Type) {
				out[n] = t
			}
			continue
		}
		if name == "" || name == "-" {
			continue
		}
		out[name] = f.Type
	}
	return out
}

// structOf unwraps pointers and slices down to a struct type, if there is one.
func structOf(t reflect.Type) (reflect.Type, bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	return t, t.Kind() == reflect.Struct
}

// checkAgainstType reports where a schema object and a Kubernetes API struct
// disagree: the schema must list exactly the struct's JSON fields and refuse
// any other. With deep, every struct-typed field must be spelt out the same
// way, down to the leaves; without it, nested objects may be left open.
func checkAgainstType(t *testing.T, path string, n *schemaNode, typ reflect.Type, deep bool) {
	t.Helper()
	if n.Items != nil && typ.Kind() == reflect.Slice {
		checkAgainstType(t, path+"[]", n.Items, typ.Elem(), deep)
		return
	}
	st, ok := structOf(typ)
	if !ok || st == reflect.TypeFor[resource.Quantity]() || st == reflect.TypeFor[intstr.IntOrString]() {
		return // scalars in JSON: "500m", 8080 or "http"
	}
	if n.Properties == nil {
		if deep {
			t.Errorf("%s: the schema accepts any object, want the fields of %s", path, st)
		}
		return
	}
	if n.AdditionalProperties != false {
		t.Errorf("%s: additionalProperties is %v, want false (a misspelt field must be refused)", path, n.AdditionalProperties)
	}
	fields := jsonFields(st)
	var missing, extra []string
	for name := range fields {
		if n.Properties[name] == nil {
			missing = append(missing, name)
		}
	}
	for name := range n.Properties {
		if _, ok := fields[name]; !ok {
			extra = append(extra, name)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing)+len(extra) > 0 {
		t.Errorf("%s vs %s: fields missing from the schema %v, schema fields the type lacks %v", path, st, missing, extra)
	}
	for name, ft := range fields {
		if sub := n.Properties[name]; sub != nil {
			checkAgainstType(t, path+"."+name, sub, ft, deep)
		}
	}
}

// The security contexts, tolerations and the extension points
// (extraEnv, extraContainers, the NetworkPolicy's peers, the HTTPRoute's
// parentRefs, ...) in values.schema.json list exactly the fields of their
// Kubernetes (and Gateway API) types, this module's versions, and refuse
// others, so `securityContext.readOnlyRootFileSystem` fails `helm
// template` instead of being dropped. Affinity, volumes and containers are
// checked one level deep (kubectl-validate checks the rendered whole).
func TestSchemaFollowsKubernetesTypes(t *testing.T) {
	p := loadValuesSchema(t).Properties
	for _, tc := range []struct {
		key  string
		node *schemaNode
		typ  reflect.Type
		deep bool
	}{
		{"podSecurityContext", p["podSecurityContext"], reflect.TypeFor[corev1.PodSecurityContext](), true},
		{"securityContext", p["securityContext"], reflect.TypeFor[corev1.SecurityContext](), true},
		{"tolerations", p["tolerations"], reflect.TypeFor[[]corev1.Toleration](), true},
		{"affinity", p["affinity"], reflect.TypeFor[corev1.Affinity](), false},
		{"extraEnv", p["extraEnv"], reflect.TypeFor[[]corev1.EnvVar](), true},
		{"extraVolumeMounts", p["extraVolumeMounts"], reflect.TypeFor[[]corev1.VolumeMount](), true},
		{"extraVolumes", p["extraVolumes"], reflect.TypeFor[[]corev1.Volume](), false},
		{"extraContainers", p["extraContainers"], reflect.TypeFor[[]corev1.Container](), false},
		{"initContainers", p["initContainers"], reflect.TypeFor[[]corev1.Container](), false},
		{"networkPolicy.ingressFrom", sub(p, "networkPolicy", "ingressFrom"), reflect.TypeFor[[]networkingv1.NetworkPolicyPeer](), true},
		{"networkPolicy.metricsFrom", sub(p, "networkPolicy", "metricsFrom"), reflect.TypeFor[[]networkingv1.NetworkPolicyPeer](), true},
		{"networkPolicy.extraIngressPorts", sub(p, "networkPolicy", "extraIngressPorts"), reflect.TypeFor[[]networkingv1.NetworkPolicyPort](), true},
		{"networkPolicy.egress.to", sub(p, "networkPolicy", "egress", "to"), reflect.TypeFor[[]networkingv1.NetworkPolicyEgressRule](), true},
		{"httpRoute.parentRefs", sub(p, "httpRoute", "parentRefs"), reflect.TypeFor[[]gatewayv1.ParentReference](), true},
		{"httpRoute.matches", sub(p, "httpRoute", "matches"), reflect.TypeFor[[]gatewayv1.HTTPRouteMatch](), true},
	} {
		if tc.node == nil {
			t.Errorf("values.schema.json has no %s", tc.key)
			continue
		}
		if tc.typ.Kind() == reflect.Slice && tc.node.Items == nil {
			t.Errorf("%s: the schema has no items", tc.key)
			continue
		}
		if tc.typ.Kind() != reflect.Slice && tc.node.Properties == nil {
			t.Errorf("%s: the schema accepts any object", tc.key)
			continue
		}
		checkAgainstType(t, tc.key, tc.node, tc.typ, tc.deep)
	}
}

// sub walks down properties by key; nil when a key is missing.
func sub(p map[string]*schemaNode, keys ...string) *schemaNode {
	var n *schemaNode
	for _, k := range keys {
		if p == nil || p[k] == nil {
			return nil
		}
		n = p[k]
		p = n.Properties
	}
	return n
}

// A setting's line in `signpost serve --help`: "NAME (default ...)" under
// Settings, or the bare NAME (two spaces in) under Runtime.
var (
	helpSetting = regexp.MustCompile(`(?m)^\s+([A-Z][A-Z0-9_]*) \(default `)
	helpRuntime = regexp.MustCompile(`(?m)^  ([A-Z][A-Z0-9_]*)$`)
)

// serveSettings lists the env names `signpost serve --help` documents.
func serveSettings(t *testing.T, help string) []string {
	t.Helper()
	var names []string
	for _, m := range helpSetting.FindAllStringSubmatch(help, -1) {
		names = append(names, m[1])
	}
	_, runtime, ok := strings.Cut(help, "\nRuntime")
	if !ok {
		t.Fatalf("no Runtime section in `signpost serve --help`:\n%s", help)
	}
	for _, m := range helpRuntime.FindAllStringSubmatch(runtime, -1) {
		names = append(names, m[1])
	}
	sort.Strings(names)
	return slices.Compact(names)
}

// values.yaml says every env name must be a setting of `signpost serve
// --help`; the schema enforces that list, and here the list is compared with
// what the real binary prints, both ways.
func TestEnvSchemaListsServeSettings(t *testing.T) {
	settings := serveSettings(t, serveHelp(t, signpostBinary(t)))
	if len(settings) < 20 || !slices.Contains(settings, "GOMEMLIMIT") || !slices.Contains(settings, "LOG_LEVEL") {
		t.Fatalf("read only %d settings from `signpost serve --help` (has its format changed?): %v", len(settings), settings)
	}
	env := loadValuesSchema(t).Properties["env"]
	if env == nil || env.Properties == nil || env.AdditionalProperties != false {
		t.Fatal("values.schema.json: env must list its names in properties, with additionalProperties false")
	}
	var schema []string
	for name := range env.Properties {
		schema = append(schema, name)
	}
	sort.Strings(schema)
	if !slices.Equal(schema, settings) {
		var onlyHelp, onlySchema []string
		for _, s := range settings {
			if !slices.Contains(schema, s) {
				onlyHelp = append(onlyHelp, s)
			}
		}
		for _, s := range schema {
			if !slices.Contains(settings, s) {
				onlySchema = append(onlySchema, s)
			}
		}
		t.Errorf("env names in values.schema.json and `signpost serve --help` differ:\n  only in serve --help: %v\n  only in the schema:   %v", onlyHelp, onlySchema)
	}
}
