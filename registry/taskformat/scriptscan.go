package taskformat

import "fmt"

// maxScriptChain bounds the constructs that goja's parser also recurses
// on without any bracket: prefix operators (!!!x, - - x, typeof typeof x),
// right-associative chains (a = b = c, a ? b : c ? d : e, a ** b ** c,
// x => y => z) and statements nested without braces (if (a) if (b) ...).
// Such chains are short in real code; the bound is wider than MaxNesting
// so that a long else-if ladder or switch is never refused.
const maxScriptChain = 4 * MaxNesting

// scriptNesting scans JavaScript for nesting that would make goja's
// parser overflow the stack, skipping strings, template literals,
// comments and regular expression literals as a tokenizer would. It
// returns a *boundError at the bracket or operator that passes a bound,
// or nil. It does not validate: goja reports every syntax error after it.
//
// Where the grammar leaves a slash ambiguous (a division or a regular
// expression), the scan leans to the reading that hides nothing from it:
// brackets inside a regular expression are counted too.
func scriptNesting(src []byte) error {
	s := &scriptScan{src: src, frames: []scanFrame{{}}, operand: true, stmt: true}
	return s.run()
}

type scanFrame struct {
	open      byte // '(', '[', '{', or '$' for a template's ${
	afterOp   bool // after the closer an operand is expected (a block's end, an if's condition)
	afterStmt bool // after the closer a statement starts
	stmtBlock bool // a block where a statement starts, not a function's body
	chain     int  // right-recursive operators pending in this frame
	unary     int  // prefix operators waiting for their operand
}

type scriptScan struct {
	src     []byte
	i       int
	frames  []scanFrame
	pending int  // sum of chain and unary over the frames
	operand bool // an operand is expected: a slash starts a regular expression
	stmt    bool // a statement starts here: a brace opens a block
	newline bool // a line break since the last token
	cond    bool // the last token was if, while, for or with
	arrow   bool // the last token was =>
	dot     bool // the last token was . or ?. : a name follows, never a keyword
}

func (s *scriptScan) top() *scanFrame { return &s.frames[len(s.frames)-1] }

func (s *scriptScan) fail(off int, format string, args ...any) error {
	return &boundError{off: off, msg: fmt.Sprintf(format, args...)}
}

// chain counts one right-recursive operator or brace-less statement.
func (s *scriptScan) chain(off int, unary bool) error {
	if unary {
		s.top().unary++
	} else {
		s.top().chain++
	}
	s.pending++
	if s.pending+len(s.frames)-1 > maxScriptChain {
		return s.fail(off, "expression nested deeper than %d levels", maxScriptChain)
	}
	return nil
}

// endExpr resets the chains of the current frame at ; and , and at a
// line break that ends a statement.
func (s *scriptScan) endExpr() {
	t := s.top()
	s.pending -= t.chain + t.unary
	t.chain, t.unary = 0, 0
}

// gotOperand is called after an operand: the prefix operators before it
// are complete.
func (s *scriptScan) gotOperand() {
	t := s.top()
	s.pending -= t.unary
	t.unary = 0
	s.operand, s.stmt = false, false
}

// startOperand is called where an operand starts; after a line break that
// follows a complete operand, this is a new statement (automatic semicolon
// insertion), so the chains of the old one end.
func (s *scriptScan) startOperand() {
	if s.newline && !s.operand {
		s.endExpr()
	}
}

