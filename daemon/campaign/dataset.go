package campaign

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// DataSetRequests is the number of requests [WriteDataSet] writes.
const DataSetRequests = 200

// WriteDataSet writes a synthetic data set into dir (created if needed):
// campaigns.json with n campaigns from [Generate], model.json with 4096
// buckets from [GenerateModel], and requests/ctv-NNNN.json with
// [DataSetRequests] requests from [GenerateCTVRequests], all from seed.
func WriteDataSet(dir string, n int, seed int64) error {
	if err := os.MkdirAll(filepath.Join(dir, "requests"), 0o755); err != nil {
		return fmt.Errorf("cannot create data set directory: %w", err)
	}
	if err := writeCampaigns(filepath.Join(dir, campaignsName), Generate(n, seed)); err != nil {
		return err
	}
	mb, err := json.Marshal(GenerateModel(4096, seed))
	if err != nil {
		return fmt.Errorf("cannot encode model: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, modelName), append(mb, '\n'), 0o644); err != nil {
		return fmt.Errorf("cannot write model: %w", err)
	}
	for i, req := range GenerateCTVRequests(DataSetRequests, seed) {
		name := filepath.Join(dir, "requests", fmt.Sprintf("ctv-%04d.json", i))
		if err := os.WriteFile(name, append(req, '\n'), 0o644); err != nil {
			return fmt.Errorf("cannot write request: %w", err)
		}
	}
	return nil
}

// writeCampaigns writes f with one campaign per line, so that line numbers
// in error messages and diffs point at a campaign.
func writeCampaigns(path string, f *File) error {
	fh, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("cannot create campaigns file: %w", err)
	}
	w := bufio.NewWriterSize(fh, 1<<16)
	fmt.Fprintf(w, "{\"version\":%d,\"currency\":%q,\"campaigns\":[\n", f.Version, f.Currency)
	for i := range f.Campaigns {
		b, err := json.Marshal(&f.Campaigns[i])
		if err != nil {
			fh.Close()
			return fmt.Errorf("cannot encode campaign %q: %w", f.Campaigns[i].ID, err)
		}
		w.Write(b)
		if i < len(f.Campaigns)-1 {
			w.WriteByte(',')
		}
		w.WriteByte('\n')
	}
	w.WriteString("]}\n")
	if err := w.Flush(); err != nil {
		fh.Close()
		return fmt.Errorf("cannot write campaigns file: %w", err)
	}
	if err := fh.Close(); err != nil {
		return fmt.Errorf("cannot write campaigns file: %w", err)
	}
	return nil
}

// generatorVersion is the version of what [Generate] writes, in the name
// of a cached data set; 2 has native creatives with typed assets.
const generatorVersion = 2

// CachedDataSet returns the directory of the data set of n campaigns from
// seed 1 (see [WriteDataSet]) in the user cache directory, writing it on
// first use: the handler benchmarks and rtbcount share it.
func CachedDataSet(n int) (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "rtbd-bench", fmt.Sprintf("campaigns-%d-model-v%d-gen%d", n, ModelVersion, generatorVersion))
	if _, err := os.Stat(filepath.Join(dir, modelName)); err == nil {
		return dir, nil
	}
	return dir, WriteDataSet(dir, n, 1)
}
