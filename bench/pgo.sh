#!/usr/bin/env bash
# Refresh daemon/cmd/rtbd/default.pgo, the CPU profile that `go build` (and
# buildGoModule) uses for profile-guided optimisation of rtbd: hot calls
# are inlined across packages, which shortens the bid path by 5-20 %.
#
# The profile is taken from rtbd itself under open-loop load from rtbload's
# default mix (the corpus and synthetic CTV pods), half of it on the
# embedded demo data and half on a generated 10,000-campaign data set, so
# that both the small and the large index shape it. rtbd runs on CPU 1 and
# rtbload on CPU 0 when the machine has two. Takes about a minute.
#   bench/pgo.sh [rate]   # default 20000 requests per second
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-20000}
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

pin() { # pin CPU command...: exec, under taskset when there are two CPUs
  local cpu=$1; shift
  if [ "$(nproc)" -gt 1 ] && command -v taskset >/dev/null; then exec taskset -c "$cpu" "$@"; fi
  exec "$@"
}

go build -o "$tmp/rtbd" ./daemon/cmd/rtbd
go build -o "$tmp/rtbload" ./daemon/cmd/rtbload
"$tmp/rtbd" gen -campaigns 10000 -out "$tmp/data" >/dev/null
cat >"$tmp/large.json" <<JSON
{"data": {"campaignsFile": "$tmp/data/campaigns.json", "modelFile": "$tmp/data/model.json"}}
JSON
echo '{}' >"$tmp/demo.json"

profile() { # profile NAME CONFIG: 15 s of profile under load
  local name=$1 config=$2 port=18480 admin=18490
  # pin execs in the background subshell, so $! is the process itself.
  pin 1 "$tmp/rtbd" -config "$config" -listen "127.0.0.1:$port" -admin.listen "127.0.0.1:$admin" -log.level warn &
  pids+=($!)
  local rtbd=$!
  local ready=""
  for _ in $(seq 100); do
    if curl -fs "http://127.0.0.1:$admin/readyz" >/dev/null; then ready=1; break; fi
    sleep 0.1
  done
  [ -n "$ready" ] || { echo "pgo: rtbd ($name) did not become ready" >&2; exit 1; }
  pin 0 "$tmp/rtbload" -target "http://127.0.0.1:$port/openrtb2/bid" -rate "$rate" -duration 20s \
    -connections 32 -progress=false >"$tmp/$name.load" &
  pids+=($!)
  local load=$!
  sleep 3 # warm up
  curl -fs -o "$tmp/$name.pprof" "http://127.0.0.1:$admin/debug/pprof/profile?seconds=15"
  wait "$load"
  kill "$rtbd"
  wait "$rtbd" || { echo "pgo: rtbd ($name) did not drain cleanly" >&2; exit 1; }
  echo "pgo: $name: $(grep '^outcome' "$tmp/$name.load")"
}
profile demo "$tmp/demo.json"
profile large "$tmp/large.json"
go tool pprof -proto "$tmp/demo.pprof" "$tmp/large.pprof" >daemon/cmd/rtbd/default.pgo 2>/dev/null
echo "pgo: wrote daemon/cmd/rtbd/default.pgo ($(wc -c <daemon/cmd/rtbd/default.pgo) bytes)"
