package validate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// signpostBinary returns the binary named by SIGNPOST_BIN, or skips.
// scripts/test-k8s.sh builds it and sets SIGNPOST_BIN, so in CI these checks always run.
func signpostBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("SIGNPOST_BIN")
	if bin == "" {
		t.Skip("SIGNPOST_BIN is not set (scripts/test-k8s.sh builds the binary and sets it)")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("SIGNPOST_BIN: %v", err)
	}
	return bin
}

// manifestSet is one deployable set of objects: a chart variant or the kustomize base.
type manifestSet struct {
	Name string
	Objs []object
}

func allManifestSets(t *testing.T) []manifestSet {
	t.Helper()
	sets := []manifestSet{{"kustomize", buildKustomize(t)}}
	for _, v := range chartVariants(t) {
		sets = append(sets, manifestSet{v.Name, mustRender(t, v.Opts)})
	}
	// ci/servicemonitor-ingress-values.yaml sets metrics.port without the pod
	// annotations; this one has the annotations point at the metrics port.
	sets = append(sets, manifestSet{"metrics-port-annotations", mustRender(t, metricsPortOpts)})
	return sets
}

// Every env name any manifest sets is a setting that `signpost serve --help` lists.
func TestEnvNamesAreServeSettings(t *testing.T) {
	bin := signpostBinary(t)
	help := serveHelp(t, bin)
	seen := map[string]bool{}
	for _, set := range allManifestSets(t) {
		for _, d := range find(set.Objs, "Deployment") {
			do, err := strictDecode(d)
			if err != nil {
				t.Fatal(err)
			}
			// Only signpost's own: a sidecar in extraContainers has its own settings.
			for _, e := range container(t, do.(*appsv1.Deployment)).Env {
				seen[e.Name] = true
			}
		}
	}
	if len(seen) < 8 {
		t.Fatalf("found only %d env names in the manifests: %v", len(seen), seen)
	}
	var missing []string
	for name := range seen {
		// A setting's line in the help starts with its env name; a mention in
		// another setting's description does not count.
		if !regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(name) + `(\s|$)`).MatchString(help) {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("the manifests set env vars that `signpost serve --help` does not list: %v\n--- help ---\n%s", missing, help)
	}
}

func serveHelp(t *testing.T, bin string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "serve", "--help").CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("signpost serve --help: %v", err)
	}
	if len(out) == 0 {
		t.Fatal("signpost serve --help printed nothing")
	}
	return string(out)
}

// target is one request the kubelet or Prometheus makes to the container: a
// path on a named container port, and the status it must get.
type target struct {
	Port string // container port name: "http" or "metrics"
	Path string
	Want int
}

func (tg target) String() string { return fmt.Sprintf("%s %s -> %d", tg.Port, tg.Path, tg.Want) }

