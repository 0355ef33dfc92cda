package links

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"
	"time"
	"unicode/utf8"
)

// The bounds of a template target. Anyone who may save a link writes code
// that every redirect through it runs, so each bound holds whatever the
// template and the request are (docs/security.md lists them):
//
//   - no loops and no template calls: each node runs at most once, so the
//     number of steps is bounded by the template's size (8 KiB);
//   - every value a function returns, and the expansion itself, is at most
//     MaxURLLen bytes; the request's path, query and user given to the
//     template too;
//   - all function calls of one expansion together read and write at most
//     MaxExpandWork bytes (Match counts its input times its pattern's
//     size) and produce at most MaxExpandAlloc bytes;
//   - printf asks for widths and precisions of at most MaxFormatWidth;
//   - Match patterns are constants, compiled once when the target is
//     parsed, of at most MaxPatternLen bytes and MaxPatternInsts
//     instructions; within the work bound Go's regexp then always uses its
//     backtracker, which visits each (instruction, byte) pair at most once:
//     the whole bound costs about a millisecond;
//   - .Now.Format takes a constant layout (its output is then bounded by
//     the template's size);
//   - an expansion stops after MaxExpandTime, or when its request ends.
const (
	MaxExpandTime   = 100 * time.Millisecond
	MaxExpandWork   = 1 << 18
	MaxExpandAlloc  = 64 << 10
	MaxFormatWidth  = 99
	MaxPatternLen   = 1 << 10
	MaxPatternInsts = 500
)

// pattern is a compiled Match pattern and the size of its program, which
// bounds the cost of one match per input byte.
type pattern struct {
	re    *regexp.Regexp
	insts int
}

// funcNames names every function a template may call, for the parser:
// text/template's builtins and expansion.funcs. Only the names matter (a
// runner binds the functions; the parser wants any non-nil value); the map
// is never changed.
var funcNames = func() map[string]any {
	m := map[string]any{}
	for _, name := range []string{"and", "call", "html", "index", "slice", "js", "len", "not", "or",
		"print", "printf", "println", "urlquery", "eq", "ge", "gt", "le", "lt", "ne"} {
		m[name] = true
	}
	for name := range (&expansion{}).funcs() {
		m[name] = true
	}
	return m
}()

// parseTemplate parses raw with text/template's parser and keeps only the
// parse tree: no template, no function maps of its own. A text/template
// per link (its maps of function values, a clone per runner) cost ~3 KB
// of heap per template link; the tree is what the template says, and the
// runners, shared by every target, execute it.
func (t *Target) parseTemplate(raw string) error {
	trees, err := parse.Parse("url", raw, "", "", funcNames)
	if err != nil {
		return Wrap(err, Invalid, "url template does not parse: "+trimTemplateErr(err))
	}
	if len(trees) > 1 {
		return Errorf(Invalid, "url template may not define other templates")
	}
	tree := trees["url"]
	var c checker
	if err := c.node(tree.Root); err != nil {
		return err
	}
	*t = Target{raw: raw, more: &more{urlTemplate: urlTemplate{tree: tree, patterns: c.patterns, usesQuery: usesField(tree.Root, "Query")}}}
	return nil
}

// checker walks a parsed template and refuses what could escape the
// bounds: loops, template calls, Match without a constant pattern (or with
// one too large to run on every redirect), printf widths that allocate,
// Format without a constant layout.
type checker struct {
	patterns map[string]*pattern
}

func (c *checker) node(n parse.Node) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, sub := range n.Nodes {
			if err := c.node(sub); err != nil {
				return err
			}
		}
	case *parse.ActionNode:
		return c.pipe(n.Pipe)
	case *parse.IfNode:
		return errors.Join(c.pipe(n.Pipe), c.node(n.List), c.node(n.ElseList))
	case *parse.WithNode:
		return errors.Join(c.pipe(n.Pipe), c.node(n.List), c.node(n.ElseList))
	case *parse.RangeNode:
		return Errorf(Invalid, "url template may not use range")
	case *parse.TemplateNode:
		return Errorf(Invalid, "url template may not call other templates")
	}
	return nil
}

func (c *checker) pipe(p *parse.PipeNode) error {
	if p == nil {
		return nil
	}
	for i, cmd := range p.Cmds {
		if err := c.command(cmd, i > 0); err != nil {
			return err
		}
	}
	return nil
}

