package eventlog

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeLog writes records from..to-1 into a fresh log directory.
func writeLog(t *testing.T, from, to int) string {
	t.Helper()
	cfg := testConfig(t)
	l, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	appendAll(t, l, from, to)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return cfg.Dir
}

func TestStats(t *testing.T) {
	t.Parallel()
	const n = 100
	dir := writeLog(t, 0, n)
	var out bytes.Buffer
	rd := Reader{ReasonNames: func(c uint8) string { return map[uint8]string{1: "one"}[c] }}
	if _, err := rd.Stats(&out, dir); err != nil {
		t.Fatal(err)
	}
	// Expected values computed from the inputs, independently of summary.
	kinds := map[string]int{}
	spend := map[string]float64{}
	reasons := map[uint8]int{}
	for i := range n {
		r := testRecord(i)
		kinds[r.Kind.String()]++
		if r.Kind == KindBill {
			spend[string(r.CampaignID())+"/"+r.CurString()] += r.Price
		}
		if r.Kind == KindNoBid {
			reasons[r.Reason]++
		}
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if want := 1 + 5 + len(spend) + len(reasons); len(lines) != want {
		t.Fatalf("got %d lines; want %d:\n%s", len(lines), want, out.String())
	}
	for _, line := range lines {
		var m struct {
			Type, Kind, First, Last, CampaignID, Cur, ReasonName string
			Records, Bills                                       int
			Reason                                               uint8
			CPMSum                                               float64 `json:"cpm_sum"`
			Spend                                                float64
		}
		dec := json.NewDecoder(strings.NewReader(strings.NewReplacer(`"campaign_id"`, `"CampaignID"`, `"reason_name"`, `"ReasonName"`).Replace(line)))
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("line %q: %s", line, err)
		}
		switch m.Type {
		case "total":
			first, last := testRecord(0), testRecord(n-1)
			if m.Records != n || m.First != rfc3339(first.TimeUnixNano) || m.Last != rfc3339(last.TimeUnixNano) {
				t.Fatalf("total line %q", line)
			}
		case "kind":
			if m.Records != kinds[m.Kind] {
				t.Fatalf("kind line %q; want %d records", line, kinds[m.Kind])
			}
		case "spend":
			want := spend[m.CampaignID+"/"+m.Cur]
			if m.CPMSum != want || m.Spend != want/1000 || want == 0 {
				t.Fatalf("spend line %q; want cpm_sum %v", line, want)
			}
		case "nobid_reason":
			wantName := map[uint8]string{1: "one"}[m.Reason]
			if m.Records != reasons[m.Reason] || m.ReasonName != wantName {
				t.Fatalf("reason line %q; want %d records named %q", line, reasons[m.Reason], wantName)
			}
		default:
			t.Fatalf("unexpected line %q", line)
		}
	}
}

func rfc3339(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }

func TestMainCommand(t *testing.T) {
	t.Parallel()
	dir := writeLog(t, 0, 10)
	names := segmentFiles(t, dir)
	torn := filepath.Join(t.TempDir(), "torn.zst")
	if err := os.WriteFile(torn, readFile(t, dir, names[0])[:20], 0o600); err != nil {
		t.Fatal(err)
	}
	f := func(args []string, wantCode, wantLines int, wantStderr string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := Main(args, &stdout, &stderr)
		lines := strings.Count(stdout.String(), "\n")
		if code != wantCode || lines != wantLines || !strings.Contains(stderr.String(), wantStderr) {
			t.Fatalf("Main(%q) = %d with %d lines, stderr %q; want %d, %d lines, stderr containing %q",
				args, code, lines, stderr.String(), wantCode, wantLines, wantStderr)
		}
	}
	f([]string{"cat", "-dir", dir}, 0, 10, "")
	f([]string{"cat", filepath.Join(dir, names[0])}, 0, 10, "")
	f([]string{"cat", "-dir", dir, filepath.Join(dir, names[0])}, 0, 20, "")
	f([]string{"cat", torn}, 0, 0, "skipped 20 bytes")
	f([]string{"stats", "-dir", dir}, 0, 1+5+2+2, "")
	f([]string{"cat", "-dir", filepath.Join(dir, "missing")}, 1, 0, "no such file")
	f([]string{"cat"}, 2, 0, "give -dir or files")
	f([]string{"cat", "-bogus"}, 2, 0, "usage:")
	f([]string{"tail"}, 2, 0, `unknown sub-command "tail"`)
	f(nil, 2, 0, "usage:")
	f([]string{"help"}, 0, strings.Count(usage, "\n"), "")
	var out bytes.Buffer
	if err := Cat(&out, dir); err != nil || strings.Count(out.String(), "\n") != 10 {
		t.Fatalf("Cat: %v, output %q", err, out.String())
	}
	out.Reset()
	if err := Stats(&out, dir); err != nil || !strings.HasPrefix(out.String(), `{"type":"total","records":10,`) {
		t.Fatalf("Stats: %v, output %q", err, out.String())
	}
}
