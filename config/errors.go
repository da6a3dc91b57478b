package config

import (
	"fmt"
	"slices"
	"strings"
)

// Error is a problem at one place of a configuration file. Its text is
// "<file>:<line>: <field>: <message>", e.g. `pop.yml:12: targets[2].timeout: timeout 30s must
// be shorter than interval 15s`, so that editors and CI logs can jump to the line. Field is
// empty for YAML syntax errors and for unknown keys at the top level, and is then left out.
type Error struct {
	File  string // the filename given to Parse
	Line  int    // 1-based line of the offending YAML node; 0 when YAML gave none
	Field string // field path such as "targets[2].timeout", "vantage.location", "rules[0].regex"
	Err   error  // what is wrong; may wrap an underlying cause
}

// Error formats the problem as "<file>:<line>: <field>: <message>".
func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Field == "" {
		return fmt.Sprintf("%s: %v", loc, e.Err)
	}
	return fmt.Sprintf("%s: %s: %v", loc, e.Field, e.Err)
}

// Unwrap returns the underlying error, so errors.Is and errors.As see through the position.
func (e *Error) Unwrap() error { return e.Err }

// MaxErrors bounds the problems one file reports: enough for every mistake of a hand-edited
// file, few enough that a file of generated garbage does not flood a terminal or a log line.
const MaxErrors = 20

// Errors are the problems of one file, in the order of their lines. Parse returns it when
// it found more than one problem (one alone is returned as its *Error); errors.As finds each
// *Error in it. Its text is one "<file>:<line>: <field>: <message>" line per problem.
type Errors struct {
	Errs      []*Error
	Truncated bool // checking stopped at MaxErrors: the rest of the file was not checked
}

// Error formats the problems one per line.
func (e *Errors) Error() string {
	var b strings.Builder
	for i, err := range e.Errs {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(err.Error())
	}
	if e.Truncated {
		fmt.Fprintf(&b, "\n%s: stopped after %d errors; fix these and check again", e.Errs[0].File, MaxErrors)
	}
	return b.String()
}

// Unwrap returns every problem, so errors.As and errors.Is look at each.
func (e *Errors) Unwrap() []error {
	out := make([]error, len(e.Errs))
	for i, err := range e.Errs {
		out[i] = err
	}
	return out
}

// errorList gathers the problems of one file, up to MaxErrors.
type errorList struct {
	errs      []*Error
	truncated bool
}

// add records err (an *Error, or an *Errors whose problems are each recorded); it says
// whether there is room for more.
func (l *errorList) add(err error) bool {
	switch e := err.(type) {
	case nil:
	case *Errors:
		for _, one := range e.Errs {
			l.add(one)
		}
		l.truncated = l.truncated || e.Truncated
	case *Error:
		for _, have := range l.errs {
			if have.Error() == e.Error() { // a defaults section's problem, met by every target
				return !l.full()
			}
		}
		if l.full() {
			l.truncated = true
			return false
		}
		l.errs = append(l.errs, e)
	default:
		l.add(&Error{Err: err})
	}
	return !l.full()
}

func (l *errorList) full() bool { return len(l.errs) >= MaxErrors }

// err returns nil, the one *Error, or an *Errors sorted by line.
func (l *errorList) err() error {
	switch len(l.errs) {
	case 0:
		return nil
	case 1:
		return l.errs[0]
	}
	errs := slices.Clone(l.errs)
	slices.SortStableFunc(errs, func(a, b *Error) int { return a.Line - b.Line })
	return &Errors{Errs: errs, Truncated: l.truncated}
}
