// Package targetfiles keeps the targets of a configuration's target files (target_files:)
// running as the files change, as Prometheus's file_sd does: it reads them with the
// configuration file and on every reload, again when their directories change (fsnotify) and
// every rescan interval (for changes no notice arrives for), and hands the collector the
// configuration file's own targets followed by every file's.
//
// A file that cannot be used (unreadable, invalid, caught half-written, or bringing a target
// name that is used already, or more targets than the limit) keeps its previous targets
// running and is reported as failing until a version of it can be used; the other files and
// the configuration file's targets go on as they are. So does a file in a directory that
// cannot be listed, and one replaced by a directory or a dangling symbolic link: only a file
// that is gone, from a directory that could be read, takes its targets with it. A new version
// of a file replaces the one in use only once it has stayed unchanged for a while (see
// Options.Debounce), so that a file being written in place is not taken half-written.
package targetfiles

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/popexporter/pop_exporter/config"
)

// Collector is what the targets are for: the collector's Manager.
type Collector interface {
	// Apply runs cfg's targets, keeping the probes of unchanged ones.
	Apply(cfg *config.Config) error
	// SetTargetFileStatus records, for every file matched, whether its last version is in use.
	SetTargetFileStatus(loaded map[string]bool)
}

// DefaultDebounce is how long the watched directories must be quiet after a change notice
// before the files are read: long enough that an editor's temporary file and rename, or a
// Kubernetes ConfigMap's symbolic link swap, is one read; short enough to feel immediate.
const DefaultDebounce = 200 * time.Millisecond

// maxDebounces bounds the wait, in debounce periods, under a stream of notices (a file being
// appended to for minutes): the files are read at least that often.
const maxDebounces = 10

// Options configure Files.
type Options struct {
	Logger log.Logger
	// RescanInterval is how often every matched file is read again, changed or not: the
	// fallback for changes no notice arrives for (network file systems, a directory created
	// after the start). <= 0 disables it.
	RescanInterval time.Duration
	// Debounce replaces DefaultDebounce when > 0. A new version of a file whose previous
	// version is in use must also have stayed unchanged for maxDebounces times this (2 s by
	// default) before it replaces that version.
	Debounce time.Duration
}

// Files owns the targets of each target file and what the collector runs. Load and Run may be
// called from different goroutines.
type Files struct {
	coll   Collector
	opts   Options
	logger log.Logger

	mu      sync.Mutex // serialises Load and the scans of Run
	main    *config.Config
	files   map[string]*file // by path, every file main's patterns matched at the last scan
	loaded  bool             // the collector runs main and the current versions of files
	changed chan struct{}    // Load tells Run that the patterns may have changed
	wake    time.Time        // when a version held back (see file.held) may settle; zero if none is
	now     func() time.Time // the clock; tests move it
}

// file is what is known of one target file.
type file struct {
	sum       [sha256.Size]byte  // of the content last read
	mtime     time.Time          // the modification time of the file when last read
	seenAt    time.Time          // when sum and mtime were first read as they are
	held      bool               // parsed is a new version that has not settled yet, not considered
	parsedFor *config.Config     // the configuration the content was parsed with
	parsed    *config.TargetFile // the content last read, parsed; nil if it could not be read or parsed
	err       error              // why the last version read is not in use; nil when it is
	current   *config.TargetFile // the version in use; nil when none ever was
	curSum    [sha256.Size]byte  // of the content of current
	curFor    *config.Config     // the configuration current was parsed with
}

// New returns Files that hand their targets to coll. Nothing is read before Load.
func New(coll Collector, opts Options) *Files {
	if opts.Logger == nil {
		opts.Logger = log.NewNopLogger()
	}
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	return &Files{coll: coll, opts: opts, logger: opts.Logger, files: map[string]*file{}, changed: make(chan struct{}, 1), now: time.Now}
}

// Load makes main the configuration: it reads every target file main's patterns match, with
// main's defaults, and applies main's targets followed by those of every file that can be
// used. A file that cannot be used keeps its previous targets (none at the start), is logged,
// and is reported as failing; that is not an error of Load. Load fails, and changes nothing,
// when main cannot run: when the collector refuses it, or when main uses a target name that
// a target file keeps using (the configuration file's change brings the duplicate).
func (fs *Files) Load(main *config.Config) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.update(main); err != nil {
		return err
	}
	select {
	case fs.changed <- struct{}{}:
	default:
	}
	return nil
}

