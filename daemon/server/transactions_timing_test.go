package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
)

// BenchmarkTransactions is what bidding.transactionWindow adds to a
// request: hashing a UUID-sized source.tid, then seen before the decision
// and, on a bid, claim after it, in a default-sized table (2 MiB, 2^18
// words). "new" bids on a new id each time: 2^20 ids cycle through the
// table, so each claim evicts (the table full, the worst case); "duplicate"
// finds ids already bid on.
func BenchmarkTransactions(b *testing.B) {
	tids := make([][]byte, 1<<20)
	for i := range tids {
		tids[i] = fmt.Appendf(nil, "6f1c2a9e-3b4d-4e5f-8a7b-%012d", i)
	}
	now := time.Now()
	b.Run("new", func(b *testing.B) {
		tx := newTransactions(time.Hour, 1<<18)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			h := xxhash.Sum64(tids[i&(len(tids)-1)])
			if !tx.seen(h, 1, now) {
				tx.claim(h, 1, now)
			}
		}
	})
	b.Run("duplicate", func(b *testing.B) {
		tx := newTransactions(time.Hour, 1<<18)
		for _, tid := range tids[:1<<16] {
			tx.claim(xxhash.Sum64(tid), 1, now)
		}
		// The few pushed out of a full bucket are left out.
		var ids [][]byte
		for _, tid := range tids[:1<<16] {
			if tx.seen(xxhash.Sum64(tid), 2, now) && len(ids) < 1<<15 {
				ids = append(ids, tid)
			}
		}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if !tx.seen(xxhash.Sum64(ids[i%len(ids)]), 2, now) {
				b.Fatal("an id bid on is not seen")
			}
		}
	})
}
