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
	off, dup := int64(-1), ""
	walkKeys(b, func(stack []frame, end int) bool {
		top := &stack[len(stack)-1]
		key := top.keys[len(top.keys)-1]
		for _, k := range top.keys[:len(top.keys)-1] {
			if bytes.EqualFold(k, key) {
				off, dup = int64(end-len(key)-1), string(key)
				return false
			}
		}
		return true
	})
	return off, dup
}

// frame is an object or array open in walkKeys, with an object's keys
// read so far, the last one the current.
type frame struct {
	object bool
	keys   [][]byte
}

// walkKeys calls key for each object key of b, valid JSON, in order, with
// the stack of objects and arrays open (the key last in the top frame's
// keys) and the offset of the key's closing quote, until key returns
// false.
func walkKeys(b []byte, key func(stack []frame, end int) bool) {
	var stack []frame
	expectKey := false // the next string in the top object is a key
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '{', '[':
			stack = append(stack, frame{object: c == '{'})
			expectKey = c == '{'
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
			top := &stack[len(stack)-1]
			top.keys, expectKey = append(top.keys, b[start:i]), false
			if !key(stack, i) {
				return
			}
		}
	}
}