// rescan reads the files of the current configuration again; the collector hears of changes.
func (fs *Files) rescan() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.main == nil {
		return
	}
	if err := fs.update(fs.main); err != nil {
		level.Error(fs.logger).Log("msg", "cannot apply the targets of changed target files; the previous ones keep running", "err", err)
	}
}

// update works out the files' targets under main, applies them if anything changed, and
// commits; on error it changes nothing. fs.mu must be held.
func (fs *Files) update(main *config.Config) error {
	next, wake, err := scan(main, fs.files, fs.now(), maxDebounces*fs.opts.Debounce)
	if err != nil {
		return err
	}
	if main != fs.main || !fs.loaded || !sameVersions(fs.files, next) {
		if err := fs.coll.Apply(main.WithTargets(inUse(next)...)); err != nil {
			return err
		}
	}
	fs.report(main, next)
	fs.main, fs.files, fs.loaded, fs.wake = main, next, true, wake
	status := make(map[string]bool, len(next))
	for path, f := range next {
		status[path] = f.err == nil
	}
	fs.coll.SetTargetFileStatus(status)
	return nil
}

// report logs what changed from fs.files to next: files gone, files whose version in use
// changed, and each new error (again after a reload of the configuration file).
func (fs *Files) report(main *config.Config, next map[string]*file) {
	for path, old := range fs.files {
		if _, ok := next[path]; !ok && old.current != nil {
			level.Info(fs.logger).Log("msg", "target file no longer matched; its targets stop", "file", path, "targets", len(old.current.Targets))
		}
	}
	for _, path := range sortedPaths(next) {
		f, old := next[path], fs.files[path]
		switch {
		case f.err != nil && (old == nil || old.err == nil || old.err.Error() != f.err.Error() || main != fs.main):
			kept := 0
			if f.current != nil {
				kept = len(f.current.Targets)
			}
			level.Error(fs.logger).Log("msg", "target file not used; its previous targets keep running", "file", path, "targets", kept, "err", f.err)
		case f.err == nil && (old == nil || old.current != f.current):
			level.Info(fs.logger).Log("msg", "target file loaded", "file", path, "targets", len(f.current.Targets))
		case f.held && (old == nil || !old.held || old.sum != f.sum):
			level.Debug(fs.logger).Log("msg", "target file changed a moment ago; it is read again when it has been left alone, and the version in use runs meanwhile", "file", path)
		}
	}
}

// scan reads every file main's patterns match and decides which version of each runs. prev is
// the state of the last scan; it is not changed (its entries are copied). A new version of a
// file that has one in use is held back until the file has not been written for settle (by
// its modification time, or by two reads settle apart that found it the same, for a clock
// that cannot be trusted); wake is when the first one held back may settle, zero if none is.
func scan(main *config.Config, prev map[string]*file, now time.Time, settle time.Duration) (next map[string]*file, wake time.Time, err error) {
	m, err := main.TargetFilePaths()
	if err != nil {
		return nil, time.Time{}, err
	}
	next = make(map[string]*file, len(m.Files))
	keep := func(path string, err error) { // a file whose fate is unknown keeps its version
		f := &file{}
		if p, ok := prev[path]; ok {
			*f = *p
		}
		f.fail(err)
		next[path] = f
	}
	for _, path := range m.Files {
		f := &file{}
		if p, ok := prev[path]; ok {
			*f = *p
		}
		prevErr := f.err
		f.read(main, path, now)
		f.held = false
		if f.parsed != nil && f.current != nil && f.parsed != f.current {
			since := f.mtime
			if since.After(now) { // written "in the future": a clock that cannot be trusted
				since = f.seenAt
			}
			if now.Sub(since) < settle {
				f.held, f.err = true, prevErr
				if at := since.Add(settle); wake.IsZero() || at.Before(wake) {
					wake = at
				}
			}
		}
		next[path] = f
	}
	// A target file replaced by a directory or a dangling link went wrong; it is not deleted.
	for path, err := range m.NotFiles {
		if _, ok := prev[path]; ok {
			keep(path, err)
		}
	}
	// What a directory that cannot be listed holds is unknown: its files keep their versions,
	// and the directory is reported failing itself when no file of it was known.
	for _, dir := range slices.Sorted(maps.Keys(m.Unreadable)) {
		known := false
		for path := range prev {
			if _, ok := next[path]; !ok && within(dir, path) {
				keep(path, m.Unreadable[dir])
				known = true
			}
		}
		if _, ok := next[dir]; !ok && !known {
			keep(dir, m.Unreadable[dir])
		}
	}
	if err := choose(main, slices.Sorted(maps.Keys(next)), next); err != nil {
		return nil, time.Time{}, err
	}
	return next, wake, nil
}

