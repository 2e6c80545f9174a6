package peers

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/rtbd/rtbd/daemon/decision"
	"github.com/rtbd/rtbd/daemon/testcert"
)

// BenchmarkReading100k is what SyncOnce does with one peer's reading of
// 10^5 campaigns of which 300 moved since the last: decode, merge into
// the peer's known spend, hand the changed campaigns to the State.
func BenchmarkReading100k(b *testing.B) {
	entries := spendEntries(100000)
	s := New(decision.NewState(1024), []string{"http://peer"}, time.Second, "self")
	p := s.peers[0]
	readings := make([][]byte, 8)
	for r := range readings {
		for k := range 300 {
			entries[(r*977+k*331)%len(entries)].Total++
		}
		readings[r] = decision.AppendSpendEntries(nil, slices.Clone(entries))
	}
	take := func(reading []byte) {
		if err := s.take(p, reading, false, false, 0); err != nil {
			b.Fatal(err)
		}
	}
	take(readings[0])
	s.publish()
	r := 1
	for b.Loop() {
		take(readings[r])
		r = r%(len(readings)-1) + 1
	}
}

// BenchmarkServeSpend100k is a peer's reading of this host's spend of
// 10^5 campaigns, as the peer listener answers it.
func BenchmarkServeSpend100k(b *testing.B) {
	src, ctx := spendSource(b, 100000)
	serveLoop(b, src, ctx)
}

// serveLoop serves ctx's request with src in b's loop, and returns the
// length of the answer, which it reports as the bytes of an operation.
func serveLoop(b *testing.B, src *Source, ctx *fasthttp.RequestCtx) int {
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		ctx.Response.Reset()
		src.Serve(ctx)
		n = len(ctx.Response.Body())
	}
	b.SetBytes(int64(n))
	return n
}

// BenchmarkServeSpendDelta100k is a peer's reading of what changed since
// its last, 300 of this host's 10^5 campaigns, as the peer listener
// answers it.
func BenchmarkServeSpendDelta100k(b *testing.B) {
	src, ctx := spendSource(b, 100000)
	_, v := src.State.AppendSpendSince(nil, 0)
	all := spendEntries(100000)
	moved := make([]decision.CampaignSpend, 300)
	for k := range moved {
		moved[k] = all[(k*331)%len(all)]
		moved[k].Total++
	}
	if _, err := src.State.RestoreSpend(decision.AppendSpendEntries(nil, moved)); err != nil {
		b.Fatal(err)
	}
	ctx.Request.SetRequestURI(fmt.Sprintf("%s?epoch=%d&since=%d", Path, src.State.SpendEpoch(), v))
	if n := serveLoop(b, src, ctx); n != 4+300*(26+len(moved[0].ID)) {
		b.Fatalf("answer of %d bytes; want the 300 campaigns moved", n)
	}
}

// BenchmarkReadingOverTLS is SyncOnce's whole reading of a peer's spend
// of 10^5 campaigns (4 MB) through a real loopback listener, over plain
// HTTP and over HTTPS (state.peerTLS) on a kept-alive connection, both
// ends in this process: what TLS adds to a reading, which is what a
// peer that restarted, or one this host has not read yet, costs.
func BenchmarkReadingOverTLS(b *testing.B) {
	for _, scheme := range []string{"http", "https"} {
		b.Run(scheme, func(b *testing.B) {
			src, _ := spendSource(b, 100000)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			s := New(decision.NewState(1024), []string{scheme + "://" + ln.Addr().String()}, 10*time.Second, "reader")
			if scheme == "https" {
				c := testcert.SelfSigned(b, testcert.Server{Serial: 1, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
				cert := tls.Certificate{Certificate: [][]byte{c.Cert.Raw}, PrivateKey: c.Key}
				ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
				s.TrustRoots(c.Pool())
			}
			srv := &fasthttp.Server{Handler: src.Handler}
			go srv.Serve(ln)     //nolint:errcheck // ends with Shutdown
			defer srv.Shutdown() //nolint:errcheck // the benchmark's end
			defer s.client.CloseIdleConnections()
			b.ReportAllocs()
			for b.Loop() {
				s.peers[0].cursor = spendCursor{} // the whole spend
				if err := s.SyncOnce(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(src.spendLen.Load()))
		})
	}
}
