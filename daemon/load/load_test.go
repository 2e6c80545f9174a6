package load

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	ok := Config{Targets: []string{"http://127.0.0.1:8080/openrtb2/bid"}, Steps: Constant(100), Duration: time.Second}
	f := func(mod func(c *Config), wantErr string) {
		t.Helper()
		c := ok
		mod(&c)
		err := c.Validate()
		switch {
		case wantErr == "" && err != nil:
			t.Fatalf("unexpected error: %v", err)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Fatalf("unexpected error %v; want one containing %q", err, wantErr)
		}
	}
	f(func(c *Config) {}, "")
	f(func(c *Config) {
		c.Targets = []string{"http://localhost:80/", "http://[::1]:8080/x", "https://127.9.9.9:443/"}
	}, "")
	f(func(c *Config) { c.Targets = []string{"http://10.1.2.3:8080/openrtb2/bid"} }, "not on loopback")
	f(func(c *Config) { c.Targets = []string{"http://example.com:8080/"} }, "-allow-remote")
	f(func(c *Config) { c.Targets = []string{"http://10.1.2.3:8080/"}; c.AllowRemote = true }, "")
	f(func(c *Config) { c.Targets = []string{"http://127.0.0.1/"} }, "explicit port")
	f(func(c *Config) { c.Targets = []string{"http://127.0.0.1:0/"} }, "explicit port from 1 to 65535")
	f(func(c *Config) { c.Targets = []string{"http://127.0.0.1:99999/"} }, "explicit port from 1 to 65535")
	f(func(c *Config) { c.Targets = []string{"ftp://127.0.0.1:21/"} }, "http://")
	f(func(c *Config) { c.Targets = []string{"http://127.0.0.1:80/\x00"} }, "cannot parse target")
	f(func(c *Config) { c.Targets = nil }, "no target")
	f(func(c *Config) { c.Steps = nil }, "no rate")
	f(func(c *Config) { c.Steps = Constant(0) }, "rate must be > 0")
	f(func(c *Config) { c.Steps = Constant(-1) }, "rate must be > 0")
	f(func(c *Config) { c.Steps = Constant(MaxRate + 1) }, "rate must be > 0")
	f(func(c *Config) { c.Duration = 0 }, "refusing to run unbounded")
	f(func(c *Config) { c.Duration = 0; c.Count = 10 }, "")
	f(func(c *Config) { c.Duration = 0; c.Steps, _ = ParseSteps("10:1s,20:2s") }, "")
	f(func(c *Config) { c.Duration = 0; c.Steps, _ = ParseSteps("10:1h,20:2s") }, "duration must be")
	f(func(c *Config) { c.Duration = 2 * time.Hour }, "duration must be")
	f(func(c *Config) { c.Duration = -time.Second }, "duration must be")
	f(func(c *Config) { c.Count = -1 }, "count must be")
	f(func(c *Config) { c.Count = MaxCount + 1 }, "count must be")
	f(func(c *Config) { c.Connections = -1 }, "connections must be in 1..10000")
	f(func(c *Config) { c.Connections = 10001 }, "connections must be in 1..10000")
	f(func(c *Config) { c.Timeout = -time.Millisecond }, "timeout")
	f(func(c *Config) { c.Bodies = [][]byte{[]byte(`{"id":"1","imp":[{}]}`), []byte(`[]`)} }, "body 2")
}

func TestRunRefusesInvalidConfig(t *testing.T) {
	t.Parallel()
	cfg := Config{Targets: []string{"http://192.0.2.1:8080/"}, Steps: Constant(10), Count: 1}
	res, err := Run(context.Background(), cfg, nil)
	if err == nil || res != nil || !strings.Contains(err.Error(), "not on loopback") {
		t.Fatalf("Run must refuse a remote target; got %v, %v", res, err)
	}
}

