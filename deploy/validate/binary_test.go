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
			for _, c := range do.(*appsv1.Deployment).Spec.Template.Spec.Containers {
				for _, e := range c.Env {
					seen[e.Name] = true
				}
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

// probeTargets collects what the kubelet and Prometheus would fetch from the
// signpost container, checking that every port they name is the container's
// port that HTTP_ADDR listens on.
func probeTargets(t *testing.T, d *appsv1.Deployment, c corev1.Container) []string {
	t.Helper()
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	env, _ := envMap(c)
	_, addrPort, err := net.SplitHostPort(env["HTTP_ADDR"])
	if err != nil {
		t.Fatalf("HTTP_ADDR %q: %v", env["HTTP_ADDR"], err)
	}
	if addrPort != strconv.Itoa(int(ports["http"])) {
		t.Errorf("HTTP_ADDR %q listens elsewhere than the http container port %d", env["HTTP_ADDR"], ports["http"])
	}
	var paths []string
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
		paths = append(paths, p.HTTPGet.Path)
	}
	if ann := d.Spec.Template.Annotations; ann["prometheus.io/scrape"] == "true" {
		if ann["prometheus.io/port"] != strconv.Itoa(int(ports["http"])) {
			t.Errorf("prometheus.io/port %q is not the http port %d", ann["prometheus.io/port"], ports["http"])
		}
		paths = append(paths, ann["prometheus.io/path"])
	}
	return paths
}

// Each distinct configuration the manifests give the container is run for
// real: signpost starts with the manifests' env values, answers every probe
// and scrape path with 200, and on SIGTERM exits 0 within the shutdown budget.
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
		paths := probeTargets(t, d, c)
		for _, sm := range find(set.Objs, "ServiceMonitor") {
			eps, _ := sm.Data["spec"].(map[string]any)["endpoints"].([]any)
			for _, ep := range eps {
				if p, _ := ep.(map[string]any)["path"].(string); p != "" {
					paths = append(paths, p)
				}
			}
		}
		env := localEnv(c)
		key := fmt.Sprint(env, paths)
		if ran[key] {
			continue
		}
		ran[key] = true
		t.Run(set.Name, func(t *testing.T) { runAndProbe(t, bin, env, paths) })
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
	env["HTTP_ADDR"] = "127.0.0.1:0" // replaced by a free port at start
	env["DATABASE_URL"] = "sqlite:"  // replaced by a temporary file at start
	if _, ok := env["DEBUG_ADDR"]; ok {
		env["DEBUG_ADDR"] = "127.0.0.1:0"
	}
	delete(env, "PYROSCOPE_SERVER") // never push profiles off this machine
	env["GOMAXPROCS"] = "1"         // stands in for resourceFieldRef limits.cpu
	return env
}

func runAndProbe(t *testing.T, bin string, env map[string]string, paths []string) {
	port := freePort(t)
	env["HTTP_ADDR"] = fmt.Sprintf("127.0.0.1:%d", port)
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
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	// Like the startup and readiness probes: wait (bounded) until /readyz answers 200.
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _ := get(client, base+"/readyz")
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
	for _, p := range paths {
		code, body := get(client, base+p)
		if code != http.StatusOK {
			t.Errorf("GET %s = %d, want 200 (%s)", p, code, body)
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
		t.Logf("ready, %d paths answered 200, exit 0 %v after SIGTERM", len(paths), time.Since(start).Round(time.Millisecond))
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
