package validate

import (
	"bytes"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"sigs.k8s.io/yaml"
)

const repoRoot = "../.."

// runtimeStage is a Dockerfile from its runtime stage to the end.
func runtimeStage(t *testing.T, path string) string {
	t.Helper()
	s := string(readFile(t, path))
	i := strings.Index(s, "FROM ${RUNTIME_IMAGE} AS runtime")
	if i < 0 {
		t.Fatalf("%s has no runtime stage", path)
	}
	return s[i:]
}

// The image GoReleaser releases is the image `docker build .` makes: the
// same runtime stage (user, volume, health check, labels, entrypoint).
func TestReleaseDockerfileMatchesRuntimeStage(t *testing.T) {
	main, release := runtimeStage(t, repoRoot+"/Dockerfile"), runtimeStage(t, repoRoot+"/deploy/release/Dockerfile")
	if main != release {
		t.Errorf("the runtime stages of Dockerfile and deploy/release/Dockerfile differ:\n%s", lineDiff(main, release))
	}
}

// What .goreleaser.yaml promises, beyond what `goreleaser check` checks.
func TestGoReleaserConfig(t *testing.T) {
	var cfg struct {
		Builds []struct {
			Goos, Goarch, Flags, Ldflags []string
		}
		Archives []struct {
			Files []string
		}
		Checksum struct {
			NameTemplate string `json:"name_template"`
		}
		SBOMs []struct {
			Artifacts string
		} `json:"sboms"`
		DockersV2 []struct {
			Dockerfile string
			IDs        []string
			Images     []string
			Tags       []string
			Platforms  []string
			SBOM       any `json:"sbom"`
		} `json:"dockers_v2"`
		Publishers []struct {
			Cmd string
		}
	}
	if err := yaml.Unmarshal(readFile(t, repoRoot+"/.goreleaser.yaml"), &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Builds) != 1 || !slices.Contains(cfg.Builds[0].Ldflags, "-X github.com/signpost-go/signpost/internal/buildinfo.Version=v{{ .Version }}") {
		t.Errorf("the build must stamp Version=v{{ .Version }}, the archives' version (a snapshot's .Tag is the last tag): %+v", cfg.Builds)
	}
	for _, a := range cfg.Archives {
		for _, f := range a.Files {
			if m, _ := filepath.Glob(filepath.Join(repoRoot, f)); len(m) == 0 {
				t.Errorf("archive file %s matches nothing", f)
			}
		}
	}
	if cfg.Checksum.NameTemplate != "SHA256SUMS" || len(cfg.SBOMs) == 0 {
		t.Errorf("want SHA256SUMS and SBOMs: %+v %+v", cfg.Checksum, cfg.SBOMs)
	}
	if len(cfg.DockersV2) != 1 {
		t.Fatalf("want one dockers_v2 image, got %d", len(cfg.DockersV2))
	}
	d := cfg.DockersV2[0]
	if !slices.Equal(d.Platforms, []string{"linux/amd64", "linux/arm64"}) || d.SBOM != true || !slices.Contains(d.Tags, "{{ .Version }}") ||
		!slices.Equal(d.Images, []string{"ghcr.io/signpost-go/signpost"}) || d.Dockerfile != "deploy/release/Dockerfile" {
		t.Errorf("dockers_v2 = %+v: want linux/amd64 and linux/arm64, an SBOM, the bare version as a tag (the chart's image tag)", d)
	}
	var chart struct {
		Image struct{ Repository string }
	}
	yaml.Unmarshal(readFile(t, chartDir+"/values.yaml"), &chart)
	if chart.Image.Repository != d.Images[0] {
		t.Errorf("the chart deploys %s, the release pushes %s", chart.Image.Repository, d.Images[0])
	}
	if len(cfg.Publishers) != 1 || !strings.HasPrefix(cfg.Publishers[0].Cmd, "scripts/publish-chart.sh ") {
		t.Errorf("publishers = %+v, want scripts/publish-chart.sh", cfg.Publishers)
	}
}

// scripts/publish-chart.sh pushes the chart to an OCI registry (here one
// on loopback, go-containerregistry's), Helm pulls it back from there, and
// a second publish of the same chart version is refused.
func TestPublishChartToOCIRegistry(t *testing.T) {
	helm := os.Getenv("HELM_BIN")
	if helm == "" {
		t.Skip("HELM_BIN is not set (scripts/test-k8s.sh sets it to the helm it builds)")
	}
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")
	var chart struct{ Version, AppVersion string }
	if err := yaml.Unmarshal(readFile(t, chartDir+"/Chart.yaml"), &chart); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	env := append(os.Environ(), "HELM="+helm, "HELM_REGISTRY_FLAGS=--plain-http", "HOME="+home,
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"), "HELM_CACHE_HOME="+filepath.Join(home, "cache"), "HELM_DATA_HOME="+filepath.Join(home, "data"))
	publish := func(version string) (string, error) {
		cmd := exec.Command(repoRoot+"/scripts/publish-chart.sh", version, "oci://"+host+"/charts")
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := publish("v" + chart.AppVersion); err != nil || !strings.Contains(out, "pushed signpost "+chart.Version) {
		t.Fatalf("publish: %v\n%s", err, out)
	}
	pull := exec.Command(helm, "pull", "--plain-http", "oci://"+host+"/charts/signpost", "--version", chart.Version, "--destination", t.TempDir(), "--untar")
	pull.Env = env
	if out, err := pull.CombinedOutput(); err != nil {
		t.Fatalf("helm pull from the registry: %v\n%s", err, out)
	}
	show := exec.Command(helm, "show", "chart", "--plain-http", "oci://"+host+"/charts/signpost", "--version", chart.Version)
	show.Env = env
	out, err := show.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("appVersion: "+chart.AppVersion)) || !bytes.Contains(out, []byte("artifacthub.io/images")) {
		t.Fatalf("helm show chart: %v\n%s", err, out)
	}
	if out, err := publish(chart.AppVersion); err == nil || !strings.Contains(out, "already in") {
		t.Errorf("a second publish of chart %s: %v\n%s", chart.Version, err, out)
	}
	if out, err := publish("9.9.9"); err == nil || !strings.Contains(out, "set appVersion") {
		t.Errorf("publish for another release than appVersion: %v\n%s", err, out)
	}
}
