package config

import "fmt"

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
