package links

import (
	"slices"
	"strings"
	"unicode/utf8"
)

const (
	// MaxTags is the most tags one link may carry.
	MaxTags = 16
	// MaxTagLen is the longest tag, in bytes.
	MaxTagLen = 32
)

// NormalizeTags validates tags and returns their canonical form: lower
// case, sorted, without repeats, joined by single spaces. Each tag is 1–32
// letters, digits, '-', '_' or '.', starting with a letter or digit;
// elements may themselves hold several tags separated by commas or spaces
// (what a person types into one field).
func NormalizeTags(in []string) (string, error) {
	var out []string
	for _, s := range in {
		for _, t := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' }) {
			t = strings.ToLower(t)
			if len(t) > MaxTagLen {
				return "", Errorf(Invalid, "tag %.40q is %d characters long; the limit is %d", t, len(t), MaxTagLen)
			}
			if !isAlnum(t[0]) {
				return "", Errorf(Invalid, "tag %q must start with a letter or digit", t)
			}
			for _, r := range t {
				if r >= utf8.RuneSelf || !isAlnum(byte(r)) && r != '-' && r != '_' && r != '.' {
					return "", Errorf(Invalid, "tag %q contains %s; use letters, digits, '-', '_' and '.'", t, describeRune(r))
				}
			}
			out = append(out, t)
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > MaxTags {
		return "", Errorf(Invalid, "%d tags; a link may have at most %d", len(out), MaxTags)
	}
	return strings.Join(out, " "), nil
}

// TagList splits canonical tags into a list (never nil, so that JSON shows []).
func TagList(tags string) []string {
	if tags == "" {
		return []string{}
	}
	return strings.Split(tags, " ")
}

// ParseSearch splits what a person typed into a search box into the text
// query and the filters it names: tag:x (any number; all must match) and
// owner:x, as golink's search has it.
func ParseSearch(q string) ListOptions {
	var opt ListOptions
	var text []string
	for _, f := range strings.Fields(q) {
		switch {
		case strings.HasPrefix(f, "tag:") && len(f) > len("tag:"):
			opt.Tags = append(opt.Tags, strings.ToLower(f[len("tag:"):]))
		case strings.HasPrefix(f, "owner:") && len(f) > len("owner:"):
			opt.Owner = f[len("owner:"):]
		default:
			text = append(text, f)
		}
	}
	opt.Query = strings.Join(text, " ")
	return opt
}
