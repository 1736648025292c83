package taskformat

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Bounds on one number in a schema or a test file. The schema validator
// (santhosh-tekuri/jsonschema v6.0.3) makes each number an exact
// fraction with big.Rat and does not check that it could: 1e9999999
// against "minimum" dereferenced nil and took the process down, and
// {"minimum": 1e9999999} dropped the keyword, accepting 1. A number's
// cost in big.Rat also grows with its digits. Every number a task's
// script reads or returns is a 64-bit float, so a number no float64
// holds could never be compared with what the script returns anyway.
const (
	MaxNumberLength   = 4096  // characters of one number as written
	maxNumberExponent = 10000 // only a zero reaches it: any other number so written overflows or underflows first
)

// numberNoExponent is the longest number written without an exponent
// that is sure to fit a float64 neither as infinity nor as a lost zero
// (the largest float64 has 309 digits before the point).
const numberNoExponent = 308

// jsonNumbers finds the first number in JSON text that the validator
// must not see and returns a *boundError at it, or nil. Like
// jsonNesting it is not a validator: a malformed token is left to the
// parser that runs after it.
func jsonNumbers(data []byte) error {
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case c == '"':
			i = skipJSONString(data, i)
		case c == '-' || isDigit(c):
			j := i + 1
			for j < len(data) && isNumberByte(data[j]) {
				j++
			}
			if err := checkNumber(data[i:j]); err != nil {
				return &boundError{off: i, msg: err.Error()}
			}
			i = j - 1
		}
	}
	return nil
}

func isNumberByte(c byte) bool {
	return isDigit(c) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}

// checkNumber says why one number token cannot be used, or nil.
func checkNumber(tok []byte) error {
	if len(tok) > MaxNumberLength {
		return fmt.Errorf("a number %d characters long is over the limit of %d characters for one number: write it with fewer digits", len(tok), MaxNumberLength)
	}
	exp := -1
	for i, c := range tok {
		if c == 'e' || c == 'E' {
			exp = i
			break
		}
	}
	if exp < 0 && len(tok) <= numberNoExponent {
		return nil // the common case, without parsing
	}
	f, err := strconv.ParseFloat(string(tok), 64)
	var ne *strconv.NumError
	switch {
	case errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange):
		return fmt.Errorf("number %s is out of range: a number must fit a 64-bit float, at most %g in size", shortNumber(tok), math.MaxFloat64)
	case err != nil:
		return nil // not a number: the parser says what is wrong
	case f == 0 && nonZeroMantissa(tok, exp):
		return fmt.Errorf("number %s is too close to zero for a 64-bit float, which would make it 0: a number other than 0 must be at least %g in size", shortNumber(tok), math.SmallestNonzeroFloat64)
	case exp >= 0 && exponentOver(tok[exp+1:], maxNumberExponent):
		return fmt.Errorf("number %s has an exponent over %d: write it without one", shortNumber(tok), maxNumberExponent)
	}
	return nil
}

// nonZeroMantissa reports a digit other than 0 before the exponent.
func nonZeroMantissa(tok []byte, exp int) bool {
	if exp >= 0 {
		tok = tok[:exp]
	}
	for _, c := range tok {
		if c >= '1' && c <= '9' {
			return true
		}
	}
	return false
}

// exponentOver reports an exponent (digits with an optional sign) whose
// size passes max, however many digits it has.
func exponentOver(e []byte, max int) bool {
	if len(e) > 0 && (e[0] == '+' || e[0] == '-') {
		e = e[1:]
	}
	n := 0
	for _, c := range e {
		n = n*10 + int(c-'0')
		if n > max {
			return true
		}
	}
	return false
}

// shortNumber quotes a number for a message: a 10,000-digit one is
// shown by its start and its length.
func shortNumber(tok []byte) string {
	const keep = 24
	if len(tok) <= keep {
		return string(tok)
	}
	return fmt.Sprintf("%s… (%d characters)", tok[:keep], len(tok))
}