// command checks one command; piped says that it gets the previous
// command's value as its last argument.
func (c *checker) command(cmd *parse.CommandNode, piped bool) error {
	for _, a := range cmd.Args {
		switch a := a.(type) {
		case *parse.PipeNode:
			if err := c.pipe(a); err != nil {
				return err
			}
		case *parse.ChainNode:
			if p, ok := a.Node.(*parse.PipeNode); ok {
				if err := c.pipe(p); err != nil {
					return err
				}
			}
		}
	}
	constArg := func() (string, bool) {
		if len(cmd.Args) < 2 {
			return "", false
		}
		s, ok := cmd.Args[1].(*parse.StringNode)
		if !ok {
			return "", false
		}
		return s.Text, true
	}
	var method string
	switch fn := cmd.Args[0].(type) {
	case *parse.IdentifierNode:
		switch fn.Ident {
		case "Match":
			p, ok := constArg()
			if !ok {
				return Errorf(Invalid, "url template: Match takes a constant pattern as its first argument, e.g. Match \"^[0-9]+$\" .Path")
			}
			return c.compile(p)
		case "printf":
			if f, ok := constArg(); ok {
				if _, err := scanFormat(f); err != nil {
					return err
				}
			}
		}
		return nil
	case *parse.FieldNode:
		method = fn.Ident[len(fn.Ident)-1]
	case *parse.VariableNode:
		method = fn.Ident[len(fn.Ident)-1]
	case *parse.ChainNode:
		method = fn.Field[len(fn.Field)-1]
	}
	if method == "Format" || method == "AppendFormat" {
		if _, ok := constArg(); !ok || piped || len(cmd.Args) != 2 {
			return Errorf(Invalid, "url template: %s takes one constant layout, e.g. .Now.Format \"2006-01-02\"", method)
		}
	}
	return nil
}

func (c *checker) compile(p string) error {
	if _, ok := c.patterns[p]; ok {
		return nil
	}
	if c.patterns == nil { // most templates match nothing: no map for them
		c.patterns = map[string]*pattern{}
	}
	if len(p) > MaxPatternLen {
		return Errorf(Invalid, "url template: a Match pattern is %d bytes long; the limit is %d", len(p), MaxPatternLen)
	}
	re, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return Errorf(Invalid, "url template: Match pattern %.60q does not compile: %s", p, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return Errorf(Invalid, "url template: Match pattern %.60q does not compile: %v", p, err)
	}
	if n := len(prog.Inst); n > MaxPatternInsts {
		return Errorf(Invalid, "url template: Match pattern %.60q is too large (%d instructions; the limit is %d)", p, n, MaxPatternInsts)
	}
	rx, err := regexp.Compile(p)
	if err != nil {
		return Errorf(Invalid, "url template: Match pattern %.60q does not compile: %v", p, err)
	}
	c.patterns[p] = &pattern{re: rx, insts: len(prog.Inst)}
	return nil
}

// trimTemplateErr keeps what text/template's error says about the
// template, without its Go framing: "template: url:1:20: executing "url"
// at <.Nope>: can't evaluate field Nope in type links.TemplateData"
// becomes "<.Nope>: there is no field Nope (a template sees .Path, .Query,
// .User and .Now)".
func trimTemplateErr(err error) string {
	msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "template: "), "url:")
	// The position (line:column): a URL template is one line.
	if i := strings.Index(msg, ": "); i > 0 && strings.Trim(msg[:i], "0123456789:") == "" {
		msg = msg[i+2:]
	}
	msg = strings.TrimPrefix(msg, `executing "url" at `)
	if i := strings.Index(msg, "can't evaluate field "); i >= 0 {
		field, _, _ := strings.Cut(msg[i+len("can't evaluate field "):], " ")
		msg = msg[:i] + "there is no field " + field + " (a template sees .Path, .Query, .User and .Now)"
	}
	return msg
}

// runner is a template whose functions account for one expansion at a
// time; it executes the parse tree of whichever target it is lent to.
type runner struct {
	tmpl *template.Template
	e    *expansion
}

// runners are the idle runners of every target: a free list, holding no
// state between expansions, so that there are as many runners as
// expansions run at once rather than one per template ever used.
var runners = sync.Pool{New: func() any {
	e := &expansion{}
	return &runner{tmpl: template.New("url").Option("missingkey=error").Funcs(e.funcs()), e: e}
}}

// execute runs the template on d within the bounds.
func (t *Target) execute(ctx context.Context, d TemplateData) (string, error) {
	r := runners.Get().(*runner)
	e := r.e
	e.ctx, e.deadline, e.work, e.alloc, e.out = ctx, time.Now().Add(MaxExpandTime), 0, 0, e.out[:0]
	e.patterns = t.more.patterns
	// Execution only reads the tree: targets share theirs with the
	// runners, concurrently.
	r.tmpl.Tree = t.more.tree
	err := r.tmpl.Execute(e, d)
	out := string(e.out)
	r.tmpl.Tree, e.ctx, e.patterns = nil, nil, nil
	runners.Put(r)
	if err != nil {
		var le *Error
		switch {
		case errors.As(err, &le):
			return "", le
		case errors.Is(err, errNoUser):
			return "", Errorf(Unauthorized, "this link needs to know who you are; sign in")
		case ctx.Err() != nil:
			return "", Wrap(ctx.Err(), Unavailable, "the request ended before the url template was expanded")
		}
		return "", Wrap(err, Invalid, "url template failed: "+trimTemplateErr(err))
	}
	return out, nil
}

