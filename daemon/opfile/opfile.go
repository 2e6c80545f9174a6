// Package opfile reads the files an operator names in the config or on
// the command line (config, campaigns, model, secrets, CA certificates)
// so that a wrong path fails at once: a FIFO or a device (/dev/zero)
// would block a reload with its lock held, or fill the memory.
package opfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Read reads the regular file at path, of at most max bytes, and returns
// its contents and its file information (as it was opened).
func Read(path string, max int64) ([]byte, fs.FileInfo, error) {
	// O_NONBLOCK: opening a FIFO for reading would wait for a writer.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s is not a regular file (%s)", path, fi.Mode().Type())
	}
	if fi.Size() > max {
		return nil, nil, fmt.Errorf("%s has %d bytes; at most %d are read", path, fi.Size(), max)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, nil, err
	}
	if int64(len(b)) > max {
		return nil, nil, fmt.Errorf("%s grew past %d bytes while read", path, max)
	}
	return b, fi, nil
}
