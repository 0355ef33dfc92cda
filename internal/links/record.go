package links

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"time"
)

// Record is a link as the JSON API and export files show it.
type Record struct {
	Name          string     `json:"name"`
	URL           string     `json:"url"`
	Description   string     `json:"description"`
	Owner         string     `json:"owner"`
	Clicks        int64      `json:"clicks"`
	LastClickedAt *time.Time `json:"last_clicked_at"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// ToRecord returns l as a Record.
func ToRecord(l Link) Record {
	r := Record{Name: l.Name, URL: l.URL, Description: l.Description, Owner: l.Owner,
		Clicks: l.Clicks, CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt}
	if !l.LastClickedAt.IsZero() {
		t := l.LastClickedAt
		r.LastClickedAt = &t
	}
	return r
}

// importLine accepts Signpost's own export lines and tailscale/golink's
// ({"Short","Long","Created","LastEdit","Owner"}).
type importLine struct {
	Name          string     `json:"name"`
	URL           string     `json:"url"`
	Description   string     `json:"description"`
	Owner         string     `json:"owner"`
	Clicks        int64      `json:"clicks"`
	LastClickedAt *time.Time `json:"last_clicked_at"`
	CreatedAt     *time.Time `json:"created_at"`
	UpdatedAt     *time.Time `json:"updated_at"`

	Short    string     `json:"Short"`
	Long     string     `json:"Long"`
	Created  *time.Time `json:"Created"`
	LastEdit *time.Time `json:"LastEdit"`
}

// MaxImportLine is the longest NDJSON line accepted.
const MaxImportLine = 256 << 10

// ReadNDJSON reads and validates one link per line. Blank lines are skipped.
// The first bad line fails the whole read with an Invalid error naming its
// line number, so an import is all or nothing. progress, when set, is told
// the bytes read so far.
func ReadNDJSON(r io.Reader, now time.Time, progress func(n int64)) ([]Link, error) {
	var out []Link
	for l, err := range ScanNDJSON(r, now, progress) {
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// ScanNDJSON is ReadNDJSON one link at a time, for an import that streams
// into its transaction instead of holding every link: it yields each
// valid line's link, or the first error (and then stops). It keeps only
// the keys seen, to refuse a name that repeats.
func ScanNDJSON(r io.Reader, now time.Time, progress func(n int64)) iter.Seq2[Link, error] {
	return func(yield func(Link, error) bool) {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), MaxImportLine)
		seen := map[string]int{}
		var read int64
		n := 0
		fail := func(err error) { yield(Link{}, err) }
		for sc.Scan() {
			n++
			b := sc.Bytes()
			read += int64(len(b)) + 1
			if progress != nil {
				progress(read)
			}
			if len(bytes.TrimSpace(b)) == 0 {
				continue
			}
			l, err := parseLine(b, n, now)
			if err != nil {
				fail(err)
				return
			}
			if prev, ok := seen[l.Key]; ok {
				fail(Errorf(Invalid, "line %d: name %q repeats line %d", n, l.Name, prev))
				return
			}
			seen[l.Key] = n
			if !yield(l, nil) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			if errors.Is(err, bufio.ErrTooLong) {
				fail(Errorf(Invalid, "line %d: longer than %d bytes", n+1, MaxImportLine))
				return
			}
			var le *Error
			if errors.As(err, &le) {
				fail(err)
				return
			}
			fail(Wrap(err, Invalid, "reading import: "+err.Error()))
		}
	}
}

// All yields the links of a slice, for Store.Import.
func All(ls []Link) iter.Seq2[Link, error] {
	return func(yield func(Link, error) bool) {
		for _, l := range ls {
			if !yield(l, nil) {
				return
			}
		}
	}
}

func parseLine(b []byte, n int, now time.Time) (Link, error) {
	var in importLine
	if err := json.Unmarshal(b, &in); err != nil {
		return Link{}, Errorf(Invalid, "line %d: not a JSON object: %s", n, jsonErr(err))
	}
	l := Link{Name: in.Name, URL: in.URL, Description: in.Description, Owner: in.Owner, Clicks: in.Clicks}
	if l.Name == "" && in.Short != "" {
		l.Name, l.URL = in.Short, in.Long
	}
	l.Key = Normalize(l.Name)
	l.CreatedAt, l.UpdatedAt = now, now
	for _, t := range []*time.Time{in.CreatedAt, in.Created} {
		if t != nil {
			l.CreatedAt = t.UTC()
		}
	}
	for _, t := range []*time.Time{in.UpdatedAt, in.LastEdit} {
		if t != nil {
			l.UpdatedAt = t.UTC()
		}
	}
	if in.LastClickedAt != nil {
		l.LastClickedAt = in.LastClickedAt.UTC()
	}
	if l.Clicks < 0 {
		return Link{}, Errorf(Invalid, "line %d: clicks must not be negative", n)
	}
	if _, err := Validate(l); err != nil {
		return Link{}, Errorf(Invalid, "line %d: %s", n, ErrorMessage(err))
	}
	return l, nil
}

func jsonErr(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("%v at byte %d", se, se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q must be a %s", te.Field, te.Type)
	}
	return err.Error()
}
