package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// decoder turns a YAML node tree into the schema types by walking both together. yaml.v3's
// own strict mode (KnownFields) would reject unknown keys too, but its errors name a Go type
// instead of a field path and carry no file; walking ourselves gives every error
// "<file>:<line>: <field path>", records where each value was written, which validation
// needs for its own errors, and records which struct fields the file set, to tell "not set"
// from "set to zero".
type decoder struct {
	file string
	// defaultsFile is the configuration file whose defaults section applies, when that is
	// not file (which is then a target file); "" otherwise.
	defaultsFile string
	nodes        map[string]*yaml.Node // field path → value node, for every value present in the file
	// written holds a pointer to every struct field the file gives a non-null value, such as
	// &cfg.Targets[2].Interval (a *Duration): whether a key was set is asked of the field
	// itself. Fields are decoded in place, so the pointers stay valid in the returned Config.
	written map[any]bool

	// Aliases make the node tree a graph: open holds the collections being decoded, to
	// reject an alias to an enclosing node (which would recurse forever), and visits bounds
	// the work that nested aliases can multiply ("billion laughs").
	open        map[*yaml.Node]bool
	visits      int // values decoded
	aliasVisits int // values decoded through an alias or merge key, each time again
	inAlias     int // depth of aliases being expanded

	// errs gathers the file's problems: decoding goes on past a wrong value or an unknown
	// key, so that one run names every mistake, until MaxErrors or a limit (stopped).
	errs     errorList
	stopped  bool
	misspelt []string // the paths of keys an unknown key was taken for ("targets" for "target")
}

// keep records a problem met while decoding and returns nil to go on with the next value, or
// the error to stop at: past MaxErrors, or after a limit was hit.
func (d *decoder) keep(err error) error {
	if d.stopped {
		return err // recorded where it stopped
	}
	if !d.errs.add(err) {
		d.stopped = true
		d.errs.truncated = true
		return err
	}
	return nil
}

// stop records a problem after which nothing more of the file is read (a limit, an alias
// loop) and returns it.
func (d *decoder) stop(err *Error) *Error {
	if !d.stopped {
		d.errs.add(err)
		d.stopped = true
	}
	return err
}

// tainted says whether a problem was recorded at path, inside it, or at an enclosing value
// (not the top level): such a part was not decoded whole, and validating it would report
// what follows from the first mistake rather than mistakes of its own.
func (d *decoder) tainted(path string) bool {
	for _, m := range d.misspelt {
		if m == path || isInside(path, m) || isInside(m, path) {
			return true
		}
	}
	for _, e := range d.errs.errs {
		f := e.Field
		if f == "" || e.File != d.file {
			continue
		}
		if f == path || isInside(f, path) || isInside(path, f) {
			return true
		}
	}
	return false
}

// isInside says whether path p is below ancestor a: "targets[2].tls" is inside "targets[2]"
// and "targets"; "targets[20]" is not inside "targets[2]".
func isInside(p, a string) bool {
	return len(p) > len(a) && strings.HasPrefix(p, a) && (p[len(a)] == '.' || p[len(a)] == '[')
}

// maxVisits bounds the values decoded from one file: a file of MaxTargets richly configured
// targets stays below half of it. maxAliasVisits bounds separately what aliases and merge
// keys expand to, so that a "billion laughs" of nested aliases is refused long before it
// costs what a file of that many values would.
const (
	maxVisits      = 10_000_000
	maxAliasVisits = 1_000_000
)

// count counts one decoded value and refuses the file past the bounds.
func (d *decoder) count(n *yaml.Node, path string) *Error {
	d.visits++
	if d.inAlias > 0 {
		d.aliasVisits++
	}
	switch {
	case d.aliasVisits > maxAliasVisits:
		return d.stop(d.errorf(n, path, "too many values (more than %d with aliases expanded)", maxAliasVisits))
	case d.visits > maxVisits:
		return d.stop(d.errorf(n, path, "too many values (more than %d)", maxVisits))
	}
	return nil
}

// newDecoder returns a decoder for the tree at root (nil for an empty file) read from file.
func newDecoder(file string, root *yaml.Node) *decoder {
	// Sized for the tree, so that a file of thousands of targets does not grow the maps a
	// step at a time (rehashing them was a tenth of a large file's decoding).
	values, keys := countNodes(root)
	return &decoder{file: file, nodes: make(map[string]*yaml.Node, values), written: make(map[any]bool, keys), open: map[*yaml.Node]bool{}}
}

// countNodes counts the values and the mapping keys in the tree at n, aliases not followed.
func countNodes(n *yaml.Node) (values, keys int) {
	if n == nil {
		return 0, 0
	}
	values = 1
	step := 1
	if n.Kind == yaml.MappingNode {
		step = 2 // key, value
	}
	for i := 0; i < len(n.Content); i += step {
		if step == 2 {
			keys++
			if i+1 >= len(n.Content) {
				break
			}
		}
		v, k := countNodes(n.Content[i+step-1])
		values, keys = values+v, keys+k
	}
	return values, keys
}

