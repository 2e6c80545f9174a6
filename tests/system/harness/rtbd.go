package harness

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Binaries are the paths of the programs under test.
type Binaries struct {
	Rtbd, Rtbload string
}

// Build compiles rtbd and rtbload (without -race: they are measured, not
// checked) from the module at root into dir.
func Build(root, dir string) (Binaries, error) {
	b := Binaries{Rtbd: filepath.Join(dir, "rtbd"), Rtbload: filepath.Join(dir, "rtbload")}
	for out, pkg := range map[string]string{b.Rtbd: "./daemon/cmd/rtbd", b.Rtbload: "./daemon/cmd/rtbload"} {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if o, err := cmd.CombinedOutput(); err != nil {
			return b, fmt.Errorf("cannot build %s: %w\n%s", pkg, err, o)
		}
	}
	return b, nil
}

// AdminPort, BidPort and PeerPort are the ports rtbd listens on in the
// tests; PeerPort (state.peerListenAddress) only where a test shares
// budgets.
const (
	AdminPort = 9090
	BidPort   = 8080
	PeerPort  = 9091
)

// RtbdConfig is the part of rtbd's config file the tests set.
type RtbdConfig struct {
	HTTP     map[string]any `json:"http"`
	Admin    map[string]any `json:"admin"`
	Data     map[string]any `json:"data,omitempty"`
	Drain    map[string]any `json:"drain"`
	Log      map[string]any `json:"log,omitempty"`
	Bidding  map[string]any `json:"bidding,omitempty"`
	Shedding map[string]any `json:"shedding,omitempty"`
	State    map[string]any `json:"state,omitempty"`
}

// NewRtbdConfig returns a config for host h: bid listener on all
// addresses (so it answers on the VIP too), admin on the host's address,
// the given drain delay, and embedded demo data.
func NewRtbdConfig(h *Host, drainDelay time.Duration) RtbdConfig {
	return RtbdConfig{
		HTTP:    map[string]any{"listenAddress": fmt.Sprintf("0.0.0.0:%d", BidPort)},
		Admin:   map[string]any{"listenAddress": fmt.Sprintf("%s:%d", h.Addr, AdminPort)},
		Drain:   map[string]any{"delay": drainDelay.String(), "timeout": "5s"},
		Log:     map[string]any{"level": "info"},
		Bidding: map[string]any{"hostID": h.Name},
	}
}

// Rtbd is a running rtbd on a host.
type Rtbd struct {
	*Proc
	Host   *Host
	client *http.Client
}

// StartRtbd writes cfg and starts rtbd with it on h, optionally under
// taskset -c cpus. Use [Rtbd.WaitReady] to wait for it.
func StartRtbd(tb testing.TB, bin Binaries, h *Host, name string, cfg RtbdConfig, cpus string) *Rtbd {
	tb.Helper()
	path := WriteJSON(tb, tb.TempDir(), "rtbd.json", cfg)
	argv := []string{bin.Rtbd, "-config", path}
	if cpus != "" {
		argv = append([]string{"taskset", "-c", cpus}, argv...)
	}
	p := Start(tb, ProcSpec{Name: name, NS: h.NS, Argv: argv})
	return &Rtbd{Proc: p, Host: h, client: h.NS.HTTPClient(2 * time.Second)}
}

// WriteJSON writes v as JSON to dir/name and returns the path.
func WriteJSON(tb testing.TB, dir, name string, v any) string {
	tb.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// AdminURL is the URL of path on the host's admin listener.
func (r *Rtbd) AdminURL(path string) string {
	return fmt.Sprintf("http://%s:%d%s", r.Host.Addr, AdminPort, path)
}

// Ready reports whether /readyz answers 200.
func (r *Rtbd) Ready() (bool, error) {
	resp, err := r.client.Get(r.AdminURL("/readyz"))
	if err != nil {
		return false, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, fmt.Errorf("readyz: %s", resp.Status)
}

// WaitReady polls /readyz until it answers 200, for at most d.
func (r *Rtbd) WaitReady(d time.Duration) error {
	err := Poll(d, 20*time.Millisecond, func() (bool, error) {
		if r.Exited() {
			return false, fmt.Errorf("%s exited", r.Name)
		}
		return r.Ready()
	})
	if err != nil {
		return fmt.Errorf("%s not ready: %w", r.Name, err)
	}
	return nil
}

// Metrics scrapes /metrics and returns the samples by full series name,
// e.g. `rtbd_reloads_total{result="ok"}`.
func (r *Rtbd) Metrics() (map[string]float64, error) {
	resp, err := r.client.Get(r.AdminURL("/metrics"))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return ParseMetrics(resp.Body)
}

// ParseMetrics reads Prometheus text exposition into series -> value.
func ParseMetrics(rd io.Reader) (map[string]float64, error) {
	m := map[string]float64{}
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i <= 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		m[line[:i]] = v
	}
	return m, sc.Err()
}

// Sum adds the values of every series of metric name (any labels).
func Sum(m map[string]float64, name string) float64 {
	var s float64
	for k, v := range m {
		if k == name || strings.HasPrefix(k, name+"{") {
			s += v
		}
	}
	return s
}

// Heartbeat posts a sign of life to the deadman switch (data.deadman).
func (r *Rtbd) Heartbeat() error {
	resp, err := r.client.Post(r.AdminURL("/admin/heartbeat"), "text/plain", nil)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: POST /admin/heartbeat: %s", r.Name, resp.Status)
	}
	return nil
}

// BidRequests returns the sum of rtbd_bid_requests_total over results.
func (r *Rtbd) BidRequests() (float64, error) {
	m, err := r.Metrics()
	if err != nil {
		return 0, err
	}
	return Sum(m, "rtbd_bid_requests_total"), nil
}

// PostBid sends body to the bid endpoint at addr from namespace ns and
// returns the status and body.
func PostBid(ns *Netns, addr string, body []byte) (int, []byte, error) {
	c := ns.HTTPClient(2 * time.Second)
	req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("http://%s:%d/openrtb2/bid", addr, BidPort), bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Openrtb-Version", "2.6")
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}
