package eventlog

import (
	"encoding/json"
	"testing"
)

// FuzzReader feeds corrupted segments to the reader: it must not panic or
// loop, must not skip more bytes than it got, and must print valid JSON.
func FuzzReader(f *testing.F) {
	data, offs := writeBlocks(f, 3)
	f.Add(data)
	f.Add(data[:offs[2]+7])
	f.Add(data[offs[1]:])
	f.Add([]byte{})
	f.Add(magicBytes)
	f.Fuzz(func(t *testing.T, data []byte) {
		var rd Reader
		var line []byte
		skipped, err := rd.decodeSegment("fuzz", data, func(r *Record) error {
			line = rd.appendJSON(line[:0], r)
			if !json.Valid(line) {
				t.Fatalf("invalid JSON line %q", line)
			}
			return nil
		})
		if err != nil || skipped < 0 || skipped > int64(len(data)) {
			t.Fatalf("decodeSegment: skipped %d of %d, err %v", skipped, len(data), err)
		}
	})
}