// enter marks a collection node as being decoded; leave must follow.
func (d *decoder) enter(n *yaml.Node, path string) error {
	if d.open[n] {
		return d.stop(d.errorf(n, path, "alias refers to a node that contains it"))
	}
	d.open[n] = true
	return nil
}

func (d *decoder) leave(n *yaml.Node) { delete(d.open, n) }

// errorf returns an *Error at the node's line. Format verbs work as in fmt.Errorf (%w wraps).
func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) *Error {
	line := 1 // an empty file has no nodes; its errors are about line 1
	if n != nil {
		line = n.Line
	}
	return &Error{File: d.file, Line: line, Field: path, Err: fmt.Errorf(format, args...)}
}

// at returns an *Error for the field at path, on the line where that field was written or, if
// it was not written (a missing required field, a value inherited from elsewhere), on the line
// of the nearest enclosing value that was.
func (d *decoder) at(path, format string, args ...any) *Error {
	return d.errorf(d.node(path), path, format, args...)
}

// node returns the value node of path or of its nearest written ancestor; nil if none.
func (d *decoder) node(path string) *yaml.Node {
	for p := path; ; {
		if n, ok := d.nodes[p]; ok {
			return n
		}
		if p == "" {
			return nil
		}
		p = parentPath(p)
	}
}

// parentPath strips the last component: "targets[2].tls.ca_file" → "targets[2].tls" →
// "targets[2]" → "targets" → "".
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// resolveAlias follows YAML aliases (*anchor) to the node they name.
func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

var (
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	stringType      = reflect.TypeFor[string]()
)

// isUnmarshaler says whether *t decodes itself (Duration, ByteSize), remembering the answer
// per type: asking reflect for every value of a large file costs more than the answer.
func isUnmarshaler(t reflect.Type) bool {
	if u, ok := unmarshalerCache.Load(t); ok {
		return u.(bool)
	}
	u := reflect.PointerTo(t).Implements(unmarshalerType)
	unmarshalerCache.Store(t, u)
	return u
}

var unmarshalerCache sync.Map // reflect.Type → bool

// decode fills v from n; path names v in error messages.
func (d *decoder) decode(n *yaml.Node, path string, v reflect.Value) error {
	if v.Kind() == reflect.Pointer && !isUnmarshaler(v.Type()) {
		// A pointer (an optional section such as content:) holds the value decoded from n
		// itself: n is entered, counted and recorded once, by the call for the value.
		if resolveAlias(n).ShortTag() == "!!null" {
			return nil
		}
		elem := reflect.New(v.Type().Elem())
		if err := d.decode(n, path, elem.Elem()); err != nil {
			return err
		}
		v.Set(elem)
		return nil
	}
	if n.Kind == yaml.AliasNode {
		d.inAlias++
		defer func() { d.inAlias-- }()
	}
	n = resolveAlias(n)
	d.nodes[path] = n
	if err := d.count(n, path); err != nil {
		return err
	}
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		if err := d.enter(n, path); err != nil {
			return err
		}
		defer d.leave(n)
	}
	tag := n.ShortTag()
	if tag == "!!null" {
		// An empty value ("interval:") means "not set", as in Prometheus configs.
		return nil
	}
	if tag == "!!str" && v.Type() == stringType {
		// Most values are strings (names, URLs, PoP codes, headers): set them here, as
		// yaml.v3 would, instead of through Node.Decode, which builds a decoder per value.
		v.SetString(n.Value)
		return nil
	}
	if isUnmarshaler(v.Type()) {
		if err := n.Decode(v.Addr().Interface()); err != nil {
			return d.yamlError(n, path, err)
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Struct:
		return d.decodeStruct(n, path, v)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return d.errorf(n, path, "want a list, got a %s", kindName(n))
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			if err := d.decode(item, path+"["+strconv.Itoa(i)+"]", s.Index(i)); err != nil {
				if err := d.keep(err); err != nil {
					return err
				}
			}
		}
		v.Set(s)
		return nil
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return d.errorf(n, path, "want a mapping, got a %s", kindName(n))
		}
		pairs, err := d.pairs(n, path)
		if err != nil {
			return err
		}
		m := reflect.MakeMapWithSize(v.Type(), len(pairs))
		for _, p := range pairs {
			key := reflect.New(v.Type().Key()).Elem()
			if err := d.decode(p.key, joinPath(path, p.key.Value), key); err != nil {
				if err := d.keep(err); err != nil {
					return err
				}
				continue
			}
			val := reflect.New(v.Type().Elem()).Elem()
			if err := d.decode(p.value, joinPath(path, p.key.Value), val); err != nil {
				if err := d.keep(err); err != nil {
					return err
				}
				continue
			}
			m.SetMapIndex(key, val)
		}
		v.Set(m)
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return d.errorf(n, path, "want %s, got a %s", scalarWant(v.Kind()), kindName(n))
	}
	if err := n.Decode(v.Addr().Interface()); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			// yaml.v3 says "cannot unmarshal !!str `abc` into int"; say it in the user's terms.
			return d.errorf(n, path, "invalid value %q: want %s", n.Value, scalarWant(v.Kind()))
		}
		return d.yamlError(n, path, err)
	}
	return nil
}

