#!/usr/bin/env bash
# Run rtbd against the fixed-response ceiling and rewrite BENCHMARKS.md and
# docs/bench-latency.svg. Arguments go to `rtbload bench`, e.g.
#   bench/run.sh            # full run, about 3 minutes
#   bench/run.sh -quick     # smoke test, about 30 seconds
#   bench/run.sh -repeat 3  # median [min-max] over three runs
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/rtbload" ./daemon/cmd/rtbload
RTBLOAD_BENCH_COMMAND="bench/run.sh $*" "$tmp/rtbload" bench "$@"
