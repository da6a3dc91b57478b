//go:build unix

package config

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mkfifo makes a named pipe at path and, when the test ends, opens it for writing once so
// that a reader blocked in open (the behaviour this guards against) is let go.
func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
}

// Only regular files are read: a named pipe (whose open blocks until a writer comes) and a
// device that never ends are refused at once, naming the file and what it is.
func TestReadFileRefusesNonRegular(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "pop.yml")
	mkfifo(t, fifo)
	link := filepath.Join(t.TempDir(), "link.yml") // a symbolic link to the pipe is a pipe
	if err := os.Symlink(fifo, link); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, kind string }{
		{fifo, "a named pipe"},
		{link, "a named pipe"},
		{"/dev/zero", "a character device"},
		{t.TempDir(), "a directory"},
	} {
		done := make(chan error, 1)
		go func() {
			_, err := Load(c.path)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), "not a regular file ("+c.kind+")") {
				t.Errorf("Load(%s) = %v, want an error naming it and %q", c.path, err, c.kind)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Load(%s) still blocked after 10s", c.path)
		}
	}
}
