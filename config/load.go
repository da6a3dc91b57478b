package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"

	"gopkg.in/yaml.v3"
)

// defaultFile is Config.File of the embedded default configuration.
const defaultFile = "<embedded default>"

//go:embed default.yml
var defaultYAML []byte

// Default returns the embedded default configuration, which probes well-known public endpoints
// of several CDNs. It is what the exporter runs when no --config.file is given.
func Default() (*Config, error) {
	return Parse(defaultYAML, defaultFile)
}

// Load reads and parses the configuration file at path. A file larger than MaxFileSize is
// refused without being read whole.
func Load(path string) (*Config, error) {
	data, err := ReadFile(path, "config")
	if err != nil {
		return nil, err
	}
	return Parse(data, path)
}

// checkSize refuses a file of size bytes (or of len(data) when larger) above MaxFileSize.
func checkSize(data []byte, filename string, size int64) error {
	if size = max(size, int64(len(data))); size > MaxFileSize {
		return &Error{File: filename, Err: fmt.Errorf("the file has %d bytes, more than the limit of %s for a configuration file", size, ByteSize(MaxFileSize))}
	}
	return nil
}

// checkTargetCount refuses a targets list longer than MaxTargets before decoding it.
func checkTargetCount(root *yaml.Node, filename string) error {
	if root == nil || root.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k, v := root.Content[i], resolveAlias(root.Content[i+1]); k.Value == "targets" && v.Kind == yaml.SequenceNode && len(v.Content) > MaxTargets {
			return &Error{File: filename, Line: v.Line, Field: "targets",
				Err: fmt.Errorf("%d targets, more than the limit of %d per file", len(v.Content), MaxTargets)}
		}
	}
	return nil
}

// Parse parses, completes and validates a configuration. filename names the source in errors
// and anchors relative file paths (tls.ca_file). Unknown keys are errors. On success every
// Target holds its effective values (see applyDefaults) and Compiled holds a CompiledTarget
// for every target and a compiled rule for every rule. The error, if any, is an *Error naming
// file, line and field, or, when there are several, an *Errors listing each (up to
// MaxErrors) in the order of their lines.
func Parse(data []byte, filename string) (*Config, error) {
	if err := checkSize(data, filename, 0); err != nil {
		return nil, err
	}
	root, err := parseYAML(data, filename)
	if err != nil {
		return nil, err
	}
	if err := checkTargetCount(root, filename); err != nil {
		return nil, err
	}
	d := newDecoder(filename, root)
	cfg := &Config{File: filename}
	if root != nil {
		if err := d.decode(root, "", reflect.ValueOf(cfg).Elem()); err != nil {
			d.keep(err)
		}
	}
	if d.stopped {
		return nil, d.errs.err()
	}
	applyDefaults(cfg, d)
	if err := validate(cfg, d); err != nil {
		return nil, err
	}
	cfg.defaultsSet = d.writtenSettings(&cfg.Defaults.Settings)
	cfg.nameLines = nameLines(d, "targets", len(cfg.Targets))
	return cfg, nil
}

// yamlLine finds the line in yaml.v3's syntax errors ("yaml: line 3: did not find expected key").
var yamlLine = regexp.MustCompile(`^yaml: line ([0-9]+): (.*)$`)

// parseYAML returns the top-level node of the single YAML document in data, or nil when data
// holds no document (empty, or only comments).
func parseYAML(data []byte, filename string) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxError(filename, data, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		// A second document would silently be ignored by a plain Unmarshal: refuse it.
		return nil, &Error{File: filename, Line: extra.Line, Err: errors.New("yaml: multiple documents are not supported")}
	case !errors.Is(err, io.EOF):
		return nil, syntaxError(filename, data, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

// yamlParserProblems are the messages of yaml.v3's parser (as opposed to its scanner). For
// these yaml.v3 reports a 0-based line, of the enclosing block where it has one, so one is
// added: the error then points at the start of the block (or the line) the problem is in.
var yamlParserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

// syntaxError turns yaml.v3's "yaml: line 3: did not find expected key" into an *Error. A
// wrongly indented line, which yaml.v3 reports at the start of its block in its parser's
// terms, is found and explained by indentProblem.
func syntaxError(filename string, data []byte, err error) error {
	m := yamlLine.FindStringSubmatch(err.Error())
	if m == nil {
		// A few errors carry no line ("invalid leading UTF-8 octet"); the file alone is named.
		return &Error{File: filename, Err: err}
	}
	line, _ := strconv.Atoi(m[1])
	if yamlParserProblems[m[2]] {
		line++
	}
	if yamlIndentProblems[m[2]] {
		if at, msg, ok := indentProblem(data); ok {
			return &Error{File: filename, Line: at, Err: fmt.Errorf("yaml indentation: %s", msg)}
		}
	}
	if plain, ok := yamlPlainWords[m[2]]; ok {
		return &Error{File: filename, Line: line, Err: fmt.Errorf("yaml: %s", plain)}
	}
	return &Error{File: filename, Line: line, Err: fmt.Errorf("yaml: %s", m[2])}
}
