package secret

import (
	"slices"
	"strings"
	"testing"
)

const (
	tokA = "0123456789abcdef0123456789abcdef"                    // 32, the shortest
	tokB = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA-._~+/==" // base64 with every extra character
)

func TestLines(t *testing.T) {
	text := "# keys of site 1\n\n  first  \r\n#second\nthird"
	var got []string
	for n, line := range Lines(text) {
		got = append(got, strings.Repeat("+", n)+line)
	}
	if want := []string{"+++first", "+++++third"}; !slices.Equal(got, want) {
		t.Fatalf("Lines: %q; want %q", got, want)
	}
}
