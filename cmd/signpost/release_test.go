package main_test

// The release binaries, built as a release builds them (make dist →
// scripts/dist.sh) and read with the standard library's debug packages:
// no Docker engine needed. By default only this machine's platform is
// built (about 10 s warm); SIGNPOST_TEST_RELEASE=all (set by
// scripts/test-all.sh) builds all five, and SIGNPOST_TEST_UPX=/path/to/upx
// also checks the UPX-packed copy (make dist-upx).

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

const (
	releaseVersion  = "v0.0.0-releasetest"
	releaseRevision = "0123456789abcdef0123456789abcdef01234567"
	releaseDate     = "2026-01-02T03:04:05Z"
	modulePath      = "github.com/signpost-go/signpost"
)

// release is one binary of a release: its platform and file name.
type release struct{ goos, goarch, name string }

var allReleases = []release{
	{"linux", "amd64", "signpost-linux-amd64"},
	{"linux", "arm64", "signpost-linux-arm64"},
	{"darwin", "amd64", "signpost-darwin-amd64"},
	{"darwin", "arm64", "signpost-darwin-arm64"},
	{"windows", "amd64", "signpost-windows-amd64.exe"},
}

// lookMake returns the make command, or skips.
func lookMake(t *testing.T) string {
	t.Helper()
	mk, err := exec.LookPath("make")
	if err != nil {
		t.Skip("make is not installed")
	}
	return mk
}

