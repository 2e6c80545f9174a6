package eventlog

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/zstd"
)

// Reader reads segment files. The zero value is ready to use; a Reader is
// not safe for concurrent use. Reading the segment a running daemon is
// writing is safe: a block being written shows as a torn tail.
type Reader struct {
	// Notes receives one line for every byte range the reader skips: a torn
	// tail after a crash, or a corrupt block. nil discards the notes.
	Notes io.Writer
	// ReasonNames, when set, names no-bid reason codes in the output of
	// [Reader.Cat] and [Reader.Stats]; an empty name is left out.
	ReasonNames func(uint8) string
	// IsTestBid, when set, reports whether a bid id is of a bid made for a
	// test request ("test": 1), whose bills moved no spend:
	// [Reader.Stats] counts them apart, not as spend, and [Reader.Cat]
	// marks its records.
	IsTestBid func(bidID []byte) bool

	dec *zstd.Decoder
	buf []byte
}

// Each calls fn for every readable record of paths, in order. A path is a
// segment file or a directory whose segments are read oldest first. fn's
// *Record is reused: copy it to keep it. Each skips torn and corrupt blocks,
// writes a note for each to Notes and returns the number of bytes skipped;
// it returns an error only when a path cannot be read or fn fails.
func (rd *Reader) Each(fn func(*Record) error, paths ...string) (skipped int64, err error) {
	files, err := expandPaths(paths)
	if err != nil {
		return 0, err
	}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			return skipped, fmt.Errorf("cannot read event log segment: %w", err)
		}
		n, err := rd.decodeSegment(path, data, fn)
		skipped += n
		if err != nil {
			return skipped, err
		}
	}
	return skipped, nil
}

// expandPaths replaces directories with their segment files.
func expandPaths(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("cannot read event log: %w", err)
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		segs, err := listSegments(p)
		if err != nil {
			return nil, err
		}
		for _, s := range segs {
			files = append(files, filepath.Join(p, s.name))
		}
	}
	return files, nil
}

func (rd *Reader) decoder() *zstd.Decoder {
	if rd.dec == nil {
		dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxBlockBytes))
		if err != nil {
			panic("BUG: cannot create zstd decoder: " + err.Error())
		}
		rd.dec = dec
	}
	return rd.dec
}

var magicBytes = binary.LittleEndian.AppendUint32(nil, blockMagic)

// decodeSegment calls fn for each record of the segment data and returns the
// number of bytes it skipped. After a bad block it resynchronises on the next
// block magic, so every intact block is read and the loop always advances.
func (rd *Reader) decodeSegment(name string, data []byte, fn func(*Record) error) (int64, error) {
	var skipped int64
	for off := 0; off < len(data); {
		n, frame, why := checkBlock(data[off:])
		if why == "" {
			bad, err := rd.decodeBlock(frame, fn)
			if err != nil {
				return skipped, err
			}
			if bad != "" {
				rd.note(name, off, n, bad)
				skipped += int64(n)
			}
			off += n
			continue
		}
		skip := len(data) - off
		if next := bytes.Index(data[off+1:], magicBytes); next >= 0 {
			skip = next + 1
		}
		rd.note(name, off, skip, why)
		skipped += int64(skip)
		off += skip
	}
	return skipped, nil
}

// checkBlock validates the block at the start of b and returns its length
// and zstd frame, or a reason why it is not a whole block.
func checkBlock(b []byte) (n int, frame []byte, why string) {
	if len(b) < blockHeaderLen {
		return 0, nil, "torn block header"
	}
	if binary.LittleEndian.Uint32(b) != blockMagic || binary.LittleEndian.Uint32(b[4:]) != 8 {
		return 0, nil, "bad block header"
	}
	clen := binary.LittleEndian.Uint32(b[8:])
	if clen > maxBlockBytes {
		return 0, nil, "bad block length"
	}
	if uint64(len(b)) < blockHeaderLen+uint64(clen) {
		return 0, nil, "torn block"
	}
	frame = b[blockHeaderLen : blockHeaderLen+int(clen)]
	if crc32.Checksum(frame, crcTable) != binary.LittleEndian.Uint32(b[12:]) {
		return 0, nil, "block checksum mismatch"
	}
	return blockHeaderLen + int(clen), frame, ""
}

// decodeBlock decompresses one frame and calls fn for each record in it. It
// returns a reason when the block, although its checksum matched, cannot be
// decoded completely; records before the bad one are still delivered.
func (rd *Reader) decodeBlock(frame []byte, fn func(*Record) error) (string, error) {
	var err error
	rd.buf, err = rd.decoder().DecodeAll(frame, rd.buf[:0])
	if err != nil {
		return "cannot decompress block: " + err.Error(), nil
	}
	var r Record
	for src := rd.buf; len(src) > 0; {
		if src, err = decodeRecord(&r, src); err != nil {
			return "malformed record in block", nil
		}
		if err := fn(&r); err != nil {
			return "", err
		}
	}
	return "", nil
}

func (rd *Reader) note(name string, off, n int, why string) {
	if rd.Notes != nil {
		fmt.Fprintf(rd.Notes, "eventlog: %s: skipped %d bytes at offset %d: %s\n", name, n, off, why)
	}
}
