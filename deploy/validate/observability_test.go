package validate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

const (
	alertsFile     = "../prometheus/alerts.yaml"
	alertTestsFile = "../prometheus/alerts_test.yaml"
	dashboardFile  = "../grafana/signpost.json"
	runbooksFile   = "../../docs/runbooks.md"
	operationsFile = "../../docs/operations.md"
)

// The chart renders the rules and the dashboard from its own copies (Helm
// reads no file outside the chart): they are the files in deploy/.
func TestChartCopiesAreTheDeployFiles(t *testing.T) {
	for copy, orig := range map[string]string{
		chartDir + "/files/alerts.yaml":    alertsFile,
		chartDir + "/files/dashboard.json": dashboardFile,
	} {
		if !bytes.Equal(readFile(t, copy), readFile(t, orig)) {
			t.Errorf("%s differs from %s: run  cp deploy/%s deploy/%s", copy, orig, strings.TrimPrefix(orig, "../"), strings.TrimPrefix(copy, "../"))
		}
	}
}

type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Alert       string            `json:"alert"`
			Expr        string            `json:"expr"`
			For         string            `json:"for"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"rules"`
	} `json:"groups"`
}

func loadRules(t *testing.T) ruleFile {
	t.Helper()
	var rf ruleFile
	if err := yaml.UnmarshalStrict(readFile(t, alertsFile), &rf); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	return rf
}

// The alerts the issue asks for exist, and every alert says how bad it is,
// what happened, and links a runbook section that exists.
func TestAlertsHaveSeverityTextAndRunbook(t *testing.T) {
	rf := loadRules(t)
	anchors := markdownAnchors(t, runbooksFile)
	var names []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			names = append(names, r.Alert)
			if r.Alert == "" || r.Expr == "" || r.For == "" {
				t.Errorf("rule %+v: want an alert name, an expression and a for duration", r)
			}
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				t.Errorf("%s: severity %q, want critical or warning", r.Alert, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: want a summary and a description", r.Alert)
			}
			const base = "https://github.com/signpost-go/signpost/blob/main/docs/runbooks.md#"
			anchor, ok := strings.CutPrefix(r.Annotations["runbook_url"], base)
			if !ok || anchor != strings.ToLower(r.Alert) {
				t.Errorf("%s: runbook_url %q, want %s%s", r.Alert, r.Annotations["runbook_url"], base, strings.ToLower(r.Alert))
			} else if !anchors[anchor] {
				t.Errorf("%s: docs/runbooks.md has no heading %q", r.Alert, r.Alert)
			}
		}
	}
	for _, want := range []string{"SignpostHigh5xxRate", "SignpostRedirectLatencyHigh", "SignpostDatabaseDown",
		"SignpostClicksPendingGrowing", "SignpostChangeListenerDown", "SignpostPodsNotReady"} {
		if !slices.Contains(names, want) {
			t.Errorf("no alert %s in %s", want, alertsFile)
		}
	}
}

// markdownAnchors returns GitHub's anchors of a file's headings.
func markdownAnchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	anchors := map[string]bool{}
	drop := regexp.MustCompile(`[^a-z0-9 _-]`)
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, path)))
	for sc.Scan() {
		if h, ok := strings.CutPrefix(sc.Text(), "#"); ok {
			h = strings.TrimLeft(h, "#")
			a := drop.ReplaceAllString(strings.ToLower(strings.TrimSpace(h)), "")
			anchors[strings.ReplaceAll(a, " ", "-")] = true
		}
	}
	return anchors
}

