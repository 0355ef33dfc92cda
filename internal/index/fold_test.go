package index

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"unsafe"

	"github.com/signpost-go/signpost/internal/links"
)

func testIndex(t *testing.T, n int) *Index {
	t.Helper()
	ix := New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	for i := 0; i < n; i++ {
		if err := ix.Put(links.Link{Key: fmt.Sprintf("k%d", i), URL: fmt.Sprintf("https://%d.example", i)}); err != nil {
			t.Fatal(err)
		}
	}
	ix.fold()
	return ix
}

func target(ix *Index, key string) string {
	if e, ok := ix.Lookup(key); ok {
		return e.Target.String()
	}
	return ""
}

// Changes land in the overlay, lookups see them at once, and a fold moves
// them into the base table without changing what any lookup answers.
func TestOverlayAndFold(t *testing.T) {
	ix := testIndex(t, 100)
	if s := ix.cur.Load(); s.over.len != 0 || s.base.n != 100 {
		t.Fatalf("after a fold: overlay %d, base %d", s.over.len, s.base.n)
	}
	ix.folding.Lock() // the scheduled fold waits until the overlay is checked
	ix.Put(links.Link{Key: "k1", URL: "https://changed.example"})
	ix.Put(links.Link{Key: "new", URL: "https://new.example"})
	ix.Remove("k2")
	ix.Remove("absent")
	ix.Put(links.Link{Key: "k3", URL: "https://gone-then-back.example"})
	ix.Remove("k3")
	ix.Put(links.Link{Key: "k3", URL: "https://back.example"})
	want := map[string]string{"k0": "https://0.example", "k1": "https://changed.example", "k2": "",
		"new": "https://new.example", "k3": "https://back.example", "absent": ""}
	for _, phase := range []string{"overlay", "folded"} {
		if phase == "folded" {
			if ix.cur.Load().over.len == 0 {
				t.Fatal("the changes were folded before the test folded them")
			}
			ix.folding.Unlock()
			ix.fold()
			if s := ix.cur.Load(); s.over.len != 0 {
				t.Fatalf("fold left %d changes in the overlay", s.over.len)
			}
		}
		for k, w := range want {
			if got := target(ix, k); got != w {
				t.Errorf("%s: %s → %q, want %q", phase, k, got, w)
			}
		}
		if ix.Len() != 100 {
			t.Errorf("%s: Len %d, want 100", phase, ix.Len())
		}
	}
}

// Writes published while a fold copies the base map are not lost: the
// fold applies the overlay it finds under the publish lock.
func TestFoldRacesWrites(t *testing.T) {
	ix := testIndex(t, 2000)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Go(func() {
			for i := 0; i < 200; i++ {
				k := fmt.Sprintf("k%d", w*200+i)
				if i%2 == 0 {
					ix.Remove(k)
				} else {
					ix.Put(links.Link{Key: k, URL: "https://w.example/" + k})
				}
			}
		})
		wg.Go(func() {
			for i := 0; i < 20; i++ {
				ix.fold()
			}
		})
	}
	wg.Wait()
	ix.fold()
	for i := 0; i < 2000; i++ {
		k := fmt.Sprintf("k%d", i)
		want := fmt.Sprintf("https://%d.example", i)
		if i < 800 {
			want = ""
			if i%200%2 == 1 {
				want = "https://w.example/" + k
			}
		}
		if got := target(ix, k); got != want {
			t.Fatalf("%s → %q, want %q", k, got, want)
		}
	}
	if ix.Len() != 1600 {
		t.Fatalf("Len %d, want 1600", ix.Len())
	}
}

// A large burst of changes is folded without waiting for the delay.
func TestLargeOverlayFoldsAtOnce(t *testing.T) {
	ix := testIndex(t, 0)
	for i := 0; i < foldNow; i++ {
		ix.Put(links.Link{Key: fmt.Sprintf("k%d", i), URL: "https://x.example"})
	}
	ix.folding.Lock() // waits for the fold the last Put started, if still running
	ix.folding.Unlock()
	ix.fold() // and runs it, had it not started yet
	if s := ix.cur.Load(); s.over.len != 0 || s.base.n != foldNow {
		t.Fatalf("overlay %d, base %d", s.over.len, s.base.n)
	}
}

func TestFoldDelay(t *testing.T) {
	for _, tc := range []struct {
		links int
		want  string
	}{{0, "1s"}, {10_000, "1s"}, {250_000, "2s"}, {1_000_000, "10s"}, {5_000_000, "10s"}} {
		if got := foldDelay(tc.links).String(); got != tc.want {
			t.Errorf("foldDelay(%d) = %s, want %s", tc.links, got, tc.want)
		}
	}
}

// An entry is allocated per link: at 64 bytes it takes the 64-byte size
// class (a million links: 16 MB less than the 80-byte class next up).
func TestEntrySize(t *testing.T) {
	if n := unsafe.Sizeof(Entry{}); n > 64 {
		t.Errorf("Entry is %d bytes; keep it within 64 (links.Target's fields are most of it)", n)
	}
}
