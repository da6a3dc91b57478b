package targetfiles

import (
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/fsnotify/fsnotify"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// watcher watches the directories that target file patterns look in. Watching a directory
// rather than each file sees every way a file is replaced: written in place, renamed over by
// an editor, or swapped in by a Kubernetes ConfigMap volume (which renames a "..data"
// symbolic link), and files that come into being.
type watcher struct {
	logger log.Logger
	w      *fsnotify.Watcher // nil when no watch could be set up: then there are only rescans
	events chan struct{}     // a change in a watched directory, coalesced; nil without w
	errors <-chan error
	done   chan struct{} // closed when forward has returned
}

func newWatcher(logger log.Logger) *watcher {
	w := &watcher{logger: logger}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		level.Warn(logger).Log("msg", "cannot watch target files; they are read again every rescan interval only", "err", err)
		return w
	}
	w.w, w.errors = fw, fw.Errors
	w.events, w.done = make(chan struct{}, 1), make(chan struct{})
	go w.forward()
	return w
}

// forward passes on the notices that may change what a file holds (not those of a change of
// mode alone), as one until Run takes it: Run reads every file anyway. It never blocks, so
// fsnotify never waits for Run, and it returns when close closes fsnotify's channel.
func (w *watcher) forward() {
	defer close(w.done)
	for ev := range w.w.Events {
		if ev.Op == fsnotify.Chmod {
			continue
		}
		level.Debug(w.logger).Log("msg", "target file directory changed", "event", ev)
		select {
		case w.events <- struct{}{}:
		default: // one is pending already
		}
	}
}

// sync watches the directories patterns look in now, and stops watching others. A directory
// that cannot be watched (it does not exist yet) is tried again at the next sync, which
// follows every rescan.
func (w *watcher) sync(patterns []string) {
	if w.w == nil {
		return
	}
	want := dirs(patterns)
	for _, dir := range w.w.WatchList() {
		if !slices.Contains(want, dir) {
			_ = w.w.Remove(dir)
		}
	}
	watching := w.w.WatchList()
	for _, dir := range want {
		if slices.Contains(watching, dir) {
			continue
		}
		if err := w.w.Add(dir); err != nil {
			level.Debug(w.logger).Log("msg", "cannot watch a target file directory; it is read again every rescan interval", "dir", dir, "err", err)
		}
	}
}

// close stops the watch and waits for forward to return.
func (w *watcher) close() {
	if w.w == nil {
		return
	}
	_ = w.w.Close() // closes Events, which ends forward
	<-w.done
}

// dirs returns the directories that patterns look in: each pattern's directory part, or
// where that part is itself a pattern ("teams/*/targets.yml"), the directories it matches now.
func dirs(patterns []string) []string {
	var out []string
	for _, p := range patterns {
		dir := filepath.Dir(p)
		if !strings.ContainsAny(dir, `*?[\`) {
			out = append(out, dir)
			continue
		}
		matches, _ := filepath.Glob(dir) // Parse checked the pattern
		for _, m := range matches {
			if fi, err := os.Stat(m); err == nil && fi.IsDir() {
				out = append(out, m)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