// promtool test rules passes when no test names an alert; here every
// alert has a case where it fires and one where it must stay silent.
func TestEveryAlertHasUnitTests(t *testing.T) {
	var tf struct {
		RuleFiles []string `json:"rule_files"`
		Tests     []struct {
			Name       string `json:"name"`
			AlertTests []struct {
				EvalTime  string `json:"eval_time"`
				AlertName string `json:"alertname"`
				ExpAlerts []any  `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	if err := yaml.Unmarshal(readFile(t, alertTestsFile), &tf); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tf.RuleFiles, []string{"alerts.yaml"}) {
		t.Errorf("rule_files = %v, want [alerts.yaml]", tf.RuleFiles)
	}
	fires, silent := map[string]bool{}, map[string]bool{}
	for _, tc := range tf.Tests {
		for _, at := range tc.AlertTests {
			if len(at.ExpAlerts) > 0 {
				fires[at.AlertName] = true
			} else {
				silent[at.AlertName] = true
			}
		}
	}
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			if !fires[r.Alert] || !silent[r.Alert] {
				t.Errorf("%s: a case where it fires: %v, one where it does not: %v", r.Alert, fires[r.Alert], silent[r.Alert])
			}
		}
	}
}

var (
	promNamespaceMatcher = `namespace="signpost"`
	signpostSelector     = regexp.MustCompile(`\bsignpost_[a-z_]+(\{[^}]*\})?`)
)

// The chart's PrometheusRule holds the rules of alerts.yaml, scoped to the
// release's namespace and Deployment, with the chart's extra labels.
func TestPrometheusRuleRender(t *testing.T) {
	rf := loadRules(t)
	api := []string{"monitoring.coreos.com/v1/PrometheusRule"}
	if n := len(find(mustRender(t, renderOpts{Set: []string{"prometheusRule.enabled=true"}}), "PrometheusRule")); n != 0 {
		t.Errorf("a PrometheusRule rendered without its API")
	}
	if n := len(find(mustRender(t, renderOpts{APIVersions: api}), "PrometheusRule")); n != 0 {
		t.Errorf("a PrometheusRule rendered with prometheusRule.enabled=false")
	}
	for _, tc := range []struct {
		name    string
		set     []string
		release string // fullname, which names the Deployment
		scoped  bool
	}{
		{"scoped", []string{"prometheusRule.enabled=true", "prometheusRule.labels.release=prometheus", "prometheusRule.ruleLabels.team=platform"}, "signpost", true},
		{"not scoped, renamed", []string{"prometheusRule.enabled=true", "prometheusRule.scopeToNamespace=false", "fullnameOverride=golinks"}, "golinks", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr := decodeOne[monitoringv1.PrometheusRule](t, mustRender(t, renderOpts{Set: tc.set, APIVersions: api}), "PrometheusRule")
			if tc.scoped && pr.Labels["release"] != "prometheus" {
				t.Errorf("labels = %v", pr.Labels)
			}
			if len(pr.Spec.Groups) != len(rf.Groups) {
				t.Fatalf("%d groups, want %d", len(pr.Spec.Groups), len(rf.Groups))
			}
			for gi, g := range pr.Spec.Groups {
				want := rf.Groups[gi]
				if g.Name != want.Name || len(g.Rules) != len(want.Rules) {
					t.Fatalf("group %q with %d rules, want %q with %d", g.Name, len(g.Rules), want.Name, len(want.Rules))
				}
				for ri, r := range g.Rules {
					w := want.Rules[ri]
					if r.Alert != w.Alert || string(*r.For) != w.For || !reflect.DeepEqual(r.Annotations, w.Annotations) {
						t.Errorf("%s: alert, for or annotations differ from %s", w.Alert, alertsFile)
					}
					wantLabels := map[string]string{}
					for k, v := range w.Labels {
						wantLabels[k] = v
					}
					if tc.scoped {
						wantLabels["team"] = "platform"
					}
					if !reflect.DeepEqual(r.Labels, wantLabels) {
						t.Errorf("%s: labels %v, want %v", w.Alert, r.Labels, wantLabels)
					}
					expr := r.Expr.String()
					// Taking the chart's additions out gives the file's expression back.
					undo := strings.NewReplacer(promNamespaceMatcher+", ", "", "{"+promNamespaceMatcher+"}", "",
						`deployment="`+tc.release+`"`, `deployment="signpost"`).Replace(expr)
					if undo != w.Expr {
						t.Errorf("%s: rendered\n%s\nis not the file's\n%s\nwith the chart's matchers", w.Alert, expr, w.Expr)
					}
					for _, sel := range signpostSelector.FindAllString(expr, -1) {
						if has := strings.Contains(sel, promNamespaceMatcher); has != tc.scoped {
							t.Errorf("%s: selector %s has the namespace matcher: %v, want %v", w.Alert, sel, has, tc.scoped)
						}
					}
					if strings.Contains(w.Expr, "kube_") && !strings.Contains(expr, `deployment="`+tc.release+`"`) {
						t.Errorf("%s: %s does not select the release's Deployment %s", w.Alert, expr, tc.release)
					}
				}
			}
		})
	}
}

type dashboard struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID         int    `json:"id"`
		Type       string `json:"type"`
		Title      string `json:"title"`
		Datasource *struct {
			UID string `json:"uid"`
		} `json:"datasource"`
		GridPos struct{ H, W, X, Y int } `json:"gridPos"`
		Targets []struct {
			Expr  string `json:"expr"`
			RefID string `json:"refId"`
		} `json:"targets"`
	} `json:"panels"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	var d dashboard
	if err := json.Unmarshal(readFile(t, dashboardFile), &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// dashboardExprs returns every query of the dashboard.
func dashboardExprs(d dashboard) []string {
	var out []string
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			out = append(out, tg.Expr)
		}
	}
	return out
}

// The dashboard is importable as is: a uid, a data source variable every
// panel uses (so it works with any Prometheus), unique panel ids, panels on
// the 24-column grid, a query in each panel, and a panel on each topic.
func TestDashboardShape(t *testing.T) {
	d := loadDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Errorf("uid %q, title %q", d.UID, d.Title)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	if vars["datasource"] != "datasource" || vars["namespace"] != "query" || vars["pod"] != "query" {
		t.Errorf("template variables = %v, want datasource, namespace and pod", vars)
	}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		if g := p.GridPos; g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q is off the grid: %+v", p.Title, g)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
			t.Errorf("panel %q: want the ${datasource} variable and at least one query", p.Title)
		}
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) == "" || tg.RefID == "" {
				t.Errorf("panel %q: a query without expr or refId", p.Title)
			}
		}
	}
	all := strings.Join(dashboardExprs(d), "\n")
	for topic, metric := range map[string]string{
		"redirect rate": "signpost_redirects_total", "redirect latency": "signpost_http_request_duration_seconds_bucket",
		"errors by route": `sum by (route, code) (rate(signpost_http_requests_total`, "click flush": "signpost_click_flush_duration_seconds_count",
		"DB pool": "go_sql_in_use_connections", "replica listener": "signpost_change_listener_up",
		"Go runtime": "go_goroutines", "pod restarts": "kube_pod_container_status_restarts_total",
	} {
		if !strings.Contains(all, metric) {
			t.Errorf("no panel on %s (%s)", topic, metric)
		}
	}
}

