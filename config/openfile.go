package config

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// OpenRegular opens path for reading without ever blocking in the open, and refuses anything
// but a regular file (after following symbolic links). Opening a named pipe for reading
// blocks until a writer comes, for ever if none does; a device (/dev/zero) never ends. The
// open is non-blocking and the check is made on the opened descriptor, so a pipe swapped in
// between a check and the open is refused too. what names the file in errors ("config",
// "target file").
func OpenRegular(path, what string) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", what, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("reading %s: %w", what, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, &Error{File: path, Err: fmt.Errorf("not a regular file (%s): only regular files are read", fileKind(fi.Mode()))}
	}
	return f, fi, nil
}

// fileKind names a file mode's type for errors.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	default:
		return m.Type().String()
	}
}

// ReadFile reads a configuration file or a target file, what naming it in errors ("reading
// config: open pop.yml: …"). Only a regular file is read (see OpenRegular); one larger than
// MaxFileSize is refused, with an *Error, without being read whole.
func ReadFile(path, what string) ([]byte, error) {
	data, _, err := ReadFileInfo(path, what)
	return data, err
}

// ReadFileInfo is ReadFile, also returning what the opened file's Stat said (its
// modification time tells how long ago it was last written).
func ReadFileInfo(path, what string) ([]byte, fs.FileInfo, error) {
	f, fi, err := OpenRegular(path, what)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	if fi.Size() > MaxFileSize {
		return nil, nil, checkSize(nil, path, fi.Size())
	}
	// The file may grow while it is read: read one byte more than the limit, never more.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", what, err)
	}
	if err := checkSize(data, path, 0); err != nil {
		return nil, nil, err
	}
	return data, fi, nil
}
