package links

import (
	"strings"
	"unicode/utf8"
)

// MaxNameLen is the longest name accepted.
const MaxNameLen = 100

// reserved are the keys of the paths Signpost serves itself at the top
// level, /healthz, /readyz and /metrics: a link of that name could never be
// reached. (The UI is under /-/, which no name can start with, and the API
// under /api/v1/ only, so a link called api works at go/api; see
// web.isLinkPath.)
var reserved = map[string]bool{"healthz": true, "readyz": true, "metrics": true}

// Normalize returns the lookup key of a name: lower case, without '-'.
// go/Foo-Bar and go/foobar are the same link.
func Normalize(name string) string {
	// Fast path for names that are already keys: no allocation.
	clean := true
	for i := 0; i < len(name); i++ {
		if c := name[i]; c == '-' || ('A' <= c && c <= 'Z') || c >= 0x80 {
			clean = false
			break
		}
	}
	if clean {
		return name
	}
	var b strings.Builder
	b.Grow(len(name))
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-':
		case 'A' <= c && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// AppendKey appends Normalize(name) to dst. With a stack buffer as dst,
// a map lookup by string(AppendKey(buf[:0], name)) does not allocate.
func AppendKey(dst []byte, name string) []byte {
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-':
		case 'A' <= c && c <= 'Z':
			dst = append(dst, c+'a'-'A')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// ValidateName reports whether name may be used for a link: 1–100 letters,
// digits, '-', '_' or '.', starting with a letter, digit or '_' (golink's
// rule, `^\w[\w\-\.]*$`), and not reserved. Its messages quote characters,
// not bytes (café says 'é', not 'Ã').
func ValidateName(name string) error {
	if name == "" {
		return Errorf(Invalid, "name is required")
	}
	if n := utf8.RuneCountInString(name); n > MaxNameLen {
		return Errorf(Invalid, "name is %d characters long; the limit is %d", n, MaxNameLen)
	}
	for i, r := range name {
		if r < utf8.RuneSelf && (isAlnum(byte(r)) || r == '_' || i > 0 && (r == '-' || r == '.')) {
			continue
		}
		if i == 0 {
			return Errorf(Invalid, "name %q must start with a letter, digit or '_'", name)
		}
		return Errorf(Invalid, "name %q contains %q; use letters, digits, '-', '_' and '.'", name, r)
	}
	if reserved[Normalize(name)] {
		return Errorf(Invalid, "name %q is reserved", name)
	}
	return nil
}

func isAlnum(c byte) bool {
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}
