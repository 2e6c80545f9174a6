#!/usr/bin/env bash
# Nix checks that run without nixpkgs (nothing here can import it): parse
# every .nix file, the pure Nix unit tests (helpers, and the modules' logic
# against a stub of nixpkgs' lib), the vendorHash, the flake.lock
# pin, the VM test scripts' Python syntax, the inventory and deploy.sh
# --dry-run. Called by .ci/run; works offline once nix-bin is installed
# (go mod vendor needs the Go module cache).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

want_rev=b18a4b905f8d028dc4476412e6d6891728695379
want_ref=nixos-26.05
failed=0

step() { printf '\n== %s\n' "$*"; }
fail() {
	echo "FAIL: $*" >&2
	failed=1
}

need=()
command -v nix-instantiate >/dev/null || need+=(nix-bin)
command -v jq >/dev/null || need+=(jq)
if ((${#need[@]} > 0)); then
	step "installing ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >/dev/null
fi
export NIX_CONFIG="experimental-features = nix-command flakes"

step "parse every .nix file"
n=0
while IFS= read -r -d '' f; do
	n=$((n + 1))
	nix-instantiate --parse "$f" >/dev/null || fail "$f does not parse"
done < <(find . -name '*.nix' -not -path './.git/*' -not -path './vendor/*' -not -path './result*' -print0)
echo "$n files"

step "house style: no 'with lib;' in Nix files"
if grep -rln --include='*.nix' -E '^\s*with lib;' . 2>/dev/null; then
	fail "'with lib;' found (STYLE 18)"
fi

for t in nix/lib/tests.nix nix/tests/rtbd-module.nix nix/tests/failover-module.nix nix/tests/tuning-module.nix; do
	step "pure Nix unit tests ($t)"
	got=$(nix-instantiate --eval --strict "$t" 2>&1) || true
	if [[ $got != true ]]; then
		fail "$t: $got"
	else
		echo ok
	fi
done

step "vendorHash matches a fresh go mod vendor"
nix/update-vendor-hash.sh --check || fail "vendorHash (run nix/update-vendor-hash.sh)"

step "flake.lock pins nixpkgs to $want_ref @ $want_rev"
if jq -e --arg rev "$want_rev" --arg ref "$want_ref" '
	.version == 7 and .root == "root"
	and .nodes.root.inputs.nixpkgs == "nixpkgs"
	and .nodes.nixpkgs.locked.type == "github"
	and .nodes.nixpkgs.locked.owner == "NixOS" and .nodes.nixpkgs.locked.repo == "nixpkgs"
	and .nodes.nixpkgs.locked.rev == $rev
	and (.nodes.nixpkgs.locked.narHash | startswith("sha256-"))
	and .nodes.nixpkgs.original.ref == $ref' flake.lock >/dev/null; then
	echo ok
else
	fail "flake.lock does not pin nixpkgs $want_ref to $want_rev"
fi
grep -q "github:NixOS/nixpkgs/$want_ref\"" flake.nix || fail "flake.nix input is not github:NixOS/nixpkgs/$want_ref"

step "flake.lock is current for flake.nix (nix flake metadata --no-update-lock-file)"
# In a copy (git would hide untracked files) and, when possible, in an empty
# network namespace: a stale lock makes Nix try to fetch, which must fail
# here rather than reach the network.
lockdir=$(mktemp -d)
cp flake.nix flake.lock "$lockdir/"
isolate=()
if unshare -n true 2>/dev/null; then isolate=(unshare -n); fi
if "${isolate[@]}" nix --extra-experimental-features 'nix-command flakes' flake metadata --offline \
	--no-update-lock-file "path:$lockdir" >/dev/null 2>"$lockdir/err"; then
	echo ok
else
	fail "flake.lock does not match flake.nix inputs: $(tail -n 3 "$lockdir/err")"
fi
rm -rf "$lockdir"

step "VM test scripts are valid Python"
for t in tests/vm/*.nix; do
	[[ $t == tests/vm/default.nix ]] && continue
	script=$(nix-instantiate --eval --strict --json -E "(import ./$t { self = { }; }).testScript" | jq -r .) ||
		{ fail "$t: cannot evaluate testScript"; continue; }
	python3 -c 'import ast, sys; ast.parse(sys.stdin.read(), sys.argv[1])' "$t" <<<"$script" || fail "$t: testScript is not valid Python"
done
echo ok

step "inventory and deploy.sh --dry-run"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nix-instantiate --eval --strict --json nixos/inventory.nix >"$tmp/inventory.json" || fail "nixos/inventory.nix does not evaluate"
for host in $(jq -r '.hosts | keys[]' "$tmp/inventory.json"); do
	[[ -f nixos/hosts/$host/default.nix ]] || fail "inventory host $host has no nixos/hosts/$host/default.nix"
done
for region in $(jq -r '.deploy | keys[]' "$tmp/inventory.json"); do
	out=$(bash nixos/deploy.sh --dry-run --inventory "$tmp/inventory.json" "$region") || { fail "deploy.sh --dry-run $region"; continue; }
	# Every host of the region is switched, in inventory order (lowest priority first).
	want=$(jq -r --arg r "$region" '.deploy[$r][].name' "$tmp/inventory.json")
	got=$(sed -n "s/^+ nixos-rebuild switch --flake \.#\([^ ]*\) .*/\1/p" <<<"$out")
	[[ $got == "$want" ]] || fail "deploy.sh --dry-run $region switches [$got], want [$want]"
	grep -q 'systemctl\\ stop\\ keepalived' <<<"$out" || fail "deploy.sh --dry-run $region never leaves VRRP"
	# Each host's rank (its credential restart's turn) is its place in that order.
	jq -e --arg r "$region" '.deploy[$r] | to_entries | all(.value.rank == .key)' "$tmp/inventory.json" >/dev/null ||
		fail "inventory: the ranks of $region's hosts are not their places in the rollout order"
done
if bash nixos/deploy.sh --dry-run --inventory "$tmp/inventory.json" no-such-region >/dev/null 2>&1; then
	fail "deploy.sh accepted an unknown region"
fi
bash nixos/deploy_test.sh "$tmp/inventory.json" || fail "nixos/deploy_test.sh"
echo ok

step "shellcheck"
if command -v shellcheck >/dev/null; then
	shellcheck nixos/deploy.sh nixos/deploy_test.sh nix/update-vendor-hash.sh .ci/nix-checks.sh .ci/run tests/run.sh bench/*.sh || fail shellcheck
else
	echo "skipped: shellcheck not installed (apt-get install shellcheck)"
fi

if ((failed)); then
	echo -e "\nnix checks FAILED" >&2
	exit 1
fi
echo -e "\nnix checks passed"