// expansion is the state of one expansion: what its function calls have
// cost so far, and the output (it is the template's io.Writer).
type expansion struct {
	ctx         context.Context
	deadline    time.Time
	work, alloc int
	patterns    map[string]*pattern
	out         []byte
}

// check stops the expansion once its request ended or its time is up.
func (e *expansion) check() error {
	if e.ctx == nil { // parse time: funcs are never called
		return nil
	}
	if err := e.ctx.Err(); err != nil {
		return err
	}
	if time.Now().After(e.deadline) {
		return Errorf(TooLarge, "url template ran longer than %v, the limit", MaxExpandTime)
	}
	return nil
}

func (e *expansion) Write(p []byte) (int, error) {
	if err := e.check(); err != nil {
		return 0, err
	}
	if len(e.out)+len(p) > MaxURLLen {
		return 0, Errorf(TooLarge, "url template expands to more than %d bytes, the limit", MaxURLLen)
	}
	e.out = append(e.out, p...)
	return len(p), nil
}

// reserve refuses a call that could produce more than the expansion has
// left to allocate, before it allocates anything.
func (e *expansion) reserve(n int) error {
	if err := e.check(); err != nil {
		return err
	}
	if e.alloc+n > MaxExpandAlloc {
		return Errorf(TooLarge, "url template builds more than %d bytes of values, the limit", MaxExpandAlloc)
	}
	return nil
}

// spend charges work (bytes read and written) and the bytes produced.
func (e *expansion) spend(work, alloc int) error {
	e.work += work
	e.alloc += alloc
	if e.work > MaxExpandWork {
		return Errorf(TooLarge, "url template does more than %d steps of work, the limit", MaxExpandWork)
	}
	if e.alloc > MaxExpandAlloc {
		return Errorf(TooLarge, "url template builds more than %d bytes of values, the limit", MaxExpandAlloc)
	}
	return nil
}

// result charges a call that read in bytes and returned out, and refuses
// a value longer than any URL.
func (e *expansion) result(in int, out string) (string, error) {
	if err := e.spend(in+len(out), len(out)); err != nil {
		return "", err
	}
	if len(out) > MaxURLLen {
		return "", Errorf(TooLarge, "url template builds a value of %d bytes; the limit is %d", len(out), MaxURLLen)
	}
	return out, nil
}

// transform applies f, whose result is at most growth times as long as s.
func (e *expansion) transform(s string, growth int, f func(string) string) (string, error) {
	if err := e.reserve(growth * len(s)); err != nil {
		return "", err
	}
	return e.result(len(s), f(s))
}

// funcs are golink's template functions (so that its links import
// unchanged) and bounded replacements of text/template's builtins that
// build strings (print, printf, println, html, js, urlquery). The other
// builtins (and, or, not, len, index, slice, eq, ...) build nothing: they
// return booleans, numbers, bytes or parts of their arguments.
func (e *expansion) funcs() template.FuncMap {
	return template.FuncMap{
		"PathEscape":  func(s string) (string, error) { return e.transform(s, 3, url.PathEscape) },
		"QueryEscape": func(s string) (string, error) { return e.transform(s, 3, url.QueryEscape) },
		"ToLower":     func(s string) (string, error) { return e.transform(s, 3, strings.ToLower) },
		"ToUpper":     func(s string) (string, error) { return e.transform(s, 3, strings.ToUpper) },
		"TrimPrefix": func(s, prefix string) (string, error) {
			if err := e.reserve(0); err != nil {
				return "", err
			}
			return strings.TrimPrefix(s, prefix), e.spend(len(s), 0)
		},
		"TrimSuffix": func(s, suffix string) (string, error) {
			if err := e.reserve(0); err != nil {
				return "", err
			}
			return strings.TrimSuffix(s, suffix), e.spend(len(s), 0)
		},
		// Match reports whether s contains a match of the regular
		// expression pattern, compiled when the target was parsed. Go's
		// regexp runs in time linear in len(s) times the pattern's size,
		// both bounded, and that product counts as the match's work.
		"Match": func(pat, s string) (bool, error) {
			p := e.patterns[pat]
			if p == nil {
				return false, Errorf(Invalid, "url template: Match pattern %.60q was not given as a constant", pat)
			}
			if err := e.reserve(0); err != nil {
				return false, err
			}
			if err := e.spend((len(s)+1)*p.insts, 0); err != nil {
				return false, err
			}
			return p.re.MatchString(s), nil
		},
		"printf": func(format string, args ...any) (string, error) {
			verbs, err := scanFormat(format)
			if err != nil {
				return "", err
			}
			longest, total := argSizes(args)
			est := len(format) + total
			for _, v := range verbs {
				est += v.growth*longest + v.width + 16
			}
			if err := e.reserve(est); err != nil {
				return "", err
			}
			return e.result(len(format)+total, fmt.Sprintf(format, args...))
		},
		"print":    e.printer(fmt.Sprint),
		"println":  e.printer(fmt.Sprintln),
		"html":     e.escaper(template.HTMLEscaper),
		"js":       e.escaper(template.JSEscaper),
		"urlquery": e.escaper(template.URLQueryEscaper),
	}
}

