package links

import (
	"fmt"
	"unicode"
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
// go/Foo-Bar and go/foobar are the same link. It is AppendKey into a stack
// buffer, and allocates only when the key differs from the name.
func Normalize(name string) string {
	var buf [MaxNameLen]byte
	k := AppendKey(buf[:0], name)
	if string(k) == name {
		return name
	}
	return string(k)
}

// AppendKey appends Normalize(name) to dst: the one definition of the key
// rule (ASCII letters folded to lower case, '-' dropped, every other byte
// kept). With a stack buffer as dst, a map lookup by
// string(AppendKey(buf[:0], name)) does not allocate.
func AppendKey(dst []byte, name string) []byte {
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
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
		return Errorf(Invalid, "name %q contains %s; use letters, digits, '-', '_' and '.'", name, describeRune(r))
	}
	if reserved[Normalize(name)] {
		return Errorf(Invalid, "name %q is reserved", name)
	}
	return nil
}

// describeRune names a character as a person reads it: 'é', a space, or
// the invisible character U+202E (not Go's '\u202e').
func describeRune(r rune) string {
	switch {
	case r == ' ':
		return "a space"
	case r == utf8.RuneError:
		return "a byte that is not UTF-8"
	case unicode.IsPrint(r):
		return "'" + string(r) + "'"
	default:
		return fmt.Sprintf("the invisible character %U", r)
	}
}

func isAlnum(c byte) bool {
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}
