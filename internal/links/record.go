package links

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"sort"
	"strings"
	"time"
)

// Record is a link as the JSON API and export files show it.
type Record struct {
	Name          string     `json:"name"`
	URL           string     `json:"url"`
	AliasOf       string     `json:"alias_of"`          // "" when not an alias
	Aliases       []string   `json:"aliases,omitempty"` // only for one link's GET
	Description   string     `json:"description"`
	Owner         string     `json:"owner"`
	Tags          []string   `json:"tags"`
	Version       int64      `json:"version"`
	Clicks        int64      `json:"clicks"`
	LastClickedAt *time.Time `json:"last_clicked_at"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// ToRecord returns l as a Record.
func ToRecord(l Link) Record {
	r := Record{Name: l.Name, URL: l.URL, AliasOf: l.AliasOf, Aliases: l.Aliases, Description: l.Description, Owner: l.Owner, Tags: TagList(l.Tags),
		Version: l.Version, Clicks: l.Clicks, CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt}
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
	AliasOf       string     `json:"alias_of"`
	Description   string     `json:"description"`
	Owner         string     `json:"owner"`
	Tags          []string   `json:"tags"`
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

// maxLineErrors bounds how many bad lines an import lists; it still counts
// them all.
const maxLineErrors = 100

// LineError is one bad line of an import.
type LineError struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// LineErrors are the bad lines of an import (at most the first 100), and
// how many there were in all. ReadNDJSON's Invalid error wraps them.
type LineErrors struct {
	Lines []LineError
	Total int
}

func (e *LineErrors) Error() string {
	var b strings.Builder
	if e.Total == 1 {
		b.WriteString("1 bad line, nothing was imported: ")
	} else {
		fmt.Fprintf(&b, "%d bad lines, nothing was imported: ", e.Total)
	}
	for i, l := range e.Lines {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "line %d: %s", l.Line, l.Reason)
	}
	if n := e.Total - len(e.Lines); n > 0 {
		fmt.Fprintf(&b, "; and %d more", n)
	}
	return b.String()
}

func (e *LineErrors) add(line int, reason string) {
	e.Total++
	if len(e.Lines) < maxLineErrors {
		e.Lines = append(e.Lines, LineError{line, reason})
	}
}

// ReadNDJSON reads and validates one link per line. Blank lines are skipped.
// Every bad line is reported (its number and why), and any bad line fails
// the whole read, so an import is all or nothing: the error is Invalid and
// wraps a *LineErrors. progress, when set, is told the bytes read so far.
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
// valid line's link while every line so far was good. Once a line is bad
// it yields no more links but reads on to the end, so that the one error
// it then yields (Invalid, wrapping a *LineErrors) lists every bad line;
// the importer rolls back on it, so nothing is stored. It keeps only the
// keys seen, to refuse a name that repeats.
func ScanNDJSON(r io.Reader, now time.Time, progress func(n int64)) iter.Seq2[Link, error] {
	return ScanNDJSONWith(r, now, progress, nil)
}

// AliasLookup tells an import about a stored link: whether key exists, and
// the name of the link it is an alias of ("" when none).
type AliasLookup func(key string) (aliasOf string, found bool, err error)

// ScanNDJSONWith is ScanNDJSON that also checks, once every line is read,
// each alias line's target: in the file (in any order) or, through lookup
// (nil: only in the file; the store refuses what is missing), stored; and
// no alias of an alias. Those bad lines are listed with the others. It
// keeps the alias lines' targets (few) besides the keys.
func ScanNDJSONWith(r io.Reader, now time.Time, progress func(n int64), lookup AliasLookup) iter.Seq2[Link, error] {
	type aliasLine struct {
		n            int
		name, target string
	}
	return func(yield func(Link, error) bool) {
		br := bufio.NewReaderSize(r, 64<<10)
		var bad LineErrors
		seen := map[string]int{}
		var aliases []aliasLine
		aliasOf := map[string]string{} // the alias lines' keys and their targets' keys
		var read int64
		for n := 1; ; n++ {
			b, size, tooLong, err := readLine(br)
			read += int64(size)
			if progress != nil {
				progress(read)
			}
			if err != nil && !errors.Is(err, io.EOF) {
				var le *Error
				if !errors.As(err, &le) {
					err = Wrap(err, Invalid, "reading import: "+err.Error())
				}
				yield(Link{}, err)
				return
			}
			switch l, reason := parseLine(b, tooLong, now); {
			case reason == "blank":
			case reason != "":
				bad.add(n, reason)
			default:
				if prev, ok := seen[l.Key]; ok {
					bad.add(n, fmt.Sprintf("name %q repeats line %d", l.Name, prev))
					break
				}
				seen[l.Key] = n
				if l.IsAlias() {
					aliases = append(aliases, aliasLine{n, l.Name, l.AliasOf})
					aliasOf[l.Key] = Normalize(l.AliasOf)
				}
				if bad.Total == 0 && !yield(l, nil) {
					return
				}
			}
			if err != nil { // io.EOF
				break
			}
		}
		// An alias of an alias (golink resolves such chains hop by hop)
		// is stored as an alias of the chain's end: the same answers.
		for _, a := range aliases {
			if reason, err := aliasEnd(a.name, a.target, seen, aliasOf, lookup); err != nil {
				yield(Link{}, err)
				return
			} else if reason != "" {
				bad.add(a.n, reason)
			}
		}
		sort.SliceStable(bad.Lines, func(i, j int) bool { return bad.Lines[i].Line < bad.Lines[j].Line })
		if bad.Total > 0 {
			yield(Link{}, Wrap(&bad, Invalid, bad.Error()))
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

// readLine returns the next line (without its newline) and the bytes it
// took, or, for a line longer than MaxImportLine, nothing and tooLong
// after skipping it.
func readLine(br *bufio.Reader) (line []byte, size int, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		size += len(chunk)
		if !tooLong {
			if len(line)+len(chunk) > MaxImportLine+1 {
				tooLong, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimSuffix(line, []byte("\n")), size, tooLong, err
	}
}

// parseLine reads one line into a validated link, or says why it is bad
// ("blank" for a blank line).
func parseLine(b []byte, tooLong bool, now time.Time) (Link, string) {
	if tooLong {
		return Link{}, fmt.Sprintf("longer than %d bytes", MaxImportLine)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return Link{}, "blank"
	}
	var in importLine
	if err := json.Unmarshal(b, &in); err != nil {
		return Link{}, "not a JSON object: " + jsonErr(err)
	}
	l := Link{Name: in.Name, URL: in.URL, AliasOf: in.AliasOf, Description: in.Description, Owner: in.Owner, Clicks: in.Clicks}
	if l.Name == "" && in.Short != "" {
		l.Name, l.URL = in.Short, in.Long
		if strings.HasPrefix(l.URL, "/") && !strings.HasPrefix(l.URL, "//") {
			// golink's relative target: a link on golink itself.
			target, ok := golinkAlias(l.URL)
			if !ok {
				return Link{}, fmt.Sprintf("golink link %q has the relative target %q; only /NAME (golink's alias form) imports, as an alias of go/NAME", in.Short, in.Long)
			}
			l.URL, l.AliasOf = "", target
		}
	}
	l.Key = Normalize(l.Name)
	if l.Clicks < 0 || l.Clicks > MaxClicks {
		return Link{}, fmt.Sprintf("clicks must be from 0 to %d, not %d", int64(MaxClicks), l.Clicks)
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
			return Link{}, fmt.Sprintf("%s %s is outside the years 1970 to 9999", t.name, t.v.Format(time.RFC3339))
		}
		*t.dst = t.v.UTC()
	}
	tags, err := NormalizeTags(in.Tags)
	if err != nil {
		return Link{}, ErrorMessage(err)
	}
	l.Tags = tags
	if _, err := Validate(l); err != nil {
		return Link{}, ErrorMessage(err)
	}
	return l, ""
}

// aliasEnd follows an alias line's target through the file's alias lines
// (aliasOf) and, past them, the stored links (lookup; nil: not checked),
// and says why the line is bad: a target that is nowhere, or a cycle.
func aliasEnd(name, target string, seen map[string]int, aliasOf map[string]string, lookup AliasLookup) (string, error) {
	k := Normalize(target)
	for steps := 0; ; steps++ {
		next, ok := aliasOf[k]
		if !ok {
			break
		}
		if steps > len(aliasOf) {
			return fmt.Sprintf("go/%s is an alias of go/%s, and its aliases lead round in a circle", name, target), nil
		}
		k = next
	}
	if _, inFile := seen[k]; inFile || lookup == nil {
		return "", nil
	}
	_, found, err := lookup(k)
	if err != nil || found {
		return "", err
	}
	if k == Normalize(target) {
		return fmt.Sprintf("go/%s is an alias of go/%s, which is neither in this file nor stored", name, target), nil
	}
	return fmt.Sprintf("go/%s is an alias of go/%s, an alias of go/%s, which is neither in this file nor stored", name, target, k), nil
}

// golinkAlias returns NAME for golink's alias form "/NAME" (or "/NAME/"):
// go/NAME with nothing of its own added, which golink redirects to
// relative and then resolves like NAME, path and query passed through.
func golinkAlias(long string) (string, bool) {
	name := strings.TrimSuffix(strings.TrimPrefix(long, "/"), "/")
	if name == "" || strings.ContainsAny(name, "/?#{}%") || ValidateName(name) != nil {
		return "", false
	}
	return name, true
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
