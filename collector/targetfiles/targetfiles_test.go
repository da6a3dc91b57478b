package targetfiles

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"
	"go.uber.org/goleak"

	"github.com/popexporter/pop_exporter/config"
)

// fakeCollector records what Files hands it.
type fakeCollector struct {
	mu      sync.Mutex
	applies int
	names   []string        // target names of the last Apply, in order
	status  map[string]bool // by file base name
}

func (c *fakeCollector) Apply(cfg *config.Config) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.applies++
	c.names = nil
	for _, t := range cfg.Targets {
		c.names = append(c.names, t.Name)
	}
	if len(cfg.Compiled.Targets) != len(cfg.Targets) {
		return fmt.Errorf("%d compiled targets for %d targets", len(cfg.Compiled.Targets), len(cfg.Targets))
	}
	return nil
}

func (c *fakeCollector) SetTargetFileStatus(loaded map[string]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.status = map[string]bool{}
	for path, ok := range loaded {
		c.status[filepath.Base(path)] = ok
	}
}

// state returns the names running and the file status, as "a b c" and "a.yml=true b.yml=false".
func (c *fakeCollector) state() (names, status string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var st []string
	for _, f := range slices.Sorted(maps.Keys(c.status)) {
		st = append(st, fmt.Sprintf("%s=%v", f, c.status[f]))
	}
	return strings.Join(c.names, " "), strings.Join(st, " ")
}

// syncBuffer is a log sink safe to read while Run writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// setup is a configuration directory with pop.yml and targets/.
type setup struct {
	t    *testing.T
	dir  string
	coll *fakeCollector
	logs *syncBuffer
	fs   *Files
	// skew is how far the Files' clock is ahead of the real one: by default an hour, so that
	// every file looks long written and a new version replaces the previous one at once.
	skew atomic.Int64
}

func newSetup(t *testing.T) *setup {
	t.Helper()
	s := &setup{t: t, dir: t.TempDir(), coll: &fakeCollector{}, logs: &syncBuffer{}}
	if err := os.Mkdir(filepath.Join(s.dir, "targets"), 0o755); err != nil {
		t.Fatal(err)
	}
	s.fs = New(s.coll, Options{Logger: log.NewLogfmtLogger(s.logs), Debounce: 20 * time.Millisecond})
	s.skew.Store(int64(time.Hour))
	s.fs.now = func() time.Time { return time.Now().Add(time.Duration(s.skew.Load())) }
	return s
}

// main writes pop.yml with the given own targets (names) and loads it.
func (s *setup) main(names ...string) *config.Config {
	s.t.Helper()
	var b strings.Builder
	b.WriteString("defaults: {interval: 1m}\ntarget_files: [targets/*.yml]\ntargets:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  - {name: %s, url: 'http://127.0.0.1:1/%s'}\n", n, n)
	}
	path := filepath.Join(s.dir, "pop.yml")
	s.write(path, b.String())
	cfg, err := config.Load(path)
	if err != nil {
		s.t.Fatal(err)
	}
	return cfg
}

// targets returns a target file listing names.
func targets(names ...string) string {
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "- name: %s\n  url: http://127.0.0.1:1/%s\n", n, n)
	}
	if b.Len() == 0 {
		return "[]\n"
	}
	return b.String()
}

// file writes targets/name atomically, as an editor or a deployment tool would.
func (s *setup) file(name, content string) {
	s.t.Helper()
	s.write(filepath.Join(s.dir, "targets", name), content)
}

func (s *setup) write(path, content string) {
	s.t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		s.t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		s.t.Fatal(err)
	}
}

func (s *setup) load(cfg *config.Config) {
	s.t.Helper()
	if err := s.fs.Load(cfg); err != nil {
		s.t.Fatal(err)
	}
}

// want asserts the names running and the file status.
func (s *setup) want(names, status string) {
	s.t.Helper()
	gotNames, gotStatus := s.coll.state()
	if gotNames != names || gotStatus != status {
		s.t.Errorf("running %q with files %q\nwant    %q with files %q", gotNames, gotStatus, names, status)
	}
}

