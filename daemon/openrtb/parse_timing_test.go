package openrtb

import (
	"bytes"
	"encoding/json"
	"sync/atomic"
	"testing"

	"github.com/rtbd/rtbd/daemon/corpus"
)

// benchCTV is a 1-3 KB CTV request from the corpus.
const benchCTV = "iab__2.6-video.json"

var (
	sinkInt   atomic.Int64
	sinkBytes []byte
)

func sinkAdd(n int) { sinkInt.Add(int64(n)) }

func benchBody(b *testing.B, name string) []byte {
	for _, f := range corpus.Requests() {
		if f.Name == name {
			return f.Body
		}
	}
	b.Fatalf("corpus file %q not found", name)
	return nil
}

func BenchmarkParse(b *testing.B) {
	b.Run("ctv", func(b *testing.B) { benchmarkParse(b, benchBody(b, benchCTV)) })
	b.Run("ctv-compact", func(b *testing.B) {
		// Exchanges send compact JSON; the corpus is pretty-printed.
		var buf bytes.Buffer
		if err := json.Compact(&buf, benchBody(b, benchCTV)); err != nil {
			b.Fatalf("cannot compact: %s", err)
		}
		benchmarkParse(b, buf.Bytes())
	})
	b.Run("corpus", func(b *testing.B) { benchmarkParseCorpus(b, false) })
	b.Run("corpus-compact", func(b *testing.B) { benchmarkParseCorpus(b, true) })
}

// benchmarkParseCorpus parses every corpus request per iteration, as
// stored (pretty-printed) or compacted as exchanges send them.
func benchmarkParseCorpus(b *testing.B, compact bool) {
	var bodies [][]byte
	var size int64
	for _, f := range corpus.Requests() {
		body := f.Body
		if compact {
			var buf bytes.Buffer
			if err := json.Compact(&buf, body); err != nil {
				b.Fatalf("cannot compact %s: %s", f.Name, err)
			}
			body = buf.Bytes()
		}
		bodies = append(bodies, body)
		size += int64(len(body))
	}
	b.ReportAllocs()
	b.SetBytes(size)
	var r Request
	for b.Loop() {
		for _, body := range bodies {
			if err := r.Parse(body); err != nil {
				b.Fatalf("cannot parse: %s", err)
			}
		}
	}
}

func benchmarkParse(b *testing.B, body []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.RunParallel(func(pb *testing.PB) {
		var r Request
		n := 0
		for pb.Next() {
			if err := r.Parse(body); err != nil {
				b.Fatalf("cannot parse: %s", err)
			}
			n += len(r.Imps)
		}
		sinkAdd(n)
	})
}

// benchOracle is a typed encoding/json view with roughly the fields the
// parser fills, as the baseline for BenchmarkParse.
type benchOracle struct {
	ID  string `json:"id"`
	Imp []struct {
		ID       string  `json:"id"`
		BidFloor float64 `json:"bidfloor"`
		Video    *struct {
			Mimes     []string `json:"mimes"`
			MinDur    int      `json:"minduration"`
			MaxDur    int      `json:"maxduration"`
			Protocols []int    `json:"protocols"`
			W         int      `json:"w"`
			H         int      `json:"h"`
		} `json:"video"`
	} `json:"imp"`
	Site *struct {
		ID     string `json:"id"`
		Domain string `json:"domain"`
		Page   string `json:"page"`
	} `json:"site"`
	Device *struct {
		UA  string `json:"ua"`
		IP  string `json:"ip"`
		OS  string `json:"os"`
		Geo *struct {
			Country string `json:"country"`
		} `json:"geo"`
	} `json:"device"`
	User *struct {
		ID   string `json:"id"`
		Data []struct {
			Segment []struct {
				ID string `json:"id"`
			} `json:"segment"`
		} `json:"data"`
	} `json:"user"`
	TMax int `json:"tmax"`
}

func BenchmarkParseEncodingJSON(b *testing.B) {
	body := benchBody(b, benchCTV)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.RunParallel(func(pb *testing.PB) {
		n := 0
		for pb.Next() {
			var o benchOracle
			if err := json.Unmarshal(body, &o); err != nil {
				b.Fatalf("cannot decode: %s", err)
			}
			n += len(o.Imp)
		}
		sinkAdd(n)
	})
}

func BenchmarkAppendResponse(b *testing.B) {
	b.Run("unsigned", func(b *testing.B) { benchAppendResponse(b, testResponse()) })
	keys, err := ParseNoticeKeys("000102030405060708090a0b0c0d0e0f")
	if err != nil {
		b.Fatal(err)
	}
	r := testResponse()
	r.NoticeKey = &keys[0]
	b.Run("signed", func(b *testing.B) { benchAppendResponse(b, r) })
}

func benchAppendResponse(b *testing.B, r *Response) {
	dst := AppendResponse(nil, r)
	b.ReportAllocs()
	b.SetBytes(int64(len(dst)))
	for b.Loop() {
		dst = AppendResponse(dst[:0], r)
	}
	sinkBytes = dst
}

func BenchmarkAppendResponseEncodingJSON(b *testing.B) {
	r := testResponse()
	b.ReportAllocs()
	for b.Loop() {
		out, err := json.Marshal(r)
		if err != nil {
			b.Fatalf("cannot marshal: %s", err)
		}
		sinkBytes = out
	}
}

// BenchmarkRequestReset measures clearing a parsed CTV request for reuse,
// which the bid handler does once per request.
func BenchmarkRequestReset(b *testing.B) {
	body := benchBody(b, benchCTV)
	var r Request
	if err := r.Parse(body); err != nil {
		b.Fatalf("cannot parse: %s", err)
	}
	r.Reset()
	for b.Loop() {
		// Refill what Reset clears, cheaply: the imps and a few lists.
		r.Imps = r.Imps[:cap(r.Imps)]
		r.BCat = r.BCat[:cap(r.BCat)]
		r.Reset()
	}
}
