// Package jsonkeys reads the operator files (config, campaigns, model)
// strictly, with errors that say where: [Decode].
//
// It also finds a key that an object of a JSON document has twice
// ([Duplicate]). encoding/json keeps the last of two, and matches keys
// without regard to case, so `"daily":5,"Daily":50000` in a campaigns
// file loads a budget of 50000 without a word: the operator files refuse
// such documents instead.
package jsonkeys

import "bytes"

// Duplicate returns the offset in b of the second occurrence of a key
// that an object has twice, compared as encoding/json matches them
// (ASCII case folded; escapes compared as written), and the key; -1 when
// there is none. b must be valid JSON: the caller decodes it first.
func Duplicate(b []byte) (int64, string) {
	type frame struct {
		object bool
		keys   [][]byte
	}
	var stack []frame
	expectKey := false // the next string in the top object is a key
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '{':
			stack = append(stack, frame{object: true})
			expectKey = true
		case '[':
			stack = append(stack, frame{})
			expectKey = false
		case '}', ']':
			stack = stack[:len(stack)-1]
			expectKey = false
		case ',':
			expectKey = len(stack) > 0 && stack[len(stack)-1].object
		case '"':
			start := i + 1
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			if !expectKey {
				continue
			}
			key := b[start:i]
			top := &stack[len(stack)-1]
			for _, k := range top.keys {
				if bytes.EqualFold(k, key) {
					return int64(start - 1), string(key)
				}
			}
			top.keys = append(top.keys, key)
			expectKey = false
		}
	}
	return -1, ""
}