// scalarWant describes what a Go scalar kind expects, for error messages.
func scalarWant(k reflect.Kind) string {
	switch k {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a string"
}

// yamlError positions an error that came out of yaml.v3's Decode: from our own UnmarshalYAML
// methods (Duration, ByteSize), which it passes through unchanged.
func (d *decoder) yamlError(n *yaml.Node, path string, err error) error {
	return &Error{File: d.file, Line: n.Line, Field: path, Err: err}
}

type pair struct{ key, value *yaml.Node }

// pairs lists a mapping's entries, rejecting duplicate keys and applying YAML merge keys
// ("<<: *common"), which let many targets share settings; keys written explicitly win over
// merged ones, as the merge-key spec says.
func (d *decoder) pairs(n *yaml.Node, path string) ([]pair, error) {
	var explicit, merged []pair
	first := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if err := d.count(k, path); err != nil {
			return nil, err
		}
		if k.Kind != yaml.ScalarNode {
			return nil, d.errorf(k, path, "keys must be strings, got a %s", kindName(k))
		}
		if k.ShortTag() == "!!merge" {
			ms, err := d.mergeSources(v, path)
			if err != nil {
				return nil, err
			}
			for _, m := range ms {
				if err := d.enter(m, path); err != nil {
					return nil, err
				}
				d.inAlias++
				sub, err := d.pairs(m, path)
				d.inAlias--
				d.leave(m)
				if err != nil {
					return nil, err
				}
				merged = append(merged, sub...)
			}
			continue
		}
		if prev, dup := first[k.Value]; dup {
			if err := d.keep(d.errorf(k, path, "duplicate key %q (first at line %d)", k.Value, prev.Line)); err != nil {
				return nil, err
			}
			continue
		}
		first[k.Value] = k
		explicit = append(explicit, pair{k, v})
	}
	for _, m := range merged {
		if _, ok := first[m.key.Value]; !ok {
			first[m.key.Value] = m.key
			explicit = append(explicit, m)
		}
	}
	return explicit, nil
}

// mergeSources returns the mappings a merge key ("<<") refers to: one mapping or a list of them.
func (d *decoder) mergeSources(v *yaml.Node, path string) ([]*yaml.Node, error) {
	v = resolveAlias(v)
	switch v.Kind {
	case yaml.MappingNode:
		return []*yaml.Node{v}, nil
	case yaml.SequenceNode:
		out := make([]*yaml.Node, 0, len(v.Content))
		for _, item := range v.Content {
			item = resolveAlias(item)
			if item.Kind != yaml.MappingNode {
				return nil, d.errorf(item, path, "merge key (<<) wants a mapping or a list of mappings, got a %s", kindName(item))
			}
			out = append(out, item)
		}
		return out, nil
	}
	return nil, d.errorf(v, path, "merge key (<<) wants a mapping or a list of mappings, got a %s", kindName(v))
}

func (d *decoder) decodeStruct(n *yaml.Node, path string, v reflect.Value) error {
	if n.Kind != yaml.MappingNode {
		return d.errorf(n, path, "want a mapping, got a %s", kindName(n))
	}
	fields := yamlFields(v.Type())
	pairs, err := d.pairs(n, path)
	if err != nil {
		return err
	}
	for _, p := range pairs {
		idx, ok := fields[p.key.Value]
		if !ok {
			msg, near := unknownKey(v.Type(), path, p.key.Value)
			if near != "" {
				// The key meant is missing: what would follow from that is not reported.
				d.misspelt = append(d.misspelt, joinPath(path, near))
			}
			if err := d.keep(d.errorf(p.key, path, "%s", msg)); err != nil {
				return err
			}
			continue
		}
		field := v.FieldByIndex(idx)
		if err := d.decode(p.value, joinPath(path, p.key.Value), field); err != nil {
			if err := d.keep(err); err != nil {
				return err
			}
			continue
		}
		if resolveAlias(p.value).ShortTag() != "!!null" {
			d.written[field.Addr().Interface()] = true
		}
	}
	return nil
}

// yamlFields maps the yaml keys of a struct type to the index paths of their fields, looking
// into structs embedded with ",inline" (Settings in Defaults and Target) as yaml.v3 does.
func yamlFields(t reflect.Type) map[string][]int {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string][]int)
	}
	fields := buildYAMLFields(t)
	fieldCache.Store(t, fields)
	return fields
}

// fieldCache holds yamlFields per struct type: a file of thousands of targets would otherwise
// reflect over the Target type once per target.
var fieldCache sync.Map // reflect.Type → map[string][]int

func buildYAMLFields(t reflect.Type) map[string][]int {
	fields := make(map[string][]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if f.Anonymous && f.Type.Kind() == reflect.Struct && slices.Contains(strings.Split(opts, ","), "inline") {
			for key, idx := range buildYAMLFields(f.Type) {
				fields[key] = append([]int{i}, idx...)
			}
			continue
		}
		if name != "" {
			fields[name] = []int{i}
		}
	}
	return fields
}
