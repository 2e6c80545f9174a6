// Package statefile keeps rtbd's bidding state across restarts: spend per
// campaign, the frequency-cap table, the notice dedupe table, the win
// reservations and the wins whose reservations ended unbilled. A redeploy
// or a crash must not hand a campaign a fresh daily budget, show a capped
// user the ad again, or bill a replayed notice twice.
//
// # File format
//
// All integers little endian:
//
//	magic "RTBDSTAT", version u32 (1), sections u32,
//	per section: name length u8, name, data length u64, data,
//	CRC-32C u32 of every byte before it.
//
// Each section's data belongs to the part that wrote it (see [Part]). A
// file is written whole to a temporary name, fdatasynced and renamed over
// the previous one, so a crash leaves either the old file or the new one.
package statefile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
)

const (
	magic   = "RTBDSTAT"
	version = 1
	// headerLen is magic, version and section count.
	headerLen = len(magic) + 8
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// writeChunk bounds one write system call of WriteFile: about 100 us of
// copying into the page cache.
const writeChunk = 1 << 20

// Encoder builds a state file in a buffer it keeps between saves, so a
// periodic save does not allocate once the buffer has grown.
type Encoder struct {
	buf      []byte
	sections uint32
}

// Reset starts a new file.
func (e *Encoder) Reset() {
	e.buf = append(e.buf[:0], magic...)
	e.buf = binary.LittleEndian.AppendUint32(e.buf, version)
	e.buf = binary.LittleEndian.AppendUint32(e.buf, 0) // sections, set by Bytes
	e.sections = 0
}

// Section appends the section name whose data fill appends to its argument.
func (e *Encoder) Section(name string, fill func([]byte) []byte) {
	if len(name) == 0 || len(name) > 255 {
		panic("BUG: statefile section name must be 1 to 255 bytes")
	}
	e.buf = append(e.buf, byte(len(name)))
	e.buf = append(e.buf, name...)
	at := len(e.buf)
	e.buf = binary.LittleEndian.AppendUint64(e.buf, 0)
	e.buf = fill(e.buf)
	binary.LittleEndian.PutUint64(e.buf[at:], uint64(len(e.buf)-at-8))
	e.sections++
}

// Bytes finishes the file and returns it; it is valid until the next Reset.
func (e *Encoder) Bytes() []byte {
	binary.LittleEndian.PutUint32(e.buf[len(magic)+4:], e.sections)
	e.buf = binary.LittleEndian.AppendUint32(e.buf, crc32.Checksum(e.buf, crcTable))
	return e.buf
}

// Decode checks a state file and returns its sections by name; the data
// alias b.
func Decode(b []byte) (map[string][]byte, error) {
	if len(b) < headerLen+4 || string(b[:len(magic)]) != magic {
		return nil, errors.New("not an rtbd state file")
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, crcTable) != sum {
		return nil, errors.New("checksum mismatch: the file is damaged")
	}
	if v := binary.LittleEndian.Uint32(b[len(magic):]); v != version {
		return nil, fmt.Errorf("format version %d; this rtbd reads version %d", v, version)
	}
	n := binary.LittleEndian.Uint32(b[len(magic)+4:])
	rest := body[headerLen:]
	out := make(map[string][]byte, min(n, 64))
	for i := uint32(0); i < n; i++ {
		if len(rest) < 1 || len(rest) < 1+int(rest[0])+8 {
			return nil, fmt.Errorf("section %d: truncated header", i)
		}
		name := string(rest[1 : 1+int(rest[0])])
		rest = rest[1+len(name):]
		size := binary.LittleEndian.Uint64(rest)
		rest = rest[8:]
		if size > uint64(len(rest)) {
			return nil, fmt.Errorf("section %q: %d bytes declared, %d left", name, size, len(rest))
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("section %q appears twice", name)
		}
		out[name] = rest[:size:size]
		rest = rest[size:]
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%d bytes after the last section", len(rest))
	}
	return out, nil
}

// WriteFile replaces path with data: it writes a temporary file in the same
// directory, fdatasyncs it, renames it over path and syncs the directory.
func WriteFile(path string, data []byte) (err error) {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// In pieces: a Go thread in a system call keeps its P (its share of
	// GOMAXPROCS) until the runtime's sysmon takes it back, up to 10 ms
	// later, so one 50 MB write could hold a serving core that long.
	for rest := data; len(rest) > 0; {
		n := min(len(rest), writeChunk)
		if _, err = f.Write(rest[:n]); err != nil {
			return err
		}
		rest = rest[n:]
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Sync()
}
