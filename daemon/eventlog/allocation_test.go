//go:build !race

package eventlog

import "testing"

func TestAppendAllocs(t *testing.T) {
	l, err := Open(testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r := testRecord(3)
	id := []byte("request-id-from-the-request-buffer")
	allocs := testing.AllocsPerRun(5000, func() {
		r.SetRequestID(id)
		r.SetBidIDString("bid-1")
		r.SetCampaignIDString("campaign-1")
		r.SetImpID(id[:5])
		l.Append(&r)
	})
	if allocs != 0 {
		t.Fatalf("Append allocates %v times per call; want 0", allocs)
	}
	var nilLog *Log
	if allocs := testing.AllocsPerRun(100, func() { nilLog.Append(&r) }); allocs != 0 {
		t.Fatalf("Append on a nil *Log allocates %v times; want 0", allocs)
	}
}