func TestLoadRunsOwnTargetsAndEveryFile(t *testing.T) {
	s := newSetup(t)
	s.file("b.yml", targets("b1", "b2"))
	s.file("a.yml", targets("a1"))
	s.file("empty.yml", targets())
	s.file("notes.txt", "not a target file")
	s.load(s.main("www"))
	s.want("www a1 b1 b2", "a.yml=true b.yml=true empty.yml=true")
}

// A bad file at the start is logged and reported, and everything else starts.
func TestBadFileAtStart(t *testing.T) {
	s := newSetup(t)
	s.file("a.yml", targets("a1"))
	s.file("bad.yml", "- name: x\n  url: http://127.0.0.1:1/\n  intervall: 5s\n")
	s.load(s.main("www"))
	s.want("www a1", "a.yml=true bad.yml=false")
	if want := "bad.yml:3: [0]: unknown key \\\"intervall\\\""; !strings.Contains(s.logs.String(), want) {
		t.Errorf("log does not name the bad file, line and key (%s):\n%s", want, s.logs)
	}
}

// A corrupt or half-written file keeps its previous targets until it is fixed; a deleted file
// takes its targets with it.
func TestChangedFiles(t *testing.T) {
	s := newSetup(t)
	s.file("a.yml", targets("a1", "a2"))
	s.file("b.yml", targets("b1"))
	s.load(s.main("www"))

	s.file("a.yml", targets("a1", "a3"))
	s.fs.rescan()
	s.want("www a1 a3 b1", "a.yml=true b.yml=true")

	for _, broken := range []string{
		"- name: a1\n  url: http://127.0.0.1:1/a1\n- name: a4\n   url: http",
		"# being written\n",
		"- name: a1\n  url: http://127.0.0.1:1/a1\n- name: a4\n",
	} {
		s.file("a.yml", broken)
		s.fs.rescan()
		s.want("www a1 a3 b1", "a.yml=false b.yml=true")
	}

	s.file("a.yml", targets("a5"))
	s.fs.rescan()
	s.want("www a5 b1", "a.yml=true b.yml=true")

	if err := os.Remove(filepath.Join(s.dir, "targets", "b.yml")); err != nil {
		t.Fatal(err)
	}
	s.fs.rescan()
	s.want("www a5", "a.yml=true")

	// Nothing changed, nothing applied.
	applies := s.coll.applies
	s.fs.rescan()
	if s.coll.applies != applies {
		t.Error("a rescan that found nothing new applied the targets again")
	}
}

// Names are unique across the configuration file and every target file: the file whose
// change brings a duplicate is refused and keeps its previous targets, and a target may move
// from one file to another in one step, whichever is read first.
func TestDuplicateNames(t *testing.T) {
	s := newSetup(t)
	s.file("a.yml", targets("a1", "x"))
	s.file("b.yml", targets("b1"))
	s.load(s.main("www"))

	s.file("b.yml", targets("b1", "b2", "x"))
	s.fs.rescan()
	s.want("www a1 x b1", "a.yml=true b.yml=false")
	bPath := filepath.Join(s.dir, "targets", "b.yml")
	aPath := filepath.Join(s.dir, "targets", "a.yml")
	if want := fmt.Sprintf(`%s:5: [2].name: duplicate target name \"x\" (first at %s:3)`, bPath, aPath); !strings.Contains(s.logs.String(), want) {
		t.Errorf("log lacks %s:\n%s", want, s.logs)
	}

	// a.yml gives x up: b.yml's version, unchanged, can now be used.
	s.file("a.yml", targets("a1"))
	s.fs.rescan()
	s.want("www a1 b1 b2 x", "a.yml=true b.yml=true")

	// x moves back from b.yml (read second) to a.yml (read first), and www from the
	// configuration file's targets to a.yml on a reload.
	s.file("a.yml", targets("a1", "x"))
	s.file("b.yml", targets("b1", "b2"))
	s.fs.rescan()
	s.want("www a1 x b1 b2", "a.yml=true b.yml=true")
	s.file("a.yml", targets("a1", "x", "www"))
	s.fs.rescan()
	s.want("www a1 x b1 b2", "a.yml=false b.yml=true")
	s.load(s.main())
	s.want("a1 x www b1 b2", "a.yml=true b.yml=true")

	// Both files claim a new name at once: the first read gets it.
	s.file("a.yml", targets("a1", "x", "www", "y"))
	s.file("b.yml", targets("b1", "b2", "y"))
	s.fs.rescan()
	s.want("a1 x www y b1 b2", "a.yml=true b.yml=false")
}