// within says whether path is dir or inside it.
func within(dir, path string) bool {
	return path == dir || strings.HasPrefix(path, strings.TrimSuffix(dir, string(filepath.Separator))+string(filepath.Separator))
}

// read reads the file at path and parses it with main's defaults, unless it is as it was when
// last parsed with main. A file that cannot be read or parsed gets f.err; f.current stays.
func (f *file) read(main *config.Config, path string, now time.Time) {
	data, fi, err := config.ReadFileInfo(path, "target file")
	if err != nil {
		f.fail(err)
		return
	}
	sum := sha256.Sum256(data)
	if sum != f.sum || !fi.ModTime().Equal(f.mtime) {
		f.seenAt = now
	}
	f.mtime = fi.ModTime()
	if sum == f.sum && main == f.parsedFor {
		return // f.parsed and f.err stand
	}
	if f.current != nil && sum == f.curSum && main == f.curFor { // back to the version in use
		f.sum, f.parsedFor, f.parsed, f.err = sum, main, f.current, nil
		return
	}
	f.sum, f.parsedFor = sum, main
	f.parsed, f.err = main.ParseTargetFile(data, path)
}

// fail records that the file could not be read: its version in use, if any, stays.
func (f *file) fail(err error) {
	f.sum, f.parsedFor, f.parsed, f.err, f.held = [sha256.Size]byte{}, nil, nil, err, false
	f.mtime, f.seenAt = time.Time{}, time.Time{}
}

// choose decides, for each file whose content parsed into a version not in use yet, whether
// that version can replace the one in use: it can unless it brings a name that main or
// another file uses, or takes the total past config.MaxTargets. A file whose new version
// makes room for another's (a target moved from one file to another) goes first, whatever
// their order. A refused version leaves the file's previous one in use and sets its err.
// choose fails when main itself clashes with a version that stays in use.
func choose(main *config.Config, paths []string, files map[string]*file) error {
	own := main.OwnTargets()
	names := config.NewNames()
	if err := names.Add(own); err != nil {
		return err
	}
	total := len(main.Targets)
	var pending []string
	clashes := map[string]bool{} // files whose version in use has a name main now uses
	for _, path := range paths {
		f := files[path]
		if f.current != nil {
			if names.Add(f.current) != nil {
				clashes[path] = true
			} else {
				total += len(f.current.Targets)
			}
		}
		if f.parsed != nil && f.parsed != f.current && !f.held {
			pending = append(pending, path)
		}
	}

	for progress := true; progress && len(pending) > 0; {
		progress = false
		var refused []string
		for _, path := range pending {
			f := files[path]
			held := f.current != nil && !clashes[path]
			if held {
				names.Remove(f.current)
				total -= len(f.current.Targets)
			}
			err := names.Add(f.parsed)
			if err == nil && total+len(f.parsed.Targets) > config.MaxTargets {
				names.Remove(f.parsed)
				err = &config.Error{File: path, Err: fmt.Errorf("%d targets would make %d in all with the configuration file's and the other target files', more than the limit of %d",
					len(f.parsed.Targets), total+len(f.parsed.Targets), config.MaxTargets)}
			}
			if err != nil {
				if held {
					_ = names.Add(f.current) // its names were free a moment ago
					total += len(f.current.Targets)
				}
				f.err = err
				refused = append(refused, path)
				continue
			}
			total += len(f.parsed.Targets)
			f.current, f.curSum, f.curFor, f.err = f.parsed, f.sum, f.parsedFor, nil
			delete(clashes, path)
			progress = true
		}
		pending = refused
	}

	for _, path := range paths {
		if f := files[path]; clashes[path] {
			n := config.NewNames()
			_ = n.Add(f.current)
			return n.Add(own)
		}
	}
	if total > config.MaxTargets {
		return &config.Error{File: main.File, Err: fmt.Errorf("%d targets of its own and %d in the target files in use, more than the limit of %d in all",
			len(main.Targets), total-len(main.Targets), config.MaxTargets)}
	}
	return nil
}

