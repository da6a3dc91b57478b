package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// mainFile is the configuration file the target files in testdata/targets belong to: it sets
// every key of the defaults section.
const mainFile = "testdata/valid-full.yml"

func loadMain(t testing.TB) *Config {
	t.Helper()
	cfg, err := Load(mainFile)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestInvalidTargetFiles asserts the exact error for each testdata/targets/invalid-*.yml, as
// the exporter logs it and --config.check prints it: the target file, the line, and the field
// path from the list ("[2].name").
func TestInvalidTargetFiles(t *testing.T) {
	cfg := loadMain(t)
	tests := map[string]string{
		"unknown-key":      `:3: [0]: unknown key "intervall" (did you mean "interval"?)`,
		"yaml-syntax":      `:4: yaml indentation: "url" is indented 3 spaces, more than "name" on line 3, which already has a value: indent it 2 spaces, as "name" is`,
		"empty":            `:1: empty target file: want a YAML list of targets ([] for none)`,
		"mapping":          `:1: a target file is a YAML list of targets (the entries of targets:, without the key), got a mapping`,
		"duplicate-name":   `:5: [2].name: duplicate target name "a" (first at line 1)`,
		"name-missing":     `:3: [1].name: name is required`,
		"timeout-defaults": `:3: [0].interval: interval 5s must be longer than timeout 10s (defaults.timeout in testdata/valid-full.yml)`,
		"ca-file":          `:4: [0].tls.ca_file: cannot read CA file: open testdata/targets/missing.pem: no such file or directory`,
		"header-name":      `:4: [0].headers.X Probe: invalid header name "X Probe"`,
	}
	checkInvalidFiles(t, "testdata/targets/invalid-*.yml", tests, "LoadTargetFile",
		func(file string) (any, error) { return cfg.LoadTargetFile(file) })
}

// TestTargetFileDefaults: a target in a target file gets exactly the effective values it would
// get written under targets: in the configuration file, whose defaults section sets every key.
func TestTargetFileDefaults(t *testing.T) {
	cfg := loadMain(t)
	tf, err := cfg.LoadTargetFile("testdata/targets/valid-full.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(tf.Targets) != len(cfg.Targets) || len(tf.Compiled) != len(cfg.Targets) {
		t.Fatalf("%d targets, %d compiled; want %d", len(tf.Targets), len(tf.Compiled), len(cfg.Targets))
	}
	for i, got := range tf.Targets {
		want := cfg.Targets[i]
		want.Name += "-file"
		checkTarget(t, got, want)
		if u := tf.Compiled[i].URL; u == nil || u.String() != want.URL {
			t.Errorf("%s: compiled URL %v, want %s", got.Name, u, want.URL)
		}
	}
	// ca_file is relative to the target file's directory: ../ca.pem is the main file's ca.pem.
	if tf.Compiled[0].RootCAs == nil {
		t.Error("tls.ca_file set but RootCAs is nil")
	}
}

// TestTargetFileDefaultsFromFile: only what the defaults section writes is inherited, and an
// order error that only the defaults section causes is placed on the inheriting target.
func TestTargetFileDefaultsFromFile(t *testing.T) {
	cfg, err := Parse([]byte("defaults: {timeout: 40s}\ntarget_files: [t.yml]\n"), "pop.yml")
	if err != nil {
		t.Fatal(err)
	}
	tf, err := cfg.ParseTargetFile([]byte("- {name: a, url: 'http://a/', interval: 1m}\n- {name: b, url: 'http://b/', interval: 10s, timeout: 5s}\n"), "t.yml")
	if err != nil {
		t.Fatal(err)
	}
	if a := tf.Targets[0]; a.Timeout != Duration(40*time.Second) || a.Method != "GET" || a.BaselineWindow != Duration(30*time.Minute) {
		t.Errorf("a: timeout %s method %q baseline_window %s, want 40s (defaults), GET and 30m (built-in)", a.Timeout, a.Method, a.BaselineWindow)
	}
	if b := tf.Targets[1]; b.Timeout != Duration(5*time.Second) {
		t.Errorf("b: timeout %s, want its own 5s", b.Timeout)
	}
	_, err = cfg.ParseTargetFile([]byte("- {name: a, url: 'http://a/', interval: 1m}\n- {name: c, url: 'http://c/'}\n"), "t.yml")
	if want := "t.yml:2: [1]: timeout 40s (defaults.timeout in pop.yml) must be shorter than interval 30s (built-in default)"; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}

	// So is a source address of the other family.
	v4, err := Parse([]byte("defaults: {source_address: 192.0.2.7}\ntarget_files: [t.yml]\n"), "pop.yml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = v4.ParseTargetFile([]byte("- {name: a, url: 'http://a/'}\n- {name: b, url: 'http://b/', ip_protocols: [ip6]}\n"), "t.yml")
	if want := "t.yml:2: [1]: source_address 192.0.2.7 (defaults.source_address in pop.yml) is ip4, but the target probes ip6"; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}

	// A Config whose defaults section writes nothing lends nothing, even an explicit zero.
	bare, err := Parse([]byte("target_files: [t.yml]\n"), "pop.yml")
	if err != nil {
		t.Fatal(err)
	}
	tf, err = bare.ParseTargetFile([]byte("[{name: a, url: 'http://a/'}]"), "t.yml")
	if err != nil {
		t.Fatal(err)
	}
	if a := tf.Targets[0]; a.Interval != defaultInterval || a.Timeout != maxDefaultTimeout || !slices.Equal(a.IPProtocols, defaultIPProtocols) {
		t.Errorf("a: %+v, want the built-in defaults", a)
	}
}