func TestCheckBody(t *testing.T) {
	t.Parallel()
	f := func(body string, wantErr bool) {
		t.Helper()
		if err := checkBody([]byte(body)); (err != nil) != wantErr {
			t.Fatalf("unexpected result for checkBody(%q): %v; want error %v", body, err, wantErr)
		}
	}
	f(`{"id":"a","imp":[{"id":"1"}]}`, false)
	f(`{"id":"","imp":[{}]}`, true)
	f(`{"id":7,"imp":[{}]}`, true)
	f(`{"imp":[{}]}`, true)
	f(`{"id":"a","imp":[]}`, true)
	f(`{"id":"a"}`, true)
	f(`[1,2]`, true)
	f(`{"id":"a","imp":[{}]`, true)
	f(``, true)
}

func TestLoadBodies(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := LoadBodies(filepath.Join(dir, "missing")); err == nil {
		t.Fatalf("a missing directory must be an error")
	}
	if _, err := LoadBodies(dir); err == nil || !strings.Contains(err.Error(), "no *.json") {
		t.Fatalf("an empty directory must be an error naming *.json; got %v", err)
	}
	write("b.json", `{"id":"b","imp":[{"id":"1"}]}`)
	write("a.json", `{"id":"a","imp":[{"id":"1"}]}`)
	write("notes.txt", `ignored`)
	got, err := LoadBodies(dir)
	if err != nil || len(got) != 2 || !strings.Contains(string(got[0]), `"a"`) {
		t.Fatalf("want a.json then b.json; got %q, %v", got, err)
	}
	write("c.json", `{"id":"c"}`)
	if _, err := LoadBodies(dir); err == nil || !strings.Contains(err.Error(), "c.json") {
		t.Fatalf("an invalid request must be reported by file name; got %v", err)
	}
	if _, err := LoadBodies(filepath.Join(dir, "a.json")); err == nil {
		t.Fatalf("a file is not a directory")
	}
}

func TestDefaultBodiesAreRequests(t *testing.T) {
	t.Parallel()
	corpusOnly := DefaultBodies(0, 1)
	bodies := DefaultBodies(10, 1)
	if len(corpusOnly) < 90 || len(bodies) != len(corpusOnly)+10 {
		t.Fatalf("default mix has %d bodies, %d without CTV; want the corpus (90+) plus 10", len(bodies), len(corpusOnly))
	}
	for i, b := range bodies {
		if err := checkBody(b); err != nil {
			t.Fatalf("default body %d: %v", i, err)
		}
		// On the wire as exchanges send it: compact.
		var buf bytes.Buffer
		if err := json.Compact(&buf, b); err != nil || !bytes.Equal(buf.Bytes(), b) {
			t.Fatalf("default body %d is not compact JSON (%v): %.60s", i, err, b)
		}
	}
}

func TestBreaker(t *testing.T) {
	t.Parallel()
	b := breaker{threshold: 3, cooldown: 100}
	must := func(cond bool, what string) {
		t.Helper()
		if !cond {
			t.Fatalf("breaker: %s", what)
		}
	}
	must(b.allow(0), "closed breaker allows")
	b.failure(1)
	b.failure(2)
	b.success() // resets the streak
	b.failure(3)
	b.failure(4)
	must(b.allow(5), "two consecutive failures keep it closed")
	b.failure(6)
	must(!b.allow(7) && b.opens.Load() == 1, "third consecutive failure opens it")
	must(!b.allow(105), "stays open during the cooldown")
	must(b.allow(106), "half-open lets one probe through after the cooldown")
	must(!b.allow(107), "only one probe at a time")
	b.failure(110)
	must(!b.allow(200) && b.allow(210), "a failed probe reopens it for a cooldown")
	b.success()
	must(b.allow(211) && b.allow(212), "a successful probe closes it")
	must(b.opens.Load() == 1, "reopening after a probe is not a new open")
	off := breaker{}
	for i := range 10 {
		off.failure(int64(i))
	}
	must(off.allow(11), "a zero threshold never opens")
}

// TestBufferSizes: an answer fits one read up to 16 KiB, and many
// connections cannot make the buffers take gigabytes.
func TestBufferSizes(t *testing.T) {
	for _, c := range []struct{ conns, r int }{{16, 16 << 10}, {1024, 16 << 10}, {2048, 4 << 10}} {
		if r := readBufferSize(c.conns); r != c.r {
			t.Errorf("%d connections: read buffer %d; want %d", c.conns, r, c.r)
		}
	}
}