// A reload of the configuration file that takes a name a target file keeps using fails and
// changes nothing: the configuration file's change brings the duplicate.
func TestReloadClashesWithFile(t *testing.T) {
	s := newSetup(t)
	s.file("a.yml", targets("a1", "x"))
	s.load(s.main("www"))
	cfg := s.main("www", "x")
	err := s.fs.Load(cfg)
	want := fmt.Sprintf(`%s:5: targets[1].name: duplicate target name "x" (first at %s:3)`, cfg.File, filepath.Join(s.dir, "targets", "a.yml"))
	if err == nil || err.Error() != want {
		t.Errorf("Load = %v\nwant %s", err, want)
	}
	s.want("www a1 x", "a.yml=true")

	// Also when the file's new version is bad: it keeps the version that has x.
	s.file("a.yml", "- {name: a1, url: 'http://127.0.0.1:1/', intervall: 1s}\n")
	if err := s.fs.Load(cfg); err == nil {
		t.Error("Load succeeded although a.yml keeps x")
	}
	s.file("a.yml", targets("a1"))
	s.load(cfg)
	s.want("www x a1", "a.yml=true")
}

// The total across the configuration file and every target file obeys config.MaxTargets; a
// file that would pass it is refused and keeps its previous targets.
func TestTotalLimit(t *testing.T) {
	many := func(file, prefix string, n int) *config.TargetFile {
		f := &config.TargetFile{File: file, Targets: make([]config.Target, n), Compiled: make([]config.CompiledTarget, n)}
		for i := range f.Targets {
			f.Targets[i].Name = fmt.Sprintf("%s%d", prefix, i)
		}
		return f
	}
	main := &config.Config{File: "pop.yml", Targets: many("pop.yml", "m", 10).Targets}
	a, b, b2 := many("a.yml", "a", 60_000), many("b.yml", "b", 30_000), many("b.yml", "b", 40_000)
	files := map[string]*file{"a.yml": {parsed: a, current: a}, "b.yml": {parsed: b2, current: b}}
	if err := choose(main, []string{"a.yml", "b.yml"}, files); err != nil {
		t.Fatal(err)
	}
	want := "b.yml: 40000 targets would make 100010 in all with the configuration file's and the other target files', more than the limit of 100000"
	if f := files["b.yml"]; f.current != b || f.err == nil || f.err.Error() != want {
		t.Errorf("b.yml: current has %d targets, err %v; want the previous 30000 and %s", len(f.current.Targets), f.err, want)
	}
	// The configuration file grown past the limit with the files in use: its reload fails.
	big := &config.Config{File: "pop.yml", Targets: many("pop.yml", "m", 10_001).Targets}
	files = map[string]*file{"a.yml": {parsed: a, current: a}, "b.yml": {parsed: b, current: b}}
	if err := choose(big, []string{"a.yml", "b.yml"}, files); err == nil ||
		err.Error() != "pop.yml: 10001 targets of its own and 90000 in the target files in use, more than the limit of 100000 in all" {
		t.Errorf("grown configuration file: %v", err)
	}
}

