#!/usr/bin/env bash
# Recompute vendorHash exactly as buildGoModule's goModules derivation does
# (GOFLAGS= GO111MODULE=on GOTOOLCHAIN=local go mod vendor; NAR hash of
# vendor/) in a temporary copy of the module, and either rewrite
# nix/vendor-hash.nix or, with --check, compare against it.
# Usage: nix/update-vendor-hash.sh [--check] [--print]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
hashfile="$root/nix/vendor-hash.nix"
mode=update
case "${1:-}" in
--check) mode=check ;;
--print) mode=print ;;
"") ;;
*)
	echo "usage: $0 [--check|--print]" >&2
	exit 2
	;;
esac

tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
# Only what the package's source fileset holds matters for vendoring:
# go.mod, go.sum and the Go files that import packages.
cp "$root/go.mod" "$root/go.sum" "$tmp/"
(cd "$root" && find daemon -name '*.go' -print0 | tar --null -T - -cf -) | tar -C "$tmp" -xf -

(
	cd "$tmp"
	rm -rf vendor
	GOFLAGS='' GO111MODULE=on GOTOOLCHAIN=local go mod vendor
	mkdir -p vendor
)
got=$(nix --extra-experimental-features nix-command hash path "$tmp/vendor")
want=$(sed -n 's/^"\(sha256-[^"]*\)"$/\1/p' "$hashfile")

case $mode in
print) echo "$got" ;;
check)
	if [[ "$got" != "$want" ]]; then
		echo "vendorHash is stale: nix/vendor-hash.nix has $want, go mod vendor gives $got" >&2
		echo "run nix/update-vendor-hash.sh" >&2
		exit 1
	fi
	echo "vendorHash ok: $got"
	;;
update)
	sed -i "s|^\"sha256-[^\"]*\"$|\"$got\"|" "$hashfile"
	echo "nix/vendor-hash.nix: $want -> $got"
	;;
esac