// probeTargets collects what the kubelet and Prometheus would fetch from the
// signpost container, checking that every port they name is a container port
// that HTTP_ADDR or METRICS_ADDR listens on. With METRICS_ADDR set, /metrics
// must also answer 404 on the public port.
func probeTargets(t *testing.T, objs []object, d *appsv1.Deployment, c corev1.Container) []target {
	t.Helper()
	ports := map[string]int32{}
	names := map[int32]string{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
		names[p.ContainerPort] = p.Name
	}
	env, _ := envMap(c)
	_, addrPort, err := net.SplitHostPort(env["HTTP_ADDR"])
	if err != nil {
		t.Fatalf("HTTP_ADDR %q: %v", env["HTTP_ADDR"], err)
	}
	if addrPort != strconv.Itoa(int(ports["http"])) {
		t.Errorf("HTTP_ADDR %q listens elsewhere than the http container port %d", env["HTTP_ADDR"], ports["http"])
	}
	// Where /metrics is served: its own listener when METRICS_ADDR is set.
	metricsPort := "http"
	if addr, ok := env["METRICS_ADDR"]; ok && addr != "" {
		metricsPort = "metrics"
		_, mp, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatalf("METRICS_ADDR %q: %v", addr, err)
		}
		if ports["metrics"] == 0 || mp != strconv.Itoa(int(ports["metrics"])) {
			t.Errorf("METRICS_ADDR %q listens elsewhere than the metrics container port %d", addr, ports["metrics"])
		}
	} else if _, ok := ports["metrics"]; ok {
		t.Errorf("a metrics container port %d is declared, but METRICS_ADDR is not set: nothing listens there", ports["metrics"])
	}
	var targets []target
	for _, np := range []struct {
		name  string
		probe *corev1.Probe
	}{{"startup", c.StartupProbe}, {"liveness", c.LivenessProbe}, {"readiness", c.ReadinessProbe}} {
		name, p := np.name, np.probe
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s probe is not an HTTP probe", name)
			continue
		}
		port := p.HTTPGet.Port.IntVal
		if p.HTTPGet.Port.StrVal != "" {
			port = ports[p.HTTPGet.Port.StrVal]
		}
		if port != ports["http"] || port == 0 {
			t.Errorf("%s probe port %s is not the http port %d", name, p.HTTPGet.Port.String(), ports["http"])
		}
		targets = append(targets, target{"http", p.HTTPGet.Path, http.StatusOK})
	}
	if ann := d.Spec.Template.Annotations; ann["prometheus.io/scrape"] == "true" {
		if ann["prometheus.io/port"] != strconv.Itoa(int(ports[metricsPort])) {
			t.Errorf("prometheus.io/port %q is not the %s port %d", ann["prometheus.io/port"], metricsPort, ports[metricsPort])
		}
		targets = append(targets, target{names[ports[metricsPort]], ann["prometheus.io/path"], http.StatusOK})
	}
	// A ServiceMonitor names a Service port; follow it to the container port.
	for _, sm := range find(objs, "ServiceMonitor") {
		eps, _ := sm.Data["spec"].(map[string]any)["endpoints"].([]any)
		for _, ep := range eps {
			e, _ := ep.(map[string]any)
			p, _ := e["path"].(string)
			svcPort, _ := e["port"].(string)
			cport := servicePortTarget(t, objs, svcPort, names)
			if cport != metricsPort {
				t.Errorf("the ServiceMonitor scrapes Service port %q (container port %q), want the %s port", svcPort, cport, metricsPort)
			}
			targets = append(targets, target{cport, p, http.StatusOK})
		}
	}
	if metricsPort != "http" {
		targets = append(targets, target{"http", "/metrics", http.StatusNotFound})
	}
	return targets
}

// servicePortTarget returns the name of the container port that the
// Service's port called name forwards to ("" when there is none).
func servicePortTarget(t *testing.T, objs []object, name string, containerPorts map[int32]string) string {
	t.Helper()
	for _, so := range find(objs, "Service") {
		svc, err := strictDecode(so)
		if err != nil {
			t.Fatal(err)
		}
		for _, sp := range svc.(*corev1.Service).Spec.Ports {
			if sp.Name != name {
				continue
			}
			if sp.TargetPort.StrVal != "" {
				for _, n := range containerPorts {
					if n == sp.TargetPort.StrVal {
						return n
					}
				}
				return ""
			}
			return containerPorts[sp.TargetPort.IntVal]
		}
	}
	t.Errorf("no Service port named %q", name)
	return ""
}

// Each distinct configuration the manifests give the container is run for
// real: signpost starts with the manifests' env values, answers every probe
// and scrape path on the port the manifests name (and /metrics with 404 on
// the public port when METRICS_ADDR moves it), and on SIGTERM exits 0 within
// the shutdown budget.
func TestBinaryServesWhatTheManifestsExpect(t *testing.T) {
	bin := signpostBinary(t)
	ran := map[string]bool{}
	for _, set := range allManifestSets(t) {
		// The older-Kubernetes renders differ in SHUTDOWN_DELAY (and scheduling
		// fields the binary never sees): one of them is enough.
		old := strings.HasSuffix(set.Name, "@"+kubeOld) || strings.HasSuffix(set.Name, "@"+kubeOldest)
		if old && set.Name != "default@"+kubeOld {
			continue
		}
		d := deployment(t, set.Objs)
		c := container(t, d)
		targets := probeTargets(t, set.Objs, d, c)
		env := localEnv(c)
		key := fmt.Sprint(env, targets)
		if ran[key] {
			continue
		}
		ran[key] = true
		t.Run(set.Name, func(t *testing.T) { runAndProbe(t, bin, env, targets) })
	}
}