// inUse returns the version in use of every file that has one, in path order.
func inUse(files map[string]*file) []*config.TargetFile {
	var out []*config.TargetFile
	for _, path := range sortedPaths(files) {
		if f := files[path]; f.current != nil {
			out = append(out, f.current)
		}
	}
	return out
}

// sameVersions says whether a and b run the same versions of the same files.
func sameVersions(a, b map[string]*file) bool {
	if len(inUse(a)) != len(inUse(b)) {
		return false
	}
	for path, f := range b {
		if old, ok := a[path]; (!ok && f.current != nil) || ok && old.current != f.current {
			return false
		}
	}
	return true
}

// Check reads every target file of main as Load does at the start, without running anything,
// and returns main with the targets of the files that can be used, and an error naming every
// file that cannot (nil when all can). For --config.check.
func Check(main *config.Config) (*config.Config, error) {
	files, _, err := scan(main, nil, time.Now(), 0)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, path := range sortedPaths(files) {
		if err := files[path].err; err != nil {
			errs = append(errs, err)
		}
	}
	return main.WithTargets(inUse(files)...), errors.Join(errs...)
}

// Run watches the directories of the target files and reads the files again after every
// change, and every rescan interval, until ctx is cancelled. It returns when it has stopped
// watching. Without a way to watch (no inotify instance left, say) it only rescans.
func (fs *Files) Run(ctx context.Context) {
	w := newWatcher(fs.logger)
	defer w.close()
	w.sync(fs.patterns())
	// Files may have changed between Load and the start of the watch.
	fs.rescan()

	var tick <-chan time.Time
	if fs.opts.RescanInterval > 0 {
		t := time.NewTicker(fs.opts.RescanInterval)
		defer t.Stop()
		tick = t.C
	}
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	defer debounce.Stop()
	// settled fires when a version held back may have settled: the files are read again then.
	settled := time.NewTimer(time.Hour)
	settled.Stop()
	defer settled.Stop()
	var first time.Time // of the notices not read yet; zero when none
	for {
		if wake := fs.nextWake(); !wake.IsZero() {
			settled.Reset(max(wake.Sub(fs.now()), 0) + time.Millisecond)
		}
		select {
		case <-ctx.Done():
			return
		case <-w.events:
			now := time.Now()
			if first.IsZero() {
				first = now
			}
			// Wait for a quiet moment, but not for ever.
			debounce.Reset(min(fs.opts.Debounce, first.Add(maxDebounces*fs.opts.Debounce).Sub(now)))
			continue
		case err := <-w.errors:
			level.Warn(fs.logger).Log("msg", "watching target files", "err", err)
			continue
		case <-fs.changed:
			w.sync(fs.patterns())
			continue
		case <-debounce.C:
		case <-settled.C:
		case <-tick:
		}
		first = time.Time{}
		fs.rescan()
		w.sync(fs.patterns()) // a directory matched by a pattern may have come or gone
	}
}

// nextWake returns when a version held back may settle, zero if none is.
func (fs *Files) nextWake() time.Time {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.wake
}

// patterns returns the target file patterns of the current configuration.
func (fs *Files) patterns() []string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.main == nil {
		return nil
	}
	return fs.main.TargetFilePatterns()
}

// sortedPaths returns the paths of files in order.
func sortedPaths(files map[string]*file) []string {
	return slices.Sorted(maps.Keys(files))
}
