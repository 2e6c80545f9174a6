package bench

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// svgCounts parses an SVG document and counts its elements by name, and
// collects its text.
func svgCounts(t *testing.T, b []byte) (map[string]int, string) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	counts := map[string]int{}
	var text strings.Builder
	depth := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG does not parse as XML: %s\n%s", err, b)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 && (tok.Name.Local != "svg" || tok.Name.Space != "http://www.w3.org/2000/svg") {
				t.Fatalf("unexpected root element %v", tok.Name)
			}
			depth++
			counts[tok.Name.Local]++
		case xml.EndElement:
			depth--
		case xml.CharData:
			text.Write(tok)
			text.WriteByte('\n')
		}
	}
	if depth != 0 {
		t.Fatalf("unbalanced SVG elements: depth %d at the end", depth)
	}
	return counts, text.String()
}

func TestWriteSVG(t *testing.T) {
	t.Parallel()
	us := func(v float64) float64 { return v * float64(time.Microsecond) }
	series := []Series{
		{Name: "ceiling p50", Color: "#1f77b4", Dashed: true, Points: []XY{{5000, us(40)}, {20000, us(60)}, {30000, us(80)}}},
		{Name: "ceiling p99", Color: "#1f77b4", Points: []XY{{5000, us(200)}, {20000, us(400)}, {30000, us(900)}}},
		{Name: "rtbd p50", Color: "#ff7f0e", Dashed: true, Points: []XY{{5000, us(60)}, {20000, us(90)}, {30000, 0}}},
		{Name: "rtbd <p99> & co", Color: "#ff7f0e", Points: []XY{{5000, us(300)}, {20000, us(2500)}}},
	}
	var buf bytes.Buffer
	if err := WriteSVG(&buf, "Latency <test> & more", series); err != nil {
		t.Fatalf("cannot write SVG: %s", err)
	}
	counts, text := svgCounts(t, buf.Bytes())
	if counts["polyline"] != 4 {
		t.Fatalf("unexpected polyline count; got %d; want 4 (one per series)", counts["polyline"])
	}
	// 11 points, one of them without a latency.
	if counts["circle"] != 10 {
		t.Fatalf("unexpected marker count; got %d; want 10", counts["circle"])
	}
	for _, want := range []string{"Latency <test> & more", "ceiling p50", "rtbd <p99> & co", "1 ms p99 target", "rate (requests/s)", "30k", "10 us", "1 ms", "10 ms"} {
		if !strings.Contains(text, want) {
			t.Fatalf("SVG text lacks %q; text:\n%s", want, text)
		}
	}
}

func TestWriteSVGEmpty(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := WriteSVG(&buf, "empty", []Series{{Name: "none"}}); err != nil {
		t.Fatalf("cannot write SVG: %s", err)
	}
	counts, text := svgCounts(t, buf.Bytes())
	if counts["circle"] != 0 || !strings.Contains(text, "1 ms p99 target") {
		t.Fatalf("unexpected empty plot: %v\n%s", counts, buf.Bytes())
	}
	if strings.Contains(buf.String(), "NaN") || strings.Contains(buf.String(), "Inf") {
		t.Fatalf("empty plot has non-finite coordinates:\n%s", buf.Bytes())
	}
}

func TestDecadeLabel(t *testing.T) {
	t.Parallel()
	f := func(d int, want string) {
		t.Helper()
		if got := decadeLabel(d); got != want {
			t.Fatalf("unexpected decadeLabel(%d); got %q; want %q", d, got, want)
		}
	}
	f(0, "1 ns")
	f(2, "100 ns")
	f(3, "1 us")
	f(5, "100 us")
	f(6, "1 ms")
	f(8, "100 ms")
	f(9, "1 s")
	f(11, "100 s")
}

func TestNiceStep(t *testing.T) {
	t.Parallel()
	f := func(v, want float64) {
		t.Helper()
		if got := niceStep(v); got != want {
			t.Fatalf("unexpected niceStep(%g); got %g; want %g", v, got, want)
		}
	}
	f(0, 1)
	f(1, 1)
	f(1.5, 2)
	f(3, 5)
	f(7000, 10000)
	f(12000, 20000)
}
