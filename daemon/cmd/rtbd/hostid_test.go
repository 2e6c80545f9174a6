package main

import (
	"testing"

	"github.com/rtbd/rtbd/daemon/config"
)

// TestHostIDOf: the default host id of hostnames that share their first
// 16 bytes differ, and every one is a valid bidding.hostID.
func TestHostIDOf(t *testing.T) {
	seen := map[string]string{}
	for _, h := range []string{"bid1", "rtbd-bidder-fra1-01", "rtbd-bidder-fra1-02", "rtbd-bidder-fra1-03.example.com", "exactly16bytes-1"} {
		id := hostIDOf(h)
		if prev, ok := seen[id]; ok {
			t.Fatalf("%s and %s share the host id %q", prev, h, id)
		}
		seen[id] = h
		if len(id) > 16 || len(h) <= 16 && id != h {
			t.Fatalf("hostIDOf(%q) = %q", h, id)
		}
		cfg := config.Default()
		cfg.Bidding.HostID = id
		if err := cfg.Validate(); err != nil {
			t.Fatalf("hostIDOf(%q) = %q: %v", h, id, err)
		}
	}
}
