package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"syscall"

	"gopkg.in/yaml.v3"
)

// TargetFile is the targets of one target file (see Config.TargetFiles): a YAML list whose
// entries have exactly the keys, checks and defaults of the entries of targets:. The targets
// of the configuration file itself are one too (Config.OwnTargets), so that a name used twice
// is found, and reported, the same way wherever it is.
type TargetFile struct {
	File     string           // the path the targets were read from, as in its errors
	Targets  []Target         // effective values, as in Config.Targets
	Compiled []CompiledTarget // Compiled[i] belongs to Targets[i]

	list  string // field path of the list: "targets", or "" in a target file (whose root it is)
	lines []int  // lines[i] is the line of Targets[i]'s name; nil when unknown
}

// OwnTargets returns the targets written in the configuration file itself as a TargetFile.
func (c *Config) OwnTargets() *TargetFile {
	return &TargetFile{File: c.File, Targets: c.Targets, Compiled: c.Compiled.Targets, list: "targets", lines: c.nameLines}
}

// TargetFilePatterns returns the target_files patterns as paths: relative ones joined to the
// directory of the configuration file, as users read them (paths are relative to the file
// they are written in).
func (c *Config) TargetFilePatterns() []string {
	patterns := make([]string, len(c.TargetFiles))
	for i, p := range c.TargetFiles {
		if !filepath.IsAbs(p) && c.File != defaultFile && c.File != "" {
			p = filepath.Join(filepath.Dir(c.File), p)
		}
		patterns[i] = p
	}
	return patterns
}

// TargetFileMatches is what the target_files patterns match at one moment.
type TargetFileMatches struct {
	// Files are the matched names that are files (or symbolic links to one), sorted, each once.
	Files []string
	// NotFiles are the matched names that are not files, with why: a directory, or a symbolic
	// link to nothing (while a Kubernetes ConfigMap volume is swapped, or left behind). Such a
	// name is no target file; it is one that went wrong if it was a target file before.
	NotFiles map[string]error
	// Unreadable are the directories a pattern looks in that exist but could not be listed
	// (no permission, an I/O error, a stale network file system handle), with the error: what
	// they hold is unknown, which is not the same as empty.
	Unreadable map[string]error
}

// TargetFilePaths returns the files that the target_files patterns match now, sorted, each
// once, with the matches that are not files and the directories that could not be listed
// (see TargetFileMatches). A directory that does not exist matches nothing.
func (c *Config) TargetFilePaths() (TargetFileMatches, error) {
	m := TargetFileMatches{NotFiles: map[string]error{}, Unreadable: map[string]error{}}
	for _, pattern := range c.TargetFilePatterns() {
		if _, err := filepath.Match(pattern, ""); err != nil { // only a malformed pattern, which Parse refuses
			return m, fmt.Errorf("target_files: %w", err)
		}
		for _, name := range glob(pattern, m.Unreadable) {
			fi, err := os.Stat(name)
			switch {
			case errors.Is(err, os.ErrNotExist):
				m.NotFiles[name] = &Error{File: name, Err: errors.New("a symbolic link to a file that does not exist")}
			case err == nil && fi.IsDir():
				m.NotFiles[name] = &Error{File: name, Err: errors.New("a directory, not a target file")}
			default:
				m.Files = append(m.Files, name) // other Stat errors come back when the file is read
			}
		}
	}
	slices.Sort(m.Files)
	m.Files = slices.Compact(m.Files)
	return m, nil
}

// glob is filepath.Glob, except that a directory that exists but cannot be listed is not
// taken for an empty one: it is added to unreadable, with the error. (filepath.Glob ignores
// every error of reading a directory.)
func glob(pattern string, unreadable map[string]error) []string {
	if !hasMeta(pattern) {
		if _, err := os.Lstat(pattern); err != nil {
			if dir := filepath.Dir(pattern); !absent(err) {
				unreadable[dir] = &Error{File: dir, Err: fmt.Errorf("cannot look into the directory: %w", err)}
			}
			return nil
		}
		return []string{pattern}
	}
	dir, file := filepath.Split(pattern)
	dir = cleanGlobDir(dir)
	dirs := []string{dir}
	if hasMeta(dir) {
		dirs = glob(dir, unreadable)
	}
	var out []string
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			if !absent(err) {
				unreadable[d] = &Error{File: d, Err: fmt.Errorf("cannot list the directory: %w", err)}
			}
			continue
		}
		for _, e := range entries {
			if ok, _ := filepath.Match(file, e.Name()); ok {
				out = append(out, filepath.Join(d, e.Name()))
			}
		}
	}
	return out
}