func (e *expansion) printer(f func(...any) string) func(...any) (string, error) {
	return func(args ...any) (string, error) {
		_, total := argSizes(args)
		if err := e.reserve(total + len(args) + 1); err != nil {
			return "", err
		}
		return e.result(total, f(args...))
	}
}

// escaper bounds html, js and urlquery, which write at most six bytes per
// byte of input (js: < becomes \u003C).
func (e *expansion) escaper(f func(...any) string) func(...any) (string, error) {
	return func(args ...any) (string, error) {
		_, total := argSizes(args)
		if err := e.reserve(6 * (total + len(args))); err != nil {
			return "", err
		}
		return e.result(total, f(args...))
	}
}

// argSizes returns the longest and the total formatted size of args, as
// far as their length depends on them: strings by their length, the
// template's data by its fields, anything else (numbers, booleans, times:
// nothing else reaches a template) by a bound on its default format.
func argSizes(args []any) (longest, total int) {
	for _, a := range args {
		var n int
		switch a := a.(type) {
		case string:
			n = len(a)
		case []byte:
			n = len(a)
		case TemplateData:
			n = len(a.Path) + len(a.Query) + len(a.user) + 128
		case *TemplateData:
			n = len(a.Path) + len(a.Query) + len(a.user) + 128
		default:
			n = 400 // a float64 with %f is up to 330 bytes
		}
		longest = max(longest, n)
		total += n
	}
	return longest, total
}

// verb is one formatting directive of a printf format: how many bytes it
// may write per byte of its argument, and its width or precision.
type verb struct {
	growth, width int
}

// scanFormat finds the verbs of a printf format, and refuses a width or
// precision given by an argument (*) or larger than MaxFormatWidth: fmt
// allocates what they ask for before anything could refuse it.
func scanFormat(f string) ([]verb, error) {
	var verbs []verb
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		i++
		if i < len(f) && f[i] == '%' {
			continue
		}
		var space, sharp bool
		for ; i < len(f) && strings.IndexByte("+-# 0", f[i]) >= 0; i++ {
			space = space || f[i] == ' '
			sharp = sharp || f[i] == '#'
		}
		v := verb{growth: 1}
		num := func() error {
			if i < len(f) && f[i] == '[' {
				if j := strings.IndexByte(f[i:], ']'); j >= 0 {
					i += j + 1
				}
			}
			if i < len(f) && f[i] == '*' {
				return Errorf(Invalid, "url template: printf widths and precisions must be numbers, not *")
			}
			start := i
			for i < len(f) && '0' <= f[i] && f[i] <= '9' {
				i++
			}
			if i-start > 2 {
				return Errorf(Invalid, "url template: printf width or precision %s is too large; the limit is %d", f[start:i], MaxFormatWidth)
			}
			n := 0
			for _, c := range f[start:i] {
				n = n*10 + int(c-'0')
			}
			v.width = max(v.width, n)
			return nil
		}
		if err := num(); err != nil {
			return nil, err
		}
		if i < len(f) && f[i] == '.' {
			i++
			if err := num(); err != nil {
				return nil, err
			}
		}
		if i < len(f) && f[i] == '[' {
			if j := strings.IndexByte(f[i:], ']'); j >= 0 {
				i += j + 1
			}
		}
		if i < len(f) {
			c, size := utf8.DecodeRuneInString(f[i:])
			switch {
			case c == 'x' || c == 'X':
				v.growth = 2
				if space {
					v.growth = 3
					if sharp {
						v.growth = 5 // "0x61 0x62"
					}
				}
			case c == 'q' || c == 'v' && sharp:
				v.growth = 4 // "\x00"
			}
			i += size - 1
		}
		verbs = append(verbs, v)
	}
	return verbs, nil
}
