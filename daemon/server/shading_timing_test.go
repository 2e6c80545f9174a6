package server

import (
	"testing"
	"time"

	"github.com/rtbd/rtbd/daemon/config"
	"github.com/rtbd/rtbd/daemon/openrtb"
	"github.com/rtbd/rtbd/daemon/shading"
)

// BenchmarkExchangeShading is what an exchange's first-price shading
// adds to a request: fixed (a field), and learned (autoShading: a hash
// of the request id to choose whether it explores, and an atomic load).
func BenchmarkExchangeShading(b *testing.B) {
	req := &openrtb.Request{ID: []byte("d8d1e282-61c1-427e-954e-b140767afe90"), AT: 1}
	body := true
	fixed := newExchange(config.Exchange{Name: "bench-fixed", BidPath: "/f", NoBidBody: &body, FirstPriceShading: 0.8}, nil)
	auto := newExchange(config.Exchange{Name: "bench-auto", BidPath: "/a", NoBidBody: &body, FirstPriceShading: 0.8},
		shading.New(shading.Config{Start: 0.8, Min: 0.5, Explore: 0.05}, time.Now()))
	for _, c := range []struct {
		name string
		x    *exchange
	}{{"fixed", fixed}, {"auto", auto}} {
		b.Run(c.name, func(b *testing.B) {
			n := 0
			for b.Loop() {
				if _, explore := c.x.shading(req); explore {
					n++
				}
			}
			handlerSink += n
		})
	}
}
