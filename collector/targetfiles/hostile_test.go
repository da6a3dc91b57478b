//go:build unix

package targetfiles

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeInPlace rewrites path the way a writer that does not rename does: truncate, then write.
func writeInPlace(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// numbered returns the names prefix0 … prefix(n-1), space-separated.
func numbered(prefix string, n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return names
}

// A file caught half-written, cut at an entry boundary (fewer targets) or inside a value (a
// truncated URL), parses; it still does not replace the version in use until the file has
// been left alone for the settle time (ten debounce periods). A writer that finishes in
// time is read whole; a shorter version left in place is used once it settles.
func TestHalfWrittenFileIsHeld(t *testing.T) {
	s := newSetup(t)
	s.skew.Store(0)
	// A settle time far longer than this test can take, however loaded the machine: the test
	// moves the clock instead of waiting.
	s.fs.opts.Debounce = time.Minute
	path := filepath.Join(s.dir, "targets", "a.yml")
	full := targets(numbered("t", 500)...)
	s.file("a.yml", full)
	s.load(s.main())
	all := strings.Join(numbered("t", 500), " ")
	s.want(all, "a.yml=true")
	applies := s.coll.applies

	cutAtEntry := full[:strings.Index(full, "- name: t100\n")]
	cutInValue := full[:strings.Index(full, "/t499\n")+3]
	for _, half := range []string{cutAtEntry, cutInValue} {
		writeInPlace(t, path, half)
		s.fs.rescan()
		s.want(all, "a.yml=true")
		if wake := s.fs.nextWake(); wake.IsZero() {
			t.Error("no rescan scheduled for the version held back")
		}
		writeInPlace(t, path, full) // the writer finishes
		s.fs.rescan()
		s.want(all, "a.yml=true")
	}
	if s.coll.applies != applies {
		t.Errorf("%d applies while the file was half-written", s.coll.applies-applies)
	}
	if !s.fs.nextWake().IsZero() {
		t.Error("a rescan is still scheduled with nothing held back")
	}

	// The shorter version, left alone for the settle time, is used.
	writeInPlace(t, path, cutAtEntry)
	s.fs.rescan()
	s.want(all, "a.yml=true")
	s.skew.Store(int64(11 * time.Minute))
	s.fs.rescan()
	s.want(strings.Join(numbered("t", 100), " "), "a.yml=true")
}

// A target directory that cannot be listed keeps every target of its files running and reports
// each file failing; at the start it is itself reported failing. A symbolic link loop stands in
// for every error of listing (EACCES, EIO, a stale NFS handle) as it fails for root too.
func TestUnreadableDirectoryKeepsTargets(t *testing.T) {
	s := newSetup(t)
	s.file("a.yml", targets("a1", "a2"))
	s.file("b.yml", targets("b1"))
	s.load(s.main("www"))
	s.want("www a1 a2 b1", "a.yml=true b.yml=true")

	dir := filepath.Join(s.dir, "targets")
	if err := os.Rename(dir, dir+".real"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("targets", dir); err != nil {
		t.Fatal(err)
	}
	s.fs.rescan()
	s.want("www a1 a2 b1", "a.yml=false b.yml=false")
	if want := "too many levels of symbolic links"; !strings.Contains(s.logs.String(), want) {
		t.Errorf("log lacks the cause (%s):\n%s", want, s.logs)
	}
	if _, err := Check(s.fs.main); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("Check = %v, want an error naming %s", err, dir)
	}

	// At the start, with nothing known of the directory, the directory itself fails.
	coll := &fakeCollector{}
	if err := New(coll, Options{}).Load(s.fs.main); err != nil {
		t.Fatal(err)
	}
	if names, status := coll.state(); names != "www" || status != "targets=false" {
		t.Errorf("at the start: running %q with files %q, want www with targets=false", names, status)
	}

	// Readable again: the files are what they say.
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(dir+".real", dir); err != nil {
		t.Fatal(err)
	}
	s.fs.rescan()
	s.want("www a1 a2 b1", "a.yml=true b.yml=true")
}

// A target file replaced by a directory or by a symbolic link to nothing has gone wrong; it
// is not deleted: its targets keep running and it is reported failing. Removed, it is deleted.
func TestFileReplacedByDirectoryOrDanglingLink(t *testing.T) {
	s := newSetup(t)
	s.file("a.yml", targets("a1"))
	s.file("b.yml", targets("b1"))
	s.load(s.main("www"))
	a, b := filepath.Join(s.dir, "targets", "a.yml"), filepath.Join(s.dir, "targets", "b.yml")
	if err := os.Remove(a); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(a, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(b); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("gone.yml", b); err != nil {
		t.Fatal(err)
	}
	s.fs.rescan()
	s.want("www a1 b1", "a.yml=false b.yml=false")
	for _, want := range []string{a + ": a directory, not a target file", b + ": a symbolic link to a file that does not exist"} {
		if !strings.Contains(s.logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, s.logs)
		}
	}
	if err := os.Remove(a); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(b); err != nil {
		t.Fatal(err)
	}
	s.fs.rescan()
	s.want("www", "")
}

// A named pipe matched by a pattern is refused at once, not opened for a read that would
// block until a writer comes: the start, a rescan and Check all return.
func TestNamedPipeIsRefused(t *testing.T) {
	s := newSetup(t)
	s.file("a.yml", targets("a1"))
	pipe := filepath.Join(s.dir, "targets", "pipe.yml")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // lets a reader blocked in open go, should one be
		if f, err := os.OpenFile(pipe, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	done := make(chan error, 1)
	go func() {
		if err := s.fs.Load(s.main("www")); err != nil {
			done <- err
			return
		}
		s.fs.rescan()
		_, err := Check(s.fs.main)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), pipe+": not a regular file (a named pipe)") {
			t.Errorf("Check = %v, want it to name the pipe", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reading the target files still blocked after 10s")
	}
	s.want("www a1", "a.yml=true pipe.yml=false")
}
