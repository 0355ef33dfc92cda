package ops

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signpost-go/signpost/internal/buildinfo"
)

// upload is one profile pushed to the recording Pyroscope stand-in.
type upload struct {
	query       url.Values
	user, pass  string
	sampleTypes []string // from the pprof profile itself
	config      map[string]struct {
		DisplayName string `json:"display-name"`
	}
}

// pyroscopeRecorder is a local HTTP endpoint that accepts pushes the way a
// Pyroscope server does (POST /ingest, multipart) and keeps them.
type pyroscopeRecorder struct {
	t       *testing.T
	mu      sync.Mutex
	uploads []upload
}

func (p *pyroscopeRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != "POST" || r.URL.Path != "/ingest" {
		p.t.Errorf("unexpected push %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	u := upload{query: r.URL.Query()}
	u.user, u.pass, _ = r.BasicAuth()
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		p.t.Errorf("push is not multipart: %v", err)
		return
	}
	if fs := r.MultipartForm.File["profile"]; len(fs) == 1 {
		f, _ := fs[0].Open()
		raw, _ := io.ReadAll(f)
		f.Close()
		types, err := pprofSampleTypes(raw)
		if err != nil {
			p.t.Errorf("pushed profile does not parse: %v", err)
		}
		u.sampleTypes = types
	} else {
		p.t.Errorf("push has %d profile parts", len(fs))
	}
	if fs := r.MultipartForm.File["sample_type_config"]; len(fs) == 1 {
		f, _ := fs[0].Open()
		if err := json.NewDecoder(f).Decode(&u.config); err != nil {
			p.t.Errorf("sample_type_config: %v", err)
		}
		f.Close()
	}
	p.mu.Lock()
	p.uploads = append(p.uploads, u)
	p.mu.Unlock()
}

func TestProfilingOffByDefault(t *testing.T) {
	before := runtime.SetMutexProfileFraction(-1)
	p, err := StartProfiling(ProfilingOptions{Server: ""})
	if err != nil || p != nil {
		t.Fatalf("StartProfiling without a server = %v, %v; want nil, nil", p, err)
	}
	if got := runtime.SetMutexProfileFraction(-1); got != before {
		t.Errorf("mutex profile fraction changed to %d with profiling off", got)
	}
	p.Stop(time.Second) // a nil Profiler's Stop is a no-op
}

func TestProfilingPushesTheTenProfileTypes(t *testing.T) {
	rec := &pyroscopeRecorder{t: t}
	ts := httptest.NewServer(rec)
	defer ts.Close()
	server := strings.Replace(ts.URL, "http://", "http://tenant:s3cret@", 1)

	var logs bytes.Buffer
	p, err := StartProfiling(ProfilingOptions{Server: server, Env: "staging", Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if got := runtime.SetMutexProfileFraction(-1); got != mutexFraction {
		t.Errorf("mutex profile fraction while profiling = %d, want %d", got, mutexFraction)
	}
	if strings.Contains(logs.String(), "s3cret") {
		t.Errorf("the profiling server's password was logged: %s", logs.String())
	}
	// Something to profile: CPU, allocations, a contended mutex.
	var mu sync.Mutex
	var wg sync.WaitGroup
	sink := 0
	deadline := time.Now().Add(300 * time.Millisecond)
	for range 2 {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				mu.Lock()
				b := make([]byte, 1024)
				sink += len(b)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	p.Stop(20 * time.Second) // pushes what was profiled since start

	if got := runtime.SetMutexProfileFraction(-1); got != 0 {
		t.Errorf("mutex profile fraction after Stop = %d, want 0", got)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.uploads) == 0 {
		t.Fatal("nothing was pushed")
	}
	seen := map[string]bool{}
	for _, u := range rec.uploads {
		name := u.query.Get("name")
		if !strings.HasPrefix(name, "signpost{") || !strings.Contains(name, "env=staging") || !strings.Contains(name, "version="+buildinfo.Get().Version) {
			t.Errorf("push name %q lacks the app name or the env/version tags", name)
		}
		if u.user != "tenant" || u.pass != "s3cret" {
			t.Errorf("push basic auth = %q:%q, want the URL's user and password", u.user, u.pass)
		}
		// The pprof's own sample types; where a config renames them
		// (mutex and block both say contentions/delay), the display name.
		for _, st := range u.sampleTypes {
			if c, ok := u.config[st]; ok && c.DisplayName != "" {
				st = c.DisplayName
			}
			seen[st] = true
		}
	}
	// The ten profile types, as the pushed profiles name them.
	want := map[string]string{
		"cpu": "cpu", "alloc_objects": "alloc_objects", "alloc_space": "alloc_space",
		"inuse_objects": "inuse_objects", "inuse_space": "inuse_space", "goroutines": "goroutines",
		"mutex_count": "mutex_count", "mutex_duration": "mutex_duration",
		"block_count": "block_count", "block_duration": "block_duration",
	}
	var missing []string
	for typ, st := range want {
		if !seen[st] {
			missing = append(missing, typ)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		var got []string
		for k := range seen {
			got = append(got, k)
		}
		slices.Sort(got)
		t.Errorf("profile types not pushed: %v (pushed sample types: %v)", missing, got)
	}
	if len(ProfileTypes) != 10 {
		t.Errorf("ProfileTypes has %d entries, want 10", len(ProfileTypes))
	}
}

// pprofSampleTypes reads the sample types ("cpu", "alloc_space", ...) of a
// gzipped pprof profile: the fields sample_type (1) and string_table (6)
// of perftools.profiles.Profile, decoded by hand to need no dependency.
func pprofSampleTypes(raw []byte) ([]string, error) {
	if zr, err := gzip.NewReader(bytes.NewReader(raw)); err == nil {
		if raw, err = io.ReadAll(zr); err != nil {
			return nil, err
		}
	}
	var typeIdx []uint64
	var strs []string
	err := protoFields(raw, func(field int, v uint64, b []byte) error {
		switch field {
		case 1: // ValueType{type=1, unit=2}
			return protoFields(b, func(f int, v uint64, _ []byte) error {
				if f == 1 {
					typeIdx = append(typeIdx, v)
				}
				return nil
			})
		case 6:
			strs = append(strs, string(b))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, i := range typeIdx {
		if int(i) < len(strs) {
			out = append(out, strs[i])
		}
	}
	return out, nil
}

// protoFields calls fn for each field of a protobuf message: varints with v,
// length-delimited fields with b.
func protoFields(b []byte, fn func(field int, v uint64, b []byte) error) error {
	varint := func() (uint64, bool) {
		var x uint64
		for s := 0; s < 64 && len(b) > 0; s += 7 {
			c := b[0]
			b = b[1:]
			x |= uint64(c&0x7f) << s
			if c < 0x80 {
				return x, true
			}
		}
		return 0, false
	}
	for len(b) > 0 {
		key, ok := varint()
		if !ok {
			return io.ErrUnexpectedEOF
		}
		field := int(key >> 3)
		switch key & 7 {
		case 0:
			v, ok := varint()
			if !ok {
				return io.ErrUnexpectedEOF
			}
			if err := fn(field, v, nil); err != nil {
				return err
			}
		case 1:
			if len(b) < 8 {
				return io.ErrUnexpectedEOF
			}
			b = b[8:]
		case 2:
			n, ok := varint()
			if !ok || uint64(len(b)) < n {
				return io.ErrUnexpectedEOF
			}
			if err := fn(field, 0, b[:n]); err != nil {
				return err
			}
			b = b[n:]
		case 5:
			if len(b) < 4 {
				return io.ErrUnexpectedEOF
			}
			b = b[4:]
		default:
			return io.ErrUnexpectedEOF
		}
	}
	return nil
}

// BenchmarkRedirectPyroscopeOff and BenchmarkRedirectPyroscopeOn run the
// instrumented redirect handler on every core, without and with continuous
// profiling (all ten types, pushed every second, to a local sink: 15x the
// production upload rate, so the figure is an upper bound):
//
//	go test -run XXX -bench 'RedirectPyroscope' -count 6 ./internal/ops/
func BenchmarkRedirectPyroscopeOff(b *testing.B) { benchPyroscope(b, false) }

func BenchmarkRedirectPyroscopeOn(b *testing.B) { benchPyroscope(b, true) }

func benchPyroscope(b *testing.B, on bool) {
	if on {
		sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }))
		defer sink.Close()
		p, err := StartProfiling(ProfilingOptions{Server: sink.URL, Env: "bench", UploadRate: time.Second})
		if err != nil {
			b.Fatal(err)
		}
		defer p.Stop(0)
	}
	m := NewMetrics(MetricsOptions{Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	benchParallel(b, m.Instrument(redirectHandler()))
}
