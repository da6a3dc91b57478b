package config

import (
	"bytes"
	"fmt"
	"strings"
)

// yamlIndentProblems are the messages yaml.v3 gives when a line is indented wrongly. They
// point at the start of the enclosing block (or a line near the mistake) and speak of
// indicators and tokens; indentProblem finds the line itself and says what to do.
var yamlIndentProblems = map[string]bool{
	"did not find expected '-' indicator":                    true,
	"did not find expected key":                              true,
	"mapping values are not allowed in this context":         true,
	"found a tab character that violates indentation":        true,
	"found character that cannot start any token":            true,
	"block sequence entries are not allowed in this context": true,
	"did not find expected <document start>":                 true,
}

// yamlPlainWords restates other yaml.v3 messages in the terms of a configuration file.
var yamlPlainWords = map[string]string{
	"found unexpected end of stream":   "the file ends inside a quoted string or a [ ] or { } list that begins here: close it",
	"did not find expected ',' or '}'": "a { } mapping that begins here is not closed, or lacks a comma between its entries",
	"did not find expected ',' or ']'": "a [ ] list that begins here is not closed, or lacks a comma between its entries",
}

// indentBlock is an open block of keys or list items: its column, and the last line at it.
type indentBlock struct {
	col  int
	line int
	key  string
}

// indentProblem looks for the first line whose indentation cannot be right: a tab in the
// indentation, a line indented more than the one before though that one already has a value,
// or a line indented back to a column no enclosing block has. It returns the line and a
// message, or ok false when it sees no such line (or meets what it does not follow, such as a
// [ ] or { } list over several lines).
func indentProblem(data []byte) (line int, msg string, ok bool) {
	var stack []indentBlock
	opens := true // the previous line leaves a block open for deeper lines
	blockScalarCol := -1
	var prev indentBlock
	for i, raw := range bytes.Split(data, []byte("\n")) {
		n := i + 1
		text := strings.TrimRight(string(raw), " \r")
		indent := len(text) - len(strings.TrimLeft(text, " "))
		if strings.TrimSpace(text) == "" {
			continue
		}
		if blockScalarCol >= 0 {
			if indent > blockScalarCol {
				continue // the text of a | or > block
			}
			blockScalarCol = -1
		}
		content := text[indent:]
		if content[0] == '\t' {
			return n, "a tab character: YAML indents with spaces only", true
		}
		if content[0] == '#' {
			continue
		}
		if indent == 0 && (content == "---" || content == "...") {
			stack, opens = nil, true
			continue
		}
		content = stripComment(content)
		if strings.Count(content, "[") != strings.Count(content, "]") || strings.Count(content, "{") != strings.Count(content, "}") {
			return 0, "", false
		}
		key := keyOf(content)
		switch top := len(stack) - 1; {
		case top < 0:
			stack = append(stack, indentBlock{indent, n, key})
		case indent > stack[top].col:
			if !opens {
				return n, fmt.Sprintf("%q is indented %d spaces, more than %q on line %d, which already has a value: indent it %d spaces, as %q is",
					key, indent, prev.key, prev.line, prev.col, prev.key), true
			}
			stack = append(stack, indentBlock{indent, n, key})
		case indent < stack[top].col:
			inner := stack[top]
			for len(stack) > 0 && stack[len(stack)-1].col > indent {
				inner = stack[len(stack)-1]
				stack = stack[:len(stack)-1]
			}
			if len(stack) == 0 || stack[len(stack)-1].col != indent {
				msg := fmt.Sprintf("%q is indented %d spaces, which lines up with no key above it: %d spaces put it beside %q (line %d)",
					key, indent, inner.col, inner.key, inner.line)
				if len(stack) > 0 {
					outer := stack[len(stack)-1]
					msg += fmt.Sprintf(", or %d beside %q (line %d)", outer.col, outer.key, outer.line)
				}
				return n, msg, true
			}
			stack[len(stack)-1].line, stack[len(stack)-1].key = n, key
		default:
			stack[top].line, stack[top].key = n, key
		}
		prev = indentBlock{indent, n, key}
		// A list item's own keys form a block at the column after "- ".
		if content == "-" || strings.HasPrefix(content, "- ") {
			rest := strings.TrimLeft(content[1:], " ")
			if rest != "" {
				col := indent + len(content) - len(rest)
				stack = append(stack, indentBlock{col, n, keyOf(rest)})
				prev = indentBlock{col, n, keyOf(rest)}
				content = rest
			}
		}
		value := ""
		if k, v, found := strings.Cut(content, ": "); found && !strings.ContainsAny(k, `"'`) {
			value = strings.TrimSpace(v)
		}
		switch {
		case content == "-" || strings.HasSuffix(content, ":"):
			opens = true
		case strings.HasPrefix(value, "|") || strings.HasPrefix(value, ">"):
			opens, blockScalarCol = false, prev.col
		default:
			opens = false
		}
	}
	return 0, "", false
}

// keyOf names a line in messages: its key ("interval"), "- name" for a list item with keys,
// or its text.
func keyOf(content string) string {
	if strings.HasPrefix(content, "- ") {
		return "- " + keyOf(strings.TrimLeft(content[2:], " "))
	}
	if k, _, found := strings.Cut(content, ":"); found && k != "" && !strings.ContainsAny(k, `"'{[`) {
		return k
	}
	if len(content) > 40 {
		return content[:40] + "…"
	}
	return content
}

// stripComment drops a " # comment" that is not inside quotes.
func stripComment(s string) string {
	var quote byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#' && i > 0 && s[i-1] == ' ':
			return strings.TrimRight(s[:i], " ")
		}
	}
	return s
}
