package main

import (
	"flag"
	"strings"
	"testing"
)

// TestBuildConfigRefusesBadFlags checks the command-line checks that the
// library's Config.Validate cannot make: 0 read as "default" there is a
// mistake here, and -ctv is bounded before any request is generated.
func TestBuildConfigRefusesBadFlags(t *testing.T) {
	if err := flag.Set("rate", "1000"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ flag, value, want string }{
		{"connections", "0", "-connections must be in 1..10000"},
		{"timeout", "0s", "-timeout must be > 0"},
		{"ctv", "-1", "-ctv must be in 0..10000"},
		{"ctv", "10001", "-ctv must be in 0..10000"},
		{"breaker.threshold", "0", "-breaker.threshold must be >= 1"},
	} {
		def := flag.Lookup(tc.flag).DefValue
		if err := flag.Set(tc.flag, tc.value); err != nil {
			t.Fatal(err)
		}
		_, _, err := buildConfig()
		if err := flag.Set(tc.flag, def); err != nil {
			t.Fatal(err)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("-%s %s: got error %v; want one containing %q", tc.flag, tc.value, err, tc.want)
		}
	}
	if _, _, err := buildConfig(); err != nil {
		t.Fatalf("-rate 1000 and the other flags' defaults: %v", err)
	}
	// A word that is no flag ends the flags: those after it are not read.
	if err := flag.CommandLine.Parse([]string{"-rate", "1000", "-assert", "p99<1ms,", "bids>=1000"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := buildConfig(); err == nil || !strings.Contains(err.Error(), `unexpected argument "bids>=1000"`) {
		t.Fatalf("a stray argument: %v; want an error naming it", err)
	}
}