func (s *scriptScan) run() error {
	for s.i < len(s.src) {
		c := s.src[s.i]
		start := s.i
		switch {
		case c == '\n':
			s.newline = true
			s.i++
			continue
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			s.i++
			continue
		case c == '/' && s.peek(1) == '/':
			s.skipLine()
			continue
		case c == '/' && s.peek(1) == '*':
			s.skipBlockComment()
			continue
		}
		wasCond, wasArrow, wasDot := s.cond, s.arrow, s.dot
		s.cond, s.arrow, s.dot = false, false, false
		var err error
		switch {
		case c == '"' || c == '\'':
			s.startOperand()
			s.skipString(c)
			s.gotOperand()
		case c == '`':
			s.i++ // after an operand, a tagged template: no new statement
			err = s.template()
		case c == '/' && s.operand:
			s.startOperand()
			err = s.regexp()
			s.gotOperand()
		case c == '(' || c == '[' || c == '{':
			err = s.open(c, wasCond, wasArrow)
		case c == ')' || c == ']' || c == '}':
			err = s.close()
		case isIdentStart(c):
			s.word()
			err = s.keyword(start, wasDot)
		case c >= '0' && c <= '9' || c == '.' && isDigit(s.peek(1)):
			s.startOperand()
			for s.i < len(s.src) && (isIdentPart(s.src[s.i]) || s.src[s.i] == '.') {
				s.i++
			}
			s.gotOperand()
		default:
			err = s.punct(start)
		}
		s.newline = false
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *scriptScan) peek(n int) byte {
	if s.i+n < len(s.src) {
		return s.src[s.i+n]
	}
	return 0
}

func (s *scriptScan) skipLine() {
	for s.i < len(s.src) && s.src[s.i] != '\n' {
		s.i++
	}
}

func (s *scriptScan) skipBlockComment() {
	s.i += 2
	for s.i < len(s.src) {
		if s.src[s.i] == '\n' {
			s.newline = true
		}
		if s.src[s.i] == '*' && s.peek(1) == '/' {
			s.i += 2
			return
		}
		s.i++
	}
}

// skipString skips a quoted string; an unterminated one ends at the line
// break, where goja reports it.
func (s *scriptScan) skipString(q byte) {
	for s.i++; s.i < len(s.src); s.i++ {
		switch s.src[s.i] {
		case '\\':
			s.i++
		case q:
			s.i++
			return
		case '\n':
			return
		}
	}
}

// template skips template text up to its end or to a ${, which opens a
// frame that the matching } closes, resuming the template.
func (s *scriptScan) template() error {
	for s.i < len(s.src) {
		switch s.src[s.i] {
		case '\\':
			s.i += 2
			continue
		case '`':
			s.i++
			s.gotOperand()
			return nil
		case '$':
			if s.peek(1) == '{' {
				off := s.i
				s.i += 2
				return s.push(scanFrame{open: '$'}, off)
			}
		}
		s.i++
	}
	return nil
}

// regexp skips a regular expression literal. Its groups are counted
// against MaxNesting, since a slash read as a regular expression that is
// really a division must not hide brackets from the scan.
func (s *scriptScan) regexp() error {
	depth, class := 0, false
	for s.i++; s.i < len(s.src); s.i++ {
		switch s.src[s.i] {
		case '\\':
			s.i++
		case '\n':
			return nil
		case '[':
			class = true
		case ']':
			class = false
		case '(':
			if !class {
				depth++
				if depth > MaxNesting {
					return s.fail(s.i, "regular expression groups nested deeper than %d levels", MaxNesting)
				}
			}
		case ')':
			if !class && depth > 0 {
				depth--
			}
		case '/':
			if !class {
				s.i++
				for s.i < len(s.src) && isIdentPart(s.src[s.i]) {
					s.i++
				}
				return nil
			}
		}
	}
	return nil
}

func (s *scriptScan) push(f scanFrame, off int) error {
	s.frames = append(s.frames, f)
	s.operand, s.stmt = true, f.open == '{' && f.afterStmt
	if len(s.frames)-1 > MaxNesting {
		return s.fail(off, "brackets nested deeper than %d levels", MaxNesting)
	}
	if s.pending+len(s.frames)-1 > maxScriptChain {
		return s.fail(off, "expression nested deeper than %d levels", maxScriptChain)
	}
	return nil
}

func (s *scriptScan) open(c byte, cond, arrow bool) error {
	off := s.i
	s.i++
	f := scanFrame{open: c}
	switch c {
	case '(':
		// After the condition of if, while, for or with, a statement starts.
		f.afterOp, f.afterStmt = cond, cond
	case '{':
		// A brace where an operand is expected, other than an arrow's
		// body, is an object literal, after which an operand has ended.
		// Any other brace is a block or a body, after which a statement
		// starts.
		block := s.stmt || arrow || !s.operand
		f.afterOp, f.afterStmt, f.stmtBlock = block, block, s.stmt
		if block {
			f.open = 'B'
		}
	}
	err := s.push(f, off)
	if f.open == 'B' {
		s.stmt = true
	}
	return err
}

func (s *scriptScan) close() error {
	s.i++
	if len(s.frames) == 1 {
		s.gotOperand() // unbalanced: goja reports it
		return nil
	}
	f := s.frames[len(s.frames)-1]
	s.pending -= f.chain + f.unary
	s.frames = s.frames[:len(s.frames)-1]
	if f.open == '$' {
		return s.template()
	}
	if f.afterOp {
		// A block ends its statement; an if's condition does not (the
		// statement it guards nests inside it), nor does a function's body
		// (a function expression may go on: function(){} = ...).
		s.operand, s.stmt = true, f.afterStmt
		if f.stmtBlock {
			s.endExpr()
		}
		return nil
	}
	s.gotOperand()
	return nil
}

// word skips an identifier or keyword.
func (s *scriptScan) word() {
	for s.i < len(s.src) && (isIdentPart(s.src[s.i]) || s.src[s.i] == '\\') {
		if s.src[s.i] == '\\' {
			s.i++
		}
		s.i++
	}
	s.i = min(s.i, len(s.src))
}

func (s *scriptScan) keyword(start int, afterDot bool) error {
	w := string(s.src[start:s.i])
	if afterDot {
		s.gotOperand()
		return nil
	}
	switch w {
	case "in", "of", "instanceof": // binary operators: they continue the expression
	default:
		s.startOperand()
	}
	switch w {
	case "typeof", "void", "delete", "await", "new":
		s.operand, s.stmt = true, false
		return s.chain(start, true)
	case "if", "while", "for", "with":
		s.cond = true
		s.operand, s.stmt = true, false
		return s.chain(start, false)
	case "else", "do":
		s.operand, s.stmt = true, true
		return s.chain(start, false)
	case "yield", "extends":
		s.operand, s.stmt = true, false
		return s.chain(start, false)
	case "return", "throw", "case", "in", "of", "instanceof":
		s.operand, s.stmt = true, false
	default:
		s.gotOperand()
	}
	return nil
}

// assignOps are the operators that start with one of the punctuation
// characters below, longest first; those that recurse are marked.
var scriptOps = []struct {
	op    string
	chain bool // right-recursive in the grammar
}{
	{">>>=", true}, {"...", false}, {"===", false}, {"!==", false}, {"**=", true}, {"<<=", true}, {">>=", true},
	{">>>", false}, {"&&=", true}, {"||=", true}, {"??=", true},
	{"=>", true}, {"==", false}, {"!=", false}, {"<=", false}, {">=", false}, {"&&", false}, {"||", false},
	{"??", false}, {"?.", false}, {"**", true}, {"++", false}, {"--", false}, {"<<", false}, {">>", false},
	{"+=", true}, {"-=", true}, {"*=", true}, {"/=", true}, {"%=", true}, {"&=", true}, {"|=", true}, {"^=", true},
}

func (s *scriptScan) punct(start int) error {
	op := string(s.src[s.i : s.i+1])
	for _, o := range scriptOps {
		if len(o.op) <= len(s.src)-s.i && string(s.src[s.i:s.i+len(o.op)]) == o.op {
			if o.op == "?." && isDigit(s.peek(2)) {
				continue // a ? .5 : x
			}
			op = o.op
			break
		}
	}
	s.i += len(op)
	prefix := s.operand
	switch op {
	case ";", ",":
		s.endExpr()
		s.operand, s.stmt = true, op == ";"
		return nil
	case ".", "?.":
		s.dot = true
		s.operand, s.stmt = false, false
		return nil
	case "++", "--":
		if !prefix {
			return nil // postfix: the operand stays complete
		}
		s.startOperand()
		return s.chain(start, true)
	case "!", "~", "...":
		s.startOperand()
		s.operand, s.stmt = true, false
		return s.chain(start, true)
	case "+", "-":
		s.operand, s.stmt = true, false
		if prefix {
			return s.chain(start, true)
		}
		return nil
	case "=", "?", ":":
		s.operand, s.stmt = true, false
		return s.chain(start, false)
	case "=>":
		s.arrow = true
	}
	s.operand, s.stmt = true, false
	for _, o := range scriptOps {
		if o.op == op && o.chain {
			return s.chain(start, false)
		}
	}
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$' || c == '\\' || c >= 0x80
}

func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) }
