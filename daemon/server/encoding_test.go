package server

import "testing"

func TestRequestCoding(t *testing.T) {
	t.Parallel()
	for enc, want := range map[string][2]bool{
		"":               {false, true},
		"identity":       {false, true},
		"gzip":           {true, true},
		"GZIP":           {true, true},
		"x-gzip":         {true, true},
		"gzip, identity": {true, true},
		"identity,gzip":  {true, true},
		" gzip ,":        {true, true},
		"deflate":        {false, false},
		"br":             {false, false},
		"gzip, gzip":     {false, false}, // twice: not read
		"gzip, br":       {false, false},
		"gzipx":          {false, false},
		"identity;q=0.5": {false, false},
	} {
		if gzip, ok := requestCoding([]byte(enc)); gzip != want[0] || ok != want[1] {
			t.Errorf("requestCoding(%q) = %v, %v; want %v, %v", enc, gzip, ok, want[0], want[1])
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	t.Parallel()
	for accept, want := range map[string]bool{
		"":                         false,
		"gzip":                     true,
		"GZIP":                     true,
		"br,gzip":                  true,
		"deflate, gzip;q=1.0":      true,
		"gzip;q=0.5":               true,
		"x-gzip":                   true,
		"*":                        true,
		"br, *;q=0.1":              true,
		"identity":                 false,
		"br, deflate":              false,
		"gzip;q=0":                 false,
		"gzip; q=0.000, *":         false, // refused by name: "*" does not override
		"*;q=0":                    false,
		"gzip;q=0.001":             true,
		"gzipped":                  false,
		"deflate;q=0, gzip ; q=1 ": true,
	} {
		if got := acceptsGzip([]byte(accept)); got != want {
			t.Errorf("acceptsGzip(%q) = %v; want %v", accept, got, want)
		}
	}
}

func TestCodingsNoAlloc(t *testing.T) {
	enc, accept := []byte("identity, x-gzip"), []byte("br;q=1, deflate, gzip; q=0.5, *;q=0")
	if n := testing.AllocsPerRun(100, func() {
		requestCoding(enc)
		acceptsGzip(accept)
	}); n != 0 {
		t.Fatalf("%v allocations per read; want 0", n)
	}
}