// With grafana.dashboard.enabled, a ConfigMap carries the dashboard for
// Grafana's sidecar, under the label it looks for.
func TestDashboardConfigMap(t *testing.T) {
	if n := len(find(mustRender(t, renderOpts{}), "ConfigMap")); n != 0 {
		t.Errorf("default values render %d ConfigMaps", n)
	}
	cm := decodeOne[corev1.ConfigMap](t, mustRender(t, renderOpts{Set: []string{"grafana.dashboard.enabled=true", "grafana.dashboard.namespace=monitoring", "grafana.dashboard.annotations.grafana_folder=Signpost"}}), "ConfigMap")
	if cm.Labels["grafana_dashboard"] != "1" || cm.Namespace != "monitoring" || cm.Annotations["grafana_folder"] != "Signpost" {
		t.Errorf("configmap metadata = %s", toYAML(cm.ObjectMeta))
	}
	if got := cm.Data["signpost.json"]; got != strings.TrimRight(string(readFile(t, dashboardFile)), "\n") {
		t.Errorf("the ConfigMap's signpost.json is not deploy/grafana/signpost.json (%d bytes)", len(got))
	}
	if !json.Valid([]byte(cm.Data["signpost.json"])) {
		t.Error("the ConfigMap's dashboard is not valid JSON")
	}
}

