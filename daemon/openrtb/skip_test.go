package openrtb

import (
	"fmt"
	"strings"
	"testing"
)

// TestParseSkip pins what skipping an unknown value reports, byte offsets
// included. The expectations were recorded from the recursive skipper
// (nextKey and nextElem) that skipNested replaced.
func TestParseSkip(t *testing.T) {
	t.Parallel()
	const pre = `{"id":"a","imp":[{"id":"1","banner":{"w":1,"h":1}}],"x":`
	f := func(v, want string) {
		t.Helper()
		var r Request
		err := r.Parse([]byte(pre + v + `}`))
		if got := fmt.Sprint(err); got != want {
			t.Fatalf("unexpected result for skipping %q; got %s; want %s", v, got, want)
		}
	}
	const e = "cannot parse bid request: "
	f(`{"a":[1,2,}]}`, e+"unexpected character at byte 66")
	f(`{"a" 1}`, e+"expected ':' at byte 61")
	f(`[1 2]`, e+"expected ',' or ']' at byte 59")
	f(`{"a":1,}`, e+"expected object key at byte 63")
	f(`{,}`, e+"expected object key at byte 57")
	f(`[,1]`, e+"unexpected character at byte 57")
	f(`{"a":tru}`, e+"invalid literal at byte 61")
	f("{\"a\":\"\x01\"}", e+"control character in string at byte 62")
	f(`{"a":01}`, e+"expected ',' or '}' at byte 62")
	f(`{"a":-}`, e+"invalid number at byte 61")
	f(`{"a":[1.]}`, e+"invalid number at byte 62")
	f(`{"a":{"b":[}]}}`, e+"unexpected character at byte 67")
	f(`[{]`, e+"expected object key at byte 58")
	f(`{]`, e+"expected object key at byte 57")
	f(`[}`, e+"unexpected character at byte 57")
	f(`{"a":1 "b":2}`, e+"expected ',' or '}' at byte 63")
	f(`{"a\q":1}`, e+"invalid escape at byte 59")
	f("{\"\xff\":1}", "<nil>") // what is skipped is not kept: its UTF-8 is not checked
	f(`{"a":[[[[]]]],"b":{"c":{}}`, e+"unexpected end of input at byte 83")
	f(`{"a": [ 1 , { "b" : null } ] , "c" : "d" }`, "<nil>")
	f(`{"a":[1,2,3],"b":{"c":[true,false,null,"s",-1.5e3]}}`, "<nil>")
	f("{\"a\":[\n  {\"b\": \"caf\xc3\xa9\"},\n  \"\\u00e9\\n\"\n]}", "<nil>")
	// One space after ':', which skipNested steps over without skipWS.
	f(`{"a": 1, "b": "x", "c": [ 2 ]}`, "<nil>")
	f(`{"a": }`, e+"unexpected character at byte 62")
	f("{\"a\": \x01}", e+"unexpected character at byte 62")
	f("{\"a\":  \t1}", "<nil>")
	// Scalars, which skip reads inline when plain.
	f(`12`, "<nil>")
	f(` 7`, "<nil>")
	f(`"s"`, "<nil>")
	f(`"a long string of more than eight bytes"`, "<nil>")
	f(`"caf\u00e9 \"q\""`, "<nil>")
	f("\"\xff\"", "<nil>")
	f("\"\x01\"", e+"control character in string at byte 57")
	f(`"\x"`, e+"invalid escape at byte 57")
	f(`0`, "<nil>")
	f(`-3`, "<nil>")
	f(`1.5e3`, "<nil>")
	f(`01`, e+"expected ',' or '}' at byte 57")
	f(`1.`, e+"invalid number at byte 56")
	f(`1e`, e+"invalid number at byte 56")
	f(`12x`, e+"expected ',' or '}' at byte 58")
	f(`true`, "<nil>")
	f(`nul`, e+"invalid literal at byte 56")
	f(`x`, e+"unexpected character at byte 56")
	// The depth limit counts the levels the skipper opens: the request
	// is level 1.
	deep := strings.Repeat(`{"a":`, MaxDepth-1) + `1` + strings.Repeat(`}`, MaxDepth-1)
	f(deep, "<nil>")
	f(`[`+deep+`]`, e+"nesting too deep at byte 207")
}
