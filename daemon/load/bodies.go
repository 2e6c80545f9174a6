package load

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/klauspost/compress/gzip"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/corpus"
)

// DefaultBodies returns rtbload's default request mix: the embedded corpus
// requests, compacted to the form exchanges send (the files are
// pretty-printed for reading, 39 % of their bytes white space), plus ctv
// synthetic CTV requests from [campaign.GenerateCTVRequests],
// deterministic for a seed.
func DefaultBodies(ctv int, seed int64) [][]byte {
	var out [][]byte
	for _, f := range corpus.Requests() {
		var buf bytes.Buffer
		if err := json.Compact(&buf, f.Body); err != nil {
			panic("BUG: embedded corpus request " + f.Name + " is not JSON: " + err.Error())
		}
		out = append(out, buf.Bytes())
	}
	if ctv > 0 {
		out = append(out, campaign.GenerateCTVRequests(ctv, seed)...)
	}
	return out
}

// LoadBodies reads every *.json file in dir, sorted by name. Each must be
// a JSON object with a non-empty string id and a non-empty imp array; the
// first that is not is reported by name.
func LoadBodies(dir string) ([][]byte, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot read request directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("cannot read request directory: %s is not a directory", dir)
	}
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("cannot list request directory: %w", err)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("request directory %s has no *.json file", dir)
	}
	out := make([][]byte, 0, len(names))
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("cannot read request: %w", err)
		}
		if err := checkBody(b); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, b)
	}
	return out, nil
}

// checkBody accepts a JSON object with a non-empty string id and a
// non-empty imp array: the least a bid request must have.
func checkBody(b []byte) error {
	var v struct {
		ID  *string           `json:"id"`
		Imp []json.RawMessage `json:"imp"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("not a JSON bid request object: %w", err)
	}
	if v.ID == nil || *v.ID == "" {
		return errors.New("bid request has no string id")
	}
	if len(v.Imp) == 0 {
		return errors.New("bid request has no imp")
	}
	return nil
}

// gzipBodies compresses each body once, so that sending costs nothing.
func gzipBodies(bodies [][]byte) [][]byte {
	out := make([][]byte, len(bodies))
	for i, b := range bodies {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write(b); err != nil {
			panic("BUG: cannot gzip into memory: " + err.Error())
		}
		if err := zw.Close(); err != nil {
			panic("BUG: cannot gzip into memory: " + err.Error())
		}
		out[i] = buf.Bytes()
	}
	return out
}