// kubeStateMetrics are the kube-state-metrics (v2) series the rules and
// the dashboard read; everything else must come from signpost itself.
var kubeStateMetrics = []string{
	"kube_deployment_spec_replicas", "kube_deployment_status_replicas_ready",
	"kube_pod_container_status_restarts_total", "kube_pod_container_status_ready",
}

var metricName = regexp.MustCompile(`\b(?:signpost|go|process|kube)_[a-z0-9_]+\b`)

// Every series the alerts and the dashboard query is one the real binary
// exposes (scraped from a running signpost on SQLite), a PostgreSQL-only
// one that docs/operations.md documents as such, or kube-state-metrics'.
// A renamed metric fails here instead of leaving an empty panel or an
// alert that can never fire.
func TestAlertsAndDashboardUseExposedMetrics(t *testing.T) {
	exposed := scrapeBinary(t, signpostBinary(t))
	ops := string(readFile(t, operationsFile))
	var exprs []string
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			exprs = append(exprs, r.Expr)
		}
	}
	exprs = append(exprs, dashboardExprs(loadDashboard(t))...)
	used := map[string]bool{}
	for _, e := range exprs {
		for _, m := range metricName.FindAllString(e, -1) {
			used[m] = true
		}
	}
	var names []string
	for m := range used {
		names = append(names, m)
	}
	sort.Strings(names)
	for _, m := range names {
		switch {
		case exposed[m], slices.Contains(kubeStateMetrics, m):
		case regexp.MustCompile("`" + m + "` \\| gauge \\| \\| PostgreSQL only").MatchString(ops):
		default:
			t.Errorf("%s is queried but not exposed by signpost (nor a documented PostgreSQL-only metric, nor kube-state-metrics')", m)
		}
	}
	t.Logf("%d metric names queried by the alerts and the dashboard: %v", len(names), names)
}

// scrapeBinary starts signpost on a temporary SQLite file, makes a
// redirect, a miss and an API call, and returns the sample names /metrics shows.
func scrapeBinary(t *testing.T, bin string) map[string]bool {
	t.Helper()
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	cmd := exec.Command(bin, "serve")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TMPDIR=" + t.TempDir(),
		fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", port), "DEBUG_ADDR=off", "SHUTDOWN_DELAY=0s",
		"DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "m.db"), "CLICK_FLUSH_INTERVAL=100ms"}
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // our own child, by PID
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("signpost output:\n%s", logs.String())
		}
	})
	client := &http.Client{Timeout: 2 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	deadline := time.Now().Add(30 * time.Second)
	for code, _ := get(client, base+"/readyz"); code != http.StatusOK; code, _ = get(client, base+"/readyz") {
		if time.Now().After(deadline) {
			t.Fatalf("/readyz did not answer 200 within 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, err := client.Post(base+"/api/v1/links", "application/json", strings.NewReader(`{"name":"docs","url":"https://docs.example"}`))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create a link: %v %v", resp, err)
	}
	resp.Body.Close()
	get(client, base+"/docs")
	get(client, base+"/no-such-link")
	time.Sleep(300 * time.Millisecond) // a click flush
	resp, err = client.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	names := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			names[line[:i]] = true
		}
	}
	if len(names) < 50 || !names["signpost_build_info"] {
		t.Fatalf("scraped only %d names from /metrics", len(names))
	}
	return names
}