// absent says whether err means that nothing is there: no such file, or a path through
// something that is not a directory.
func absent(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// hasMeta reports whether path holds any of the characters filepath.Match treats specially.
func hasMeta(path string) bool {
	magic := `*?[`
	if runtime.GOOS != "windows" {
		magic = `*?[\`
	}
	return strings.ContainsAny(path, magic)
}

// cleanGlobDir is the directory part of a pattern as filepath.Glob cleans it: "." for none,
// a root ("/", `C:\`) as it is, any other without its trailing separator.
func cleanGlobDir(dir string) string {
	switch dir {
	case "":
		return "."
	case filepath.VolumeName(dir) + string(filepath.Separator):
		return dir
	}
	return dir[:len(dir)-1]
}

// LoadTargetFile reads and parses the target file at path with ParseTargetFile. A file
// larger than MaxFileSize is refused without being read whole.
func (c *Config) LoadTargetFile(path string) (*TargetFile, error) {
	data, err := ReadFile(path, "target file")
	if err != nil {
		return nil, err
	}
	return c.ParseTargetFile(data, path)
}

// ParseTargetFile parses data as a target file of c; filename names it in errors, whose field
// paths start at the list ("targets/cdn.yml:12: [3].timeout: …"). Its targets are completed
// with c's defaults section exactly as c's own are (a key the target writes wins over the
// defaults', which win over the built-in default), and relative tls.ca_file paths are
// resolved against the target file's directory. Names must be unique within the file; Names
// keeps them unique across files. A file with no YAML document is an error, as a file caught
// half-written often is; "[]" is a file with no targets.
//
// c must come from Parse: a Config built otherwise has no record of what its defaults section
// writes, and its targets inherit none of it.
func (c *Config) ParseTargetFile(data []byte, filename string) (*TargetFile, error) {
	if err := checkSize(data, filename, 0); err != nil {
		return nil, err
	}
	root, err := parseYAML(data, filename)
	if err != nil {
		return nil, err
	}
	switch {
	case root == nil:
		return nil, &Error{File: filename, Line: 1, Err: errors.New("empty target file: want a YAML list of targets ([] for none)")}
	case root.Kind != yaml.SequenceNode:
		return nil, &Error{File: filename, Line: root.Line, Err: fmt.Errorf("a target file is a YAML list of targets (the entries of targets:, without the key), got a %s", kindName(root))}
	case len(root.Content) > MaxTargets:
		return nil, &Error{File: filename, Line: root.Line,
			Err: fmt.Errorf("%d targets, more than the limit of %d per file", len(root.Content), MaxTargets)}
	}
	d := newDecoder(filename, root)
	d.defaultsFile = c.File
	var targets []Target
	if err := d.decode(root, "", reflect.ValueOf(&targets).Elem()); err != nil {
		d.keep(err)
	}
	if d.stopped {
		return nil, d.errs.err()
	}
	def := &c.Defaults.Settings
	d.markWritten(def, c.defaultsSet)
	applyTargetDefaults(targets, def, d)
	compiled, err := targetList{d: d, def: def, dir: filepath.Dir(filename)}.validate(targets)
	if d.errs.add(err); len(d.errs.errs) > 0 {
		return nil, d.errs.err()
	}
	return &TargetFile{File: filename, Targets: targets, Compiled: compiled, lines: nameLines(d, "", len(targets))}, nil
}

// nameLines returns the line of each target's name in the list at path.
func nameLines(d *decoder, path string, n int) []int {
	l := targetList{d: d, path: path}
	lines := make([]int, n)
	for i := range lines {
		if node := d.node(l.item(i) + ".name"); node != nil {
			lines[i] = node.Line
		}
	}
	return lines
}

// position is "file:line" of the name of target i of f, or just the file when the line is
// unknown.
func (f *TargetFile) position(i int) string {
	if i < len(f.lines) && f.lines[i] > 0 {
		return fmt.Sprintf("%s:%d", f.File, f.lines[i])
	}
	return f.File
}

// nameError is an *Error at the name of target i of f.
func (f *TargetFile) nameError(i int, err error) *Error {
	e := &Error{File: f.File, Field: targetList{path: f.list}.item(i) + ".name", Err: err}
	if i < len(f.lines) {
		e.Line = f.lines[i]
	}
	return e
}

// WithTargets returns a copy of c that runs c's own targets followed by those of files, in
// order. It is a configuration to run (the collector's Manager.Apply), not one to read target
// files for again. Names are not checked here: see Names.
func (c *Config) WithTargets(files ...*TargetFile) *Config {
	n := len(c.Targets)
	for _, f := range files {
		n += len(f.Targets)
	}
	out := *c
	out.Targets = append(make([]Target, 0, n), c.Targets...)
	out.Compiled.Targets = append(make([]CompiledTarget, 0, n), c.Compiled.Targets...)
	for _, f := range files {
		out.Targets = append(out.Targets, f.Targets...)
		out.Compiled.Targets = append(out.Compiled.Targets, f.Compiled...)
	}
	out.nameLines = nil
	return &out
}

// Names records which file uses each target name, to keep names unique across a
// configuration file and its target files, whose label values they become.
type Names struct {
	at map[string]namePlace
}

type namePlace struct {
	file *TargetFile
	i    int
}

// NewNames returns an empty Names.
func NewNames() *Names {
	return &Names{at: map[string]namePlace{}}
}

// Add records every name of f, or none: if one is used by another file already, it returns
// an *Error at that name of f that says where the name was first used
// (`targets/b.yml:4: [0].name: duplicate target name "www" (first at pop.yml:12)`).
func (n *Names) Add(f *TargetFile) error {
	for i, t := range f.Targets {
		if p, taken := n.at[t.Name]; taken && p.file != f {
			return f.nameError(i, fmt.Errorf("duplicate target name %q (first at %s)", t.Name, p.file.position(p.i)))
		}
	}
	for i, t := range f.Targets {
		n.at[t.Name] = namePlace{f, i}
	}
	return nil
}

// Remove forgets the names that f uses, where Add recorded them for f.
func (n *Names) Remove(f *TargetFile) {
	for _, t := range f.Targets {
		if p, ok := n.at[t.Name]; ok && p.file == f {
			delete(n.at, t.Name)
		}
	}
}