// localEnv turns the container's plain env into one that runs on this
// machine: loopback addresses, a temporary SQLite database, no remote profiler.
// Values from Secrets and the downward API are replaced likewise.
func localEnv(c corev1.Container) map[string]string {
	env := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env[e.Name] = e.Value
		}
	}
	// The OIDC Secret's values, and an issuer on loopback where nothing
	// listens: discovery fails and is retried, which must not keep the pod
	// from being ready.
	if env["AUTH_MODE"] == "oidc" {
		env["OIDC_ISSUER"] = "http://127.0.0.1:1"
		env["OIDC_CLIENT_SECRET"] = "stand-in-client-secret"
		env["SESSION_KEY"] = "stand-in-session-key-0123456789abcdef"
	}
	env["HTTP_ADDR"] = "127.0.0.1:0" // replaced by a free port at start
	env["DATABASE_URL"] = "sqlite:"  // replaced by a temporary file at start
	if _, ok := env["DEBUG_ADDR"]; ok {
		env["DEBUG_ADDR"] = "127.0.0.1:0"
	}
	if env["METRICS_ADDR"] != "" {
		env["METRICS_ADDR"] = "127.0.0.1:0" // replaced by a free port at start
	}
	delete(env, "PYROSCOPE_SERVER") // never push profiles off this machine
	env["GOMAXPROCS"] = "1"         // stands in for resourceFieldRef limits.cpu
	return env
}

func runAndProbe(t *testing.T, bin string, env map[string]string, targets []target) {
	port := freePort(t)
	env["HTTP_ADDR"] = fmt.Sprintf("127.0.0.1:%d", port)
	bases := map[string]string{"http": fmt.Sprintf("http://127.0.0.1:%d", port)}
	if env["METRICS_ADDR"] != "" {
		mport := freePort(t)
		env["METRICS_ADDR"] = fmt.Sprintf("127.0.0.1:%d", mport)
		bases["metrics"] = fmt.Sprintf("http://127.0.0.1:%d", mport)
	}
	env["DATABASE_URL"] = "sqlite:" + filepath.Join(t.TempDir(), "signpost.db")

	cmd := exec.Command(bin, "serve")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TMPDIR=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = cmd.Process.Kill() // our own child, by PID
			<-done
		}
		if t.Failed() {
			t.Logf("env: %v\nsignpost output:\n%s", env, logs.String())
		}
	})

	client := &http.Client{Timeout: 2 * time.Second}
	// Like the startup and readiness probes: wait (bounded) until /readyz answers 200.
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _ := get(client, bases["http"]+"/readyz")
		if code == http.StatusOK {
			break
		}
		select {
		case err := <-done:
			stopped = true
			t.Fatalf("signpost exited before it was ready: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz did not answer 200 within 30s (last status %d)", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, tg := range targets {
		base, ok := bases[tg.Port]
		if !ok {
			t.Errorf("%s: nothing listens on a container port named %q", tg, tg.Port)
			continue
		}
		code, body := get(client, base+tg.Path)
		if code != tg.Want {
			t.Errorf("GET %s on the %s port = %d, want %d (%s)", tg.Path, tg.Port, code, tg.Want, body)
		}
	}

	// SIGTERM, as the kubelet sends after preStop: exit 0 within SHUTDOWN_DELAY + SHUTDOWN_TIMEOUT.
	delay, _ := time.ParseDuration(env["SHUTDOWN_DELAY"])
	timeout, _ := time.ParseDuration(env["SHUTDOWN_TIMEOUT"])
	budget := delay + timeout + 5*time.Second
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		stopped = true
		if err != nil {
			t.Errorf("signpost exited with %v after SIGTERM, want 0", err)
		}
		t.Logf("ready, %d requests answered as the manifests expect (%v), exit 0 %v after SIGTERM", len(targets), targets, time.Since(start).Round(time.Millisecond))
	case <-time.After(budget):
		t.Errorf("signpost still running %v after SIGTERM", budget)
	}
}

func get(c *http.Client, url string) (int, string) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