// runMake runs make in the repository root with vars on its command line
// only (so the test proves the Makefile hands them to scripts/dist.sh),
// and returns its output.
func runMake(mk string, env []string, target string, vars ...string) (string, error) {
	cmd := exec.Command(mk, append([]string{"-C", "../..", target}, vars...)...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// cleanEnv is the test's environment without the variables scripts/dist.sh
// reads, so that only make's command line sets them.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "VERSION", "REVISION", "DATE", "DIST_DIR", "PLATFORMS", "UPX_BIN", "UPX_TARGETS":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

func TestReleaseBinaries(t *testing.T) {
	t.Parallel()
	native := runtime.GOOS + "/" + runtime.GOARCH
	var want []release
	for _, r := range allReleases {
		if os.Getenv("SIGNPOST_TEST_RELEASE") == "all" || r.goos+"/"+r.goarch == native {
			want = append(want, r)
		}
	}
	if len(want) == 0 {
		t.Skipf("scripts/dist.sh builds no release for %s", native)
	}
	var platforms []string
	for _, r := range want {
		platforms = append(platforms, r.goos+"/"+r.goarch)
	}
	mk := lookMake(t)
	dist := t.TempDir()
	vars := []string{"VERSION=" + releaseVersion, "REVISION=" + releaseRevision, "DATE=" + releaseDate,
		"DIST_DIR=" + dist, "PLATFORMS=" + strings.Join(platforms, " ")}
	target := "dist"
	upx := os.Getenv("SIGNPOST_TEST_UPX")
	if upx != "" {
		target = "dist-upx"
		vars = append(vars, "UPX_BIN="+upx, "UPX_TARGETS=linux-amd64")
	}
	// The same commit and version must build the same bytes: a second
	// build of this platform's binary, made at the same time.
	first := want[0]
	for _, r := range want {
		if r.goos+"/"+r.goarch == native {
			first = r
		}
	}
	again := t.TempDir()
	type result struct {
		out string
		err error
	}
	second := make(chan result, 1)
	go func() {
		out, err := runMake(mk, cleanEnv(), "dist", "VERSION="+releaseVersion, "REVISION="+releaseRevision, "DATE="+releaseDate,
			"DIST_DIR="+again, "PLATFORMS="+first.goos+"/"+first.goarch)
		second <- result{out, err}
	}()
	out, err := runMake(mk, cleanEnv(), target, vars...)
	r2 := <-second
	if err != nil {
		t.Fatalf("make %s: %v\n%s", target, err, out)
	}
	if r2.err != nil {
		t.Fatalf("make dist, second build: %v\n%s", r2.err, r2.out)
	}

	for _, r := range want {
		t.Run(r.name, func(t *testing.T) {
			path := filepath.Join(dist, r.name)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			checkFormat(t, r, path)
			checkBuildInfo(t, r, path)
			// -ldflags -X stamps are plain strings in the data section.
			for _, s := range []string{releaseVersion, releaseRevision, releaseDate} {
				if !bytes.Contains(data, []byte(s)) {
					t.Errorf("%s does not hold the stamp %q", r.name, s)
				}
			}
			if r.goos+"/"+r.goarch == native {
				out, err := exec.Command(path, "version").CombinedOutput()
				if err != nil || !strings.Contains(string(out), "signpost "+releaseVersion) ||
					!strings.Contains(string(out), "revision: "+releaseRevision) || !strings.Contains(string(out), "built: "+releaseDate) {
					t.Errorf("%s version: %v\n%s", r.name, err, out)
				}
			}
			t.Logf("%s: %d bytes", r.name, len(data))
		})
	}

	var names []string
	for _, r := range want {
		names = append(names, r.name)
	}
	checkSums(t, dist, names)

	a, _ := os.ReadFile(filepath.Join(dist, first.name))
	b, err := os.ReadFile(filepath.Join(again, first.name))
	if err != nil || !bytes.Equal(a, b) {
		t.Errorf("a second build of %s differs from the first (%v)", first.name, err)
	}
	if entries, _ := os.ReadDir(again); len(entries) != 2 {
		t.Errorf("make dist PLATFORMS=%s/%s wrote %d files, want the binary and SHA256SUMS", first.goos, first.goarch, len(entries))
	}

	if upx != "" {
		checkUPX(t, dist)
	}
}

// checkFormat reads the executable header for r's platform: the machine,
// an executable (not a library or object), no DWARF (-w), and on Linux no
// program interpreter and no shared library (static).
func checkFormat(t *testing.T, r release, path string) {
	t.Helper()
	switch r.goos {
	case "linux":
		f, err := elf.Open(path)
		if err != nil {
			t.Fatalf("not an ELF file: %v", err)
		}
		defer f.Close()
		machine := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[r.goarch]
		if f.Class != elf.ELFCLASS64 || f.Machine != machine || f.Type != elf.ET_EXEC {
			t.Errorf("ELF %v %v %v, want ELFCLASS64 %v ET_EXEC", f.Class, f.Machine, f.Type, machine)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
				t.Errorf("has a %v program header: not statically linked", p.Type)
			}
		}
		if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
			t.Errorf("links shared libraries %v (%v)", libs, err)
		}
		if f.Section(".symtab") != nil {
			t.Error("has a symbol table (-s missing)")
		}
		if _, err := f.DWARF(); err == nil {
			t.Error("has DWARF (-w missing)")
		}
	case "darwin":
		f, err := macho.Open(path)
		if err != nil {
			t.Fatalf("not a Mach-O file: %v", err)
		}
		defer f.Close()
		cpu := map[string]macho.Cpu{"amd64": macho.CpuAmd64, "arm64": macho.CpuArm64}[r.goarch]
		if f.Magic != macho.Magic64 || f.Cpu != cpu || f.Type != macho.TypeExec {
			t.Errorf("Mach-O %#x %v %v, want 64-bit %v executable", f.Magic, f.Cpu, f.Type, cpu)
		}
		// macOS binaries always link the system's libraries (Apple supports
		// no static binaries: libSystem, libresolv, and the CoreFoundation
		// and Security frameworks for certificates); with cgo off, nothing
		// else.
		system := func(l string) bool {
			return strings.HasPrefix(l, "/usr/lib/") || strings.HasPrefix(l, "/System/Library/Frameworks/")
		}
		if libs, err := f.ImportedLibraries(); err != nil || !slices.ContainsFunc(libs, system) || slices.ContainsFunc(libs, func(l string) bool { return !system(l) }) {
			t.Errorf("links %v (%v), want the system's libraries only", libs, err)
		}
		if _, err := f.DWARF(); err == nil {
			t.Error("has DWARF (-w missing)")
		}
	case "windows":
		f, err := pe.Open(path)
		if err != nil {
			t.Fatalf("not a PE file: %v", err)
		}
		defer f.Close()
		oh, ok := f.OptionalHeader.(*pe.OptionalHeader64)
		if f.Machine != pe.IMAGE_FILE_MACHINE_AMD64 || !ok || oh.Subsystem != pe.IMAGE_SUBSYSTEM_WINDOWS_CUI ||
			f.Characteristics&pe.IMAGE_FILE_EXECUTABLE_IMAGE == 0 || f.Characteristics&pe.IMAGE_FILE_DLL != 0 {
			t.Errorf("PE machine %#x, characteristics %#x, optional header %T, want a PE32+ x86-64 console executable", f.Machine, f.Characteristics, f.OptionalHeader)
		}
		if _, err := f.DWARF(); err == nil {
			t.Error("has DWARF (-w missing)")
		}
	}
}