// Check reads the files as the start does and names every bad one.
func TestCheck(t *testing.T) {
	s := newSetup(t)
	s.file("a.yml", targets("a1", "www"))
	s.file("b.yml", targets("b1"))
	s.file("c.yml", "targets: []\n")
	merged, err := Check(s.main("www"))
	a, c := filepath.Join(s.dir, "targets", "a.yml"), filepath.Join(s.dir, "targets", "c.yml")
	want := fmt.Sprintf("%s:3: [1].name: duplicate target name \"www\" (first at %s:4)\n"+
		"%s:1: a target file is a YAML list of targets (the entries of targets:, without the key), got a mapping",
		a, filepath.Join(s.dir, "pop.yml"), c)
	if err == nil || err.Error() != want {
		t.Errorf("Check error:\n%v\nwant\n%s", err, want)
	}
	if merged == nil || len(merged.Targets) != 2 {
		t.Errorf("Check runs %v, want www and b1", merged)
	}
}

// runFiles runs s.fs until the test ends, and checks that it stopped without leaving a
// goroutine behind.
func runFiles(t *testing.T, fs *Files) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		fs.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return within 5s of its context's end")
		}
		goleak.VerifyNone(t, ignore)
	})
}

// waitFor polls until s runs names with status, failing after 10 s.
func (s *setup) waitFor(names, status string) {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		gotNames, gotStatus := s.coll.state()
		if gotNames == names && gotStatus == status {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("running %q with files %q after 10s, want %q with %q\nlog:\n%s", gotNames, gotStatus, names, status, s.logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Changes are seen by watching the directory, with no rescan: files written in place or
// renamed over, created and deleted, and a Kubernetes ConfigMap volume's "..data" swap.
func TestRunWatchesDirectories(t *testing.T) {
	s := newSetup(t)
	s.skew.Store(0) // new versions settle for real, as Run schedules
	s.file("a.yml", targets("a1"))
	s.load(s.main("www"))
	runFiles(t, s.fs)

	s.file("b.yml", targets("b1"))
	s.waitFor("www a1 b1", "a.yml=true b.yml=true")
	if err := os.WriteFile(filepath.Join(s.dir, "targets", "a.yml"), []byte(targets("a2")), 0o600); err != nil {
		t.Fatal(err)
	}
	s.waitFor("www a2 b1", "a.yml=true b.yml=true")
	if err := os.Remove(filepath.Join(s.dir, "targets", "b.yml")); err != nil {
		t.Fatal(err)
	}
	s.waitFor("www a2", "a.yml=true")

	// A ConfigMap volume: targets/cm.yml -> ..data/cm.yml, ..data -> ..v1; an update writes
	// ..v2 and renames a new ..data link over the old one.
	cm := filepath.Join(s.dir, "targets")
	version := func(v, content string) {
		if err := os.Mkdir(filepath.Join(cm, v), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(cm, v, "cm.yml"), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(v, filepath.Join(cm, "..data_tmp")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(cm, "..data_tmp"), filepath.Join(cm, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	version("..v1", targets("c1"))
	if err := os.Symlink(filepath.Join("..data", "cm.yml"), filepath.Join(cm, "cm.yml")); err != nil {
		t.Fatal(err)
	}
	s.waitFor("www a2 c1", "a.yml=true cm.yml=true")
	version("..v2", targets("c1", "c2"))
	s.waitFor("www a2 c1 c2", "a.yml=true cm.yml=true")
}

// Without a notice (here: the directory did not exist when the watch began) the rescan
// interval finds the files; the directory is watched from then on.
func TestRunRescans(t *testing.T) {
	s := newSetup(t)
	cfgPath := filepath.Join(s.dir, "pop.yml")
	s.write(cfgPath, "target_files: [later/*.yml]\n")
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	s.fs.opts.RescanInterval = 50 * time.Millisecond
	s.load(cfg)
	runFiles(t, s.fs)
	if err := os.Mkdir(filepath.Join(s.dir, "later"), 0o755); err != nil {
		t.Fatal(err)
	}
	s.write(filepath.Join(s.dir, "later", "a.yml"), targets("a1"))
	s.waitFor("a1", "a.yml=true")
}
