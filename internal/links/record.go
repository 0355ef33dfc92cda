package links

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
// line number, so an import is all or nothing; a failed read (a body cut
// off at its size limit, say) fails it with that error, never with the
// cut-off line's. progress, when set, is told the bytes read so far.
func ReadNDJSON(r io.Reader, now time.Time, progress func(n int64)) ([]Link, error) {
	er := &errReader{r: r}
	sc := bufio.NewScanner(er)
	sc.Buffer(make([]byte, 64<<10), MaxImportLine)
	var out []Link
	seen := map[string]int{}
	var read int64
	n := 0
	for sc.Scan() {
		if er.err != nil {
			// The scanner hands out what it buffered before the error as
			// a last line, which may be cut anywhere.
			break
		}
		n++
		b := sc.Bytes()
		read += int64(len(b)) + 1
		if progress != nil {
			progress(read)
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		l, err := parseLine(b, now)
		if err != nil {
			return nil, Errorf(Invalid, "line %d: %s", n, ErrorMessage(err))
		}
		if prev, ok := seen[l.Key]; ok {
			return nil, Errorf(Invalid, "line %d: name %q repeats line %d", n, l.Name, prev)
		}
		seen[l.Key] = n
		out = append(out, l)
	}
	err := sc.Err()
	if er.err != nil {
		err = er.err
	}
	if err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, Errorf(Invalid, "line %d: longer than %d bytes", n+1, MaxImportLine)
		}
		var le *Error
		if errors.As(err, &le) {
			return nil, err
		}
		return nil, Wrap(err, Invalid, "reading import: "+err.Error())
	}
	return out, nil
}

// errReader remembers the first error other than io.EOF its reader gave.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// parseLine decodes and validates one line. Numbers and times are
// range-checked: one line must never be able to store a value that a
// backend or a later click flush cannot represent.
func parseLine(b []byte, now time.Time) (Link, error) {
	var in importLine
	if err := json.Unmarshal(b, &in); err != nil {
		return Link{}, Errorf(Invalid, "not a JSON object: %s", jsonErr(err))
	}
	l := Link{Name: in.Name, URL: in.URL, Description: in.Description, Owner: in.Owner, Clicks: in.Clicks}
	if l.Name == "" && in.Short != "" {
		l.Name, l.URL = in.Short, in.Long
	}
	l.Key = Normalize(l.Name)
	if l.Clicks < 0 || l.Clicks > MaxClicks {
		return Link{}, Errorf(Invalid, "clicks must be from 0 to %d, not %d", int64(MaxClicks), l.Clicks)
	}
	l.CreatedAt, l.UpdatedAt = now, now
	times := []struct {
		name string
		v    *time.Time
		dst  *time.Time
	}{
		{"created_at", in.CreatedAt, &l.CreatedAt}, {"Created", in.Created, &l.CreatedAt},
		{"updated_at", in.UpdatedAt, &l.UpdatedAt}, {"LastEdit", in.LastEdit, &l.UpdatedAt},
		{"last_clicked_at", in.LastClickedAt, &l.LastClickedAt},
	}
	for _, t := range times {
		if t.v == nil || t.v.IsZero() { // Go's zero time: an exporter's "never"
			continue
		}
		if t.v.Before(MinTime) || !t.v.Before(MaxTime) {
			return Link{}, Errorf(Invalid, "%s %s is outside the years 1970 to 9999", t.name, t.v.Format(time.RFC3339))
		}
		*t.dst = t.v.UTC()
	}
	if _, err := Validate(l); err != nil {
		return Link{}, err
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
