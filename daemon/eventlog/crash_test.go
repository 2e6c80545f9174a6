package eventlog

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/rtbd/rtbd/daemon/config"
)

const crashDirEnv = "RTBD_EVENTLOG_CRASH_DIR"

// TestMain runs crashChild instead of the tests in the child process of
// TestCrashKeepsFlushedRecords, which sets crashDirEnv.
func TestMain(m *testing.M) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(dir)
	}
	os.Exit(m.Run())
}

// crashChild is the child of TestCrashKeepsFlushedRecords: it appends
// records to a log in dir until killed and prints Flushed() whenever it
// grows. (It was a test that returned at once in a normal run, counted as
// one more pass.)
func crashChild(dir string) {
	l, err := Open(config.EventLog{Dir: dir, FlushInterval: config.Duration(5 * time.Millisecond), RingSize: 4096})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	go func() {
		tick := time.NewTicker(2 * time.Millisecond)
		var last uint64
		for range tick.C {
			if n := l.Flushed(); n != last {
				last = n
				fmt.Println(n)
			}
		}
	}()
	for i := 0; ; i++ {
		r := testRecord(i)
		l.Append(&r)
	}
}

// TestCrashKeepsFlushedRecords kills a writing child with SIGKILL and checks
// that every record it reported as flushed is readable and intact.
func TestCrashKeepsFlushedRecords(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	watchdog := time.AfterFunc(20*time.Second, func() { cmd.Process.Kill() })
	defer watchdog.Stop()
	flushed, lines := uint64(0), 0
	sc := bufio.NewScanner(out)
	// Two reports at least: the first may come after 20,000 records.
	for (flushed < 20000 || lines < 2) && sc.Scan() {
		n, err := strconv.ParseUint(sc.Text(), 10, 64)
		if err != nil {
			t.Fatalf("child said %q", sc.Text())
		}
		flushed, lines = n, lines+1
	}
	cmd.Process.Kill() // SIGKILL
	cmd.Wait()
	if flushed < 20000 || lines < 2 {
		t.Fatalf("child reported %d flushed records in %d lines before exiting", flushed, lines)
	}
	recs, skipped := readAll(t, dir)
	if uint64(len(recs)) < flushed {
		t.Fatalf("read %d records (skipped %d bytes); child had flushed %d", len(recs), skipped, flushed)
	}
	checkIntact(t, recs)
}

// checkIntact checks that each record equals the testRecord its request id
// names, and that they come in increasing order (drops leave gaps).
func checkIntact(t *testing.T, recs []Record) {
	t.Helper()
	prev := -1
	for _, r := range recs {
		i, err := strconv.Atoi(string(bytes.TrimPrefix(r.RequestID(), []byte("req-"))))
		if err != nil || i <= prev || r != testRecord(i) {
			t.Fatalf("record %q after %d is not intact: %+v", r.RequestID(), prev, r)
		}
		prev = i
	}
}

// writeBlocks writes n blocks of 50 records each into one segment and
// returns its bytes and the offset of each block.
func writeBlocks(t testing.TB, n int) ([]byte, []int) {
	t.Helper()
	cfg := testConfig(t)
	l, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for b := range n {
		appendAll(t, l, b*50, b*50+50)
		l.sync()
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	names := segmentFiles(t, cfg.Dir)
	if len(names) != 1 {
		t.Fatalf("want one segment, got %q", names)
	}
	data := readFile(t, cfg.Dir, names[0])
	var offs []int
	for off := 0; off < len(data); {
		offs = append(offs, off)
		off += blockHeaderLen + int(binary.LittleEndian.Uint32(data[off+8:]))
	}
	if len(offs) != n {
		t.Fatalf("segment has %d blocks; want %d", len(offs), n)
	}
	return data, offs
}

func TestTornTailIsSkipped(t *testing.T) {
	t.Parallel()
	data, offs := writeBlocks(t, 4)
	last := offs[len(offs)-1]
	path := filepath.Join(t.TempDir(), "torn.zst")
	rng := rand.New(rand.NewPCG(1, 2))
	cuts := []int{last + 1, last + blockHeaderLen - 1, last + blockHeaderLen, len(data) - 1}
	for range 20 {
		cuts = append(cuts, last+1+rng.IntN(len(data)-last-1))
	}
	for _, cut := range cuts {
		if err := os.WriteFile(path, data[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		var notes bytes.Buffer
		rd := Reader{Notes: &notes}
		var recs []Record
		skipped, err := rd.Each(func(r *Record) error { recs = append(recs, *r); return nil }, path)
		if err != nil || skipped != int64(cut-last) || len(recs) != 150 || notes.Len() == 0 {
			t.Fatalf("cut at %d (last block at %d): err %v, skipped %d, %d records, notes %q; want 150 records, %d skipped",
				cut, last, err, skipped, len(recs), notes.String(), cut-last)
		}
		checkIntact(t, recs)
	}
	// A cut at a block boundary is not torn.
	if err := os.WriteFile(path, data[:last], 0o600); err != nil {
		t.Fatal(err)
	}
	if recs, skipped := readAll(t, path); len(recs) != 150 || skipped != 0 {
		t.Fatalf("cut at a boundary: %d records, %d skipped", len(recs), skipped)
	}
}

func TestCorruptMiddleBlockIsSkipped(t *testing.T) {
	t.Parallel()
	data, offs := writeBlocks(t, 4)
	for _, at := range []int{offs[1] + 2, offs[1] + 9, offs[1] + 13, offs[1] + blockHeaderLen + 5, offs[2] - 1} {
		bad := bytes.Clone(data)
		bad[at] ^= 0x55
		path := filepath.Join(t.TempDir(), "bad.zst")
		if err := os.WriteFile(path, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		recs, skipped := readAll(t, path)
		if len(recs) != 150 || skipped != int64(offs[2]-offs[1]) {
			t.Fatalf("byte %d flipped: %d records, %d skipped; want 150 and %d", at, len(recs), skipped, offs[2]-offs[1])
		}
		checkIntact(t, recs)
	}
}

// TestSegmentIsZstdStream checks the block header is a skippable frame:
// a plain zstd decoder reads a segment as the concatenated record frames.
func TestSegmentIsZstdStream(t *testing.T) {
	t.Parallel()
	data, _ := writeBlocks(t, 3)
	dec, err := zstd.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	raw, err := io.ReadAll(dec)
	if err != nil {
		t.Fatalf("zstd stream decoder rejected a segment: %s", err)
	}
	var want []byte
	for i := range 150 {
		r := testRecord(i)
		want = appendRecord(want, &r)
	}
	if !bytes.Equal(raw, want) {
		t.Fatalf("decoded %d bytes; want the %d bytes of 150 record frames", len(raw), len(want))
	}
}