// checkBuildInfo reads what Go recorded in the binary (what `go version -m`
// and vulnerability scanners read): the module, a cgo-free -trimpath build
// for the platform, and the storage drivers among the dependencies.
func checkBuildInfo(t *testing.T, r release, path string) {
	t.Helper()
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		t.Fatalf("no Go build information: %v", err)
	}
	if bi.Path != modulePath+"/cmd/signpost" || bi.Main.Path != modulePath || bi.GoVersion != runtime.Version() {
		t.Errorf("built %s of module %s with %s", bi.Path, bi.Main.Path, bi.GoVersion)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	for k, v := range map[string]string{"CGO_ENABLED": "0", "-trimpath": "true", "GOOS": r.goos, "GOARCH": r.goarch} {
		if settings[k] != v {
			t.Errorf("build setting %s=%q, want %q", k, settings[k], v)
		}
	}
	for _, dep := range []string{"modernc.org/sqlite", "github.com/jackc/pgx/v5"} {
		if !slices.ContainsFunc(bi.Deps, func(m *debug.Module) bool { return m.Path == dep }) {
			t.Errorf("the build information does not list %s", dep)
		}
	}
}

// checkSums verifies dir/SHA256SUMS (as `sha256sum -c` would): one line
// per binary built, each hash right.
func checkSums(t *testing.T, dir string, names []string) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line := regexp.MustCompile(`^([0-9a-f]{64})  (\S+)$`)
	var listed []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			t.Errorf("SHA256SUMS line %q is not HASH  NAME", sc.Text())
			continue
		}
		listed = append(listed, m[2])
		data, err := os.ReadFile(filepath.Join(dir, m[2]))
		if err != nil {
			t.Errorf("SHA256SUMS lists %s: %v", m[2], err)
			continue
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != m[1] {
			t.Errorf("SHA256SUMS: %s does not match", m[2])
		}
	}
	slices.Sort(listed)
	names = slices.Sorted(slices.Values(names))
	if !slices.Equal(listed, names) {
		t.Errorf("SHA256SUMS lists %v, want %v", listed, names)
	}
}

// checkUPX checks make dist-upx's packed copy of signpost-linux-amd64.
func checkUPX(t *testing.T, dist string) {
	t.Helper()
	plain, packed := filepath.Join(dist, "signpost-linux-amd64"), filepath.Join(dist, "upx", "signpost-linux-amd64")
	pi, err1 := os.Stat(plain)
	ui, err2 := os.Stat(packed)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	if ui.Size() >= pi.Size() {
		t.Errorf("the UPX copy is %d bytes, the plain binary %d", ui.Size(), pi.Size())
	}
	checkSums(t, filepath.Join(dist, "upx"), []string{"signpost-linux-amd64"})
	if runtime.GOOS+"/"+runtime.GOARCH == "linux/amd64" {
		if out, err := exec.Command(packed, "version").CombinedOutput(); err != nil || !strings.Contains(string(out), releaseVersion) {
			t.Errorf("the UPX copy does not run: %v\n%s", err, out)
		}
	}
	// Scanners read the module list from the build information; packing
	// hides it (docs/container.md says so).
	_, err := buildinfo.ReadFile(packed)
	t.Logf("UPX: %d → %d bytes; build information of the packed copy: %v", pi.Size(), ui.Size(), err)
}

// Without upx, make dist-upx says how to get it and builds nothing.
func TestDistUPXWithoutUPX(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"/usr/bin", "/bin"} {
		if _, err := os.Stat(filepath.Join(dir, "upx")); err == nil {
			t.Skipf("upx is installed in %s: cannot run make dist-upx without it", dir)
		}
	}
	dist := t.TempDir()
	env := append(cleanEnv(), "PATH=/usr/bin:/bin", "SIGNPOST_TOOLS=/nonexistent")
	out, err := runMake(lookMake(t), env, "dist-upx", "VERSION="+releaseVersion, "DIST_DIR="+dist)
	if err == nil || !strings.Contains(out, "upx is not installed") {
		t.Errorf("make dist-upx without upx: %v\n%s", err, out)
	}
	if entries, _ := os.ReadDir(dist); len(entries) > 0 {
		t.Errorf("make dist-upx without upx built %d files", len(entries))
	}
}

// Every .PHONY target of the Makefile has a rule.
func TestMakefilePhonyTargets(t *testing.T) {
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	var phony []string
	for _, line := range strings.Split(string(mk), "\n") {
		if rest, ok := strings.CutPrefix(line, ".PHONY:"); ok {
			phony = append(phony, strings.Fields(rest)...)
		}
	}
	if len(phony) < 5 {
		t.Fatalf("only %d .PHONY targets: %v", len(phony), phony)
	}
	for _, target := range phony {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(target) + `:`).Match(mk) {
			t.Errorf("make %s: .PHONY but no rule", target)
		}
	}
}