// TestTargetFileEmptyList: "[]" is a valid file with no targets; a configuration with
// target_files needs no targets of its own.
func TestTargetFileEmptyList(t *testing.T) {
	cfg, err := Parse([]byte("target_files: [targets/*.yml]\n"), "pop.yml")
	if err != nil {
		t.Fatal(err)
	}
	tf, err := cfg.ParseTargetFile([]byte("[]\n"), "targets/a.yml")
	if err != nil || len(tf.Targets) != 0 {
		t.Errorf("[]: %v, %d targets; want no error and none", err, len(tf.Targets))
	}
}

// TestTargetFilePaths: patterns are relative to the configuration file's directory, matches
// are sorted and listed once; directories and dangling links are no files, and are named.
func TestTargetFilePaths(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"targets/b.yml", "targets/a.yml", "targets/c.yaml", "other/x.yml"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("[]"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "targets", "sub.yml"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A dangling symbolic link is a file that is not there (yet, or any more).
	if err := os.Symlink("gone.yml", filepath.Join(dir, "targets", "d.yml")); err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse([]byte("target_files: [targets/*.yml, targets/a.yml, missing/*.yml, "+filepath.Join(dir, "other", "*.yml")+"]\n"),
		filepath.Join(dir, "pop.yml"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := cfg.TargetFilePaths()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, name := range []string{"other/x.yml", "targets/a.yml", "targets/b.yml"} {
		want = append(want, filepath.Join(dir, name))
	}
	if !slices.Equal(got.Files, want) {
		t.Errorf("TargetFilePaths() = %q, want %q", got.Files, want)
	}
	if len(got.NotFiles) != 2 || got.NotFiles[filepath.Join(dir, "targets", "sub.yml")] == nil || got.NotFiles[filepath.Join(dir, "targets", "d.yml")] == nil {
		t.Errorf("not files: %v, want sub.yml and d.yml", got.NotFiles)
	}
	if len(got.Unreadable) != 0 {
		t.Errorf("unreadable: %v, want none (a missing directory matches nothing)", got.Unreadable)
	}
}

// A directory that cannot be listed is reported, not taken for an empty one: filepath.Glob
// would match nothing in it, and every target in it would stop. A symbolic link loop stands
// for every such error (EACCES, EIO, ESTALE) because it fails for root too.
func TestTargetFilePathsUnreadableDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink("loop", filepath.Join(dir, "loop")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "teams", "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("b", filepath.Join(dir, "teams", "b")); err != nil { // loops too
		t.Fatal(err)
	}
	cfg, err := Parse([]byte("target_files: [loop/*.yml, loop/fixed.yml, teams/*/targets.yml]\n"), filepath.Join(dir, "pop.yml"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := cfg.TargetFilePaths()
	if err != nil {
		t.Fatal(err)
	}
	loop := filepath.Join(dir, "loop")
	if len(got.Files) != 0 || got.Unreadable[loop] == nil {
		t.Fatalf("files %q, unreadable %v; want %s unreadable", got.Files, got.Unreadable, loop)
	}
	if msg := got.Unreadable[loop].Error(); !strings.Contains(msg, loop) || !strings.Contains(msg, "too many levels of symbolic links") {
		t.Errorf("error %q does not name the directory and the cause", msg)
	}
	if b := filepath.Join(dir, "teams", "b"); len(got.Unreadable) != 2 || got.Unreadable[b] == nil {
		t.Errorf("unreadable %v, want %s and %s", got.Unreadable, loop, b)
	}
}

// TestNamesAcrossFiles: a name is unique across the configuration file and its target files;
// the error is placed at the later use and names the first.
func TestNamesAcrossFiles(t *testing.T) {
	cfg, err := Parse([]byte("target_files: [targets/*.yml]\ntargets:\n  - name: api\n    url: http://api/\n  - name: www\n    url: http://www/\n"), "pop.yml")
	if err != nil {
		t.Fatal(err)
	}
	a, err := cfg.ParseTargetFile([]byte("- {name: static, url: 'http://s/'}\n"), "targets/a.yml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := cfg.ParseTargetFile([]byte("- {name: img, url: 'http://i/'}\n\n\n- name: www\n  url: http://w/\n"), "targets/b.yml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := cfg.ParseTargetFile([]byte("- {name: cdn, url: 'http://c/'}\n- {name: static, url: 'http://s/'}\n"), "targets/c.yml")
	if err != nil {
		t.Fatal(err)
	}

	n := NewNames()
	for _, f := range []*TargetFile{cfg.OwnTargets(), a} {
		if err := n.Add(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Add(b); err == nil || err.Error() != `targets/b.yml:4: [1].name: duplicate target name "www" (first at pop.yml:5)` {
		t.Errorf("b: %v", err)
	}
	if err := n.Add(c); err == nil || err.Error() != `targets/c.yml:2: [1].name: duplicate target name "static" (first at targets/a.yml:1)` {
		t.Errorf("c: %v", err)
	}
	// A refused file added none of its names: cdn is free. Once a is gone, c fits.
	n.Remove(a)
	if err := n.Add(c); err != nil {
		t.Errorf("c after a was removed: %v", err)
	}
	// The configuration file's own target is the later use when a file holds the name first.
	n = NewNames()
	if err := n.Add(b); err != nil {
		t.Fatal(err)
	}
	if err := n.Add(cfg.OwnTargets()); err == nil || err.Error() != `pop.yml:5: targets[1].name: duplicate target name "www" (first at targets/b.yml:4)` {
		t.Errorf("main after b: %v", err)
	}

	merged := cfg.WithTargets(a, b)
	var names []string
	for i, tg := range merged.Targets {
		names = append(names, tg.Name)
		if merged.Compiled.Targets[i].URL.String() != tg.URL {
			t.Errorf("%s: compiled URL %s, want %s", tg.Name, merged.Compiled.Targets[i].URL, tg.URL)
		}
	}
	if want := []string{"api", "www", "static", "img", "www"}; !slices.Equal(names, want) {
		t.Errorf("WithTargets names %q, want %q", names, want)
	}
	if len(cfg.Targets) != 2 {
		t.Errorf("WithTargets changed the configuration it copies: %d targets", len(cfg.Targets))
	}
}

// TestTargetFileLimits: a target file obeys the per-file limits of a configuration file.
func TestTargetFileLimits(t *testing.T) {
	cfg, err := Parse([]byte("target_files: [t.yml]\n"), "pop.yml")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("# many\n")
	for i := range MaxTargets + 1 {
		fmt.Fprintf(&b, "- {name: t%d, url: http://127.0.0.1/}\n", i)
	}
	_, err = cfg.ParseTargetFile([]byte(b.String()), "t.yml")
	if want := "t.yml:2: 100001 targets, more than the limit of 100000 per file"; err == nil || err.Error() != want {
		t.Errorf("MaxTargets+1: %v, want %s", err, want)
	}
	huge := filepath.Join(t.TempDir(), "huge.yml")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxFileSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = cfg.LoadTargetFile(huge)
	if want := huge + ": the file has 67108865 bytes, more than the limit of 64MiB for a configuration file"; err == nil || err.Error() != want {
		t.Errorf("64 MiB + 1: %v, want %s", err, want)
	}
	if _, err := cfg.LoadTargetFile(filepath.Join(t.TempDir(), "gone.yml")); !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "reading target file: ") {
		t.Errorf("missing file: %v", err)
	}
}

// TestTargetFileReloadSeesEqualTargets: two parses of an unchanged target file give targets
// that reflect.DeepEqual finds equal, which is how the collector keeps their probes running.
func TestTargetFileReloadSeesEqualTargets(t *testing.T) {
	a, err := loadMain(t).LoadTargetFile("testdata/targets/valid-full.yml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := loadMain(t).LoadTargetFile("testdata/targets/valid-full.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Targets, b.Targets) {
		t.Error("two loads of one target file give different targets")
	}
}
