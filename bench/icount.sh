#!/usr/bin/env bash
# Count the instructions rtbd's bid handler executes per request (parse,
# decide, encode, as fasthttp calls it), under valgrind's callgrind, for
# the request sets of BenchmarkHandler. Unlike a timing, the count does
# not move with the machine's load: use it to compare two commits.
#   bench/icount.sh                          # corpus demo-ctv ctv:1000 banner:1000, 15 s
#   bench/icount.sh ctv:100000 banner:100000 # 6 minutes each (loading 10^5 campaigns)
#   ANNOTATE=1 bench/icount.sh ctv:1000      # and the functions by their own count
# Each set is answered twice first (pools, scratch), then ROUNDS times
# (8 by default) counted; the figure is the count over those requests.
# Needs valgrind (apt-get install valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "icount.sh: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
sets=("$@")
[ ${#sets[@]} -gt 0 ] || sets=(corpus demo-ctv ctv:1000 banner:1000)
rounds=${ROUNDS:-8}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Built with rtbd's profile (bench/pgo.sh), as rtbd is.
go build -pgo=daemon/cmd/rtbd/default.pgo -o "$tmp/rtbcount" ./daemon/cmd/rtbcount

printf '%-16s %12s %10s %s\n' set instr/req bids requests
for s in "${sets[@]}"; do
	name=${s%%:*} n=1000
	[ "$name" = "$s" ] || n=${s#*:}
	# One goroutine, no collection (the handler does not allocate) and no
	# preemption signals: the counted loop runs alone on its thread.
	GOMAXPROCS=1 GOGC=off GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind \
		--toggle-collect=main.measure --callgrind-out-file="$tmp/cg" \
		"$tmp/rtbcount" -set "$name" -campaigns "$n" -rounds "$rounds" >"$tmp/out" 2>"$tmp/err" ||
		{ cat "$tmp/err" >&2; exit 1; }
	ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$tmp/err")
	read -r _ reqs _ bids <"$tmp/out"
	printf '%-16s %12d %10s %s\n' "$s" "$((ir / reqs))" "$bids" "$reqs"
	if [ -n "${ANNOTATE:-}" ]; then
		callgrind_annotate "$tmp/cg" 2>/dev/null | sed -n '/file:function/,$p' | sed -n '3,32p' |
			sed 's|github.com/rtbd/rtbd/daemon/||g' | cut -c1-150
	fi
done
