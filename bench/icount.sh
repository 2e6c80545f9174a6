#!/usr/bin/env bash
# Count the instructions rtbd's bid handler executes per request (parse,
# decide, encode, as fasthttp calls it), under valgrind's callgrind, for
# the request sets of BenchmarkHandler. Unlike a timing, the count does
# not move with the machine's load: use it to compare two commits.
#   bench/icount.sh                          # corpus demo-ctv ctv:1000 banner:1000, 15 s
#   bench/icount.sh ctv:100000 banner:100000 # 6 minutes each (loading 10^5 campaigns)
#   ANNOTATE=1 bench/icount.sh ctv:1000      # and the functions by their own count
#   COLD=1 bench/icount.sh                   # and the cache lines each request misses
#   SPLIT=1 bench/icount.sh                  # and parse, decide, encode, rest per request
# Each set is answered twice first (pools, scratch), then ROUNDS times
# (8 by default) counted; the figure is the count over those requests.
# The decisions' clock is pinned (server.NewBench): day-parting and the
# model's hour feature would otherwise change the count with the hour of
# the run (ctv:100000 by 1.7 % between two hours).
#
# COLD=1 evicts the caches before each counted request (rtbcount -evict,
# 2 MiB written, twice the simulated L2) and has callgrind simulate this
# machine's private caches (an AMD EPYC VM): L1i and L1d 32 KiB 8-way and
# its 1 MiB 8-way L2 as the last level. Under load a request finds its code
# and data evicted by the kernel's and the other connections' work, so
# the lines it misses cost it as much as its instructions do. Columns:
# code lines (I1 misses), data lines (D1 misses, reads and writes), and
# of those the ones from beyond L2 (LL misses), per request; ANNOTATE then
# sorts functions by their code misses.
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

cold=()
if [ -n "${COLD:-}" ]; then
	# shellcheck disable=SC2054 # the commas are valgrind's cache geometry
	cold=(--cache-sim=yes --I1=32768,8,64 --D1=32768,8,64 --LL=1048576,8,64)
	printf '%-16s %12s %8s %8s %8s %8s %10s %s\n' set instr/req I1miss D1miss ILmiss DLmiss bids requests
else
	printf '%-16s %12s %10s %s\n' set instr/req bids requests
fi
for s in "${sets[@]}"; do
	name=${s%%:*} n=1000
	[ "$name" = "$s" ] || n=${s#*:}
	# One goroutine, no collection (the handler does not allocate) and no
	# preemption signals: the counted loop runs alone on its thread.
	# Cold, only main.answer is counted: the eviction between requests is not.
	toggle=main.measure evict=0
	[ ${#cold[@]} -eq 0 ] || toggle=main.answer evict=2097152
	GOMAXPROCS=1 GOGC=off GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind "${cold[@]}" \
		--toggle-collect=$toggle --callgrind-out-file="$tmp/cg" \
		"$tmp/rtbcount" -set "$name" -campaigns "$n" -rounds "$rounds" -evict $evict >"$tmp/out" 2>"$tmp/err" ||
		{ cat "$tmp/err" >&2; exit 1; }
	read -r _ reqs _ bids <"$tmp/out"
	# events: Ir, or Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw with the caches.
	read -r -a ev < <(sed -n 's/^summary: //p' "$tmp/cg")
	show=Ir
	if [ ${#cold[@]} -eq 0 ]; then
		printf '%-16s %12d %10s %s\n' "$s" "$((ev[0] / reqs))" "$bids" "$reqs"
	else
		show=I1mr
		printf '%-16s %12d %8d %8d %8d %8d %10s %s\n' "$s" "$((ev[0] / reqs))" "$((ev[3] / reqs))" \
			"$(((ev[4] + ev[5]) / reqs))" "$((ev[6] / reqs))" "$(((ev[7] + ev[8]) / reqs))" "$bids" "$reqs"
	fi
	if [ -n "${SPLIT:-}" ]; then
		# Inclusive counts of the three stages (encode only on a bid);
		# rest is the handler around them (headers, body, stats, response).
		# Parse and AppendResponse are inlined into the server's handler,
		# where callgrind names them by their file and the caller.
		callgrind_annotate --inclusive=yes --show=Ir "$tmp/cg" 2>/dev/null | awk -v reqs="$reqs" -v total="${ev[0]}" '
			function count(s) { gsub(",", "", s); return s + 0 }
			function keep(v, n) { return n > v ? n : v }
			/openrtb\/parse\.go:github\.com\/rtbd\/rtbd\/daemon\/server\./ || /openrtb\.\(\*Request\)\.Parse / { p = keep(p, count($1)) }
			/:github\.com\/rtbd\/rtbd\/daemon\/decision\.\(\*Snapshot\)\.Decide / { d = keep(d, count($1)) }
			/openrtb\/encode\.go:github\.com\/rtbd\/rtbd\/daemon\/server\./ || /openrtb\.AppendResponse / { e = keep(e, count($1)) }
			END {
				if (!p || !d) { print "icount.sh: SPLIT found no parse or Decide count" > "/dev/stderr"; exit 1 }
				printf "  parse %d  decide %d  encode %d  rest %d\n", p / reqs, d / reqs, e / reqs, (total - p - d - e) / reqs
			}'
	fi
	if [ -n "${ANNOTATE:-}" ]; then
		callgrind_annotate --show=$show --sort=$show "$tmp/cg" 2>/dev/null | sed -n '/file:function/,$p' | sed -n '3,32p' |
			sed 's|github.com/rtbd/rtbd/daemon/||g' | cut -c1-150
	fi
done
