#!/usr/bin/env bash
# Tests nixos/deploy.sh's live path (not --dry-run) against stubs of ssh and
# nixos-rebuild that act on a fake state directory: each host's system
# profile, where the VIP is, whether keepalived runs. Run by
# .ci/nix-checks.sh; needs bash and jq only.
#   bash nixos/deploy_test.sh INVENTORY_JSON
set -euo pipefail

inventory=${1:?usage: deploy_test.sh INVENTORY_JSON}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

mkdir -p "$work/bin"
# ssh [OPTS] root@ADDR CMD: runs CMD's effect on the state of the host at ADDR.
# A system's kernel is k-old for old-system, $NEWKERNEL for new-system;
# $s/booted is the kernel the host booted, $s/bootid its boot id. A host
# with $s/unready-on-KERNEL is not ready while booted with KERNEL.
cat >"$work/bin/ssh" <<'EOF'
#!/usr/bin/env bash
set -u
while [[ $1 == -o ]]; do shift 2; done
addr=${1#root@} cmd=$2
s=$STATE/$addr
echo "$addr: $cmd" >>"$STATE/log"
kernel() { if [[ $(cat "$s/profile") == /nix/store/new-system ]]; then echo "$NEWKERNEL"; else echo k-old; fi; }
case $cmd in
"if [ \"\$(readlink -f /run/booted-system/kernel)\""*)
	if [[ $(kernel) == "$(cat "$s/booted")" ]]; then echo same; else echo differs; fi ;;
"cat /proc/sys/kernel/random/boot_id") cat "$s/bootid" ;;
"[ \"\$(cat /proc/sys/kernel/random/boot_id)\" != "*) [[ $cmd != *"'$(cat "$s/bootid")'"* ]] ;;
"systemctl reboot") kernel >"$s/booted"; echo $(($(cat "$s/bootid") + 1)) >"$s/bootid"; touch "$s/vrrp" ;;
"readlink -f /nix/var/nix/profiles/system") cat "$s/profile" ;;
"systemctl stop keepalived.service") rm -f "$s/vrrp" "$s/vip"; for p in "$STATE"/*/vrrp; do touch "$(dirname "$p")/vip"; break; done ;;
"systemctl start keepalived.service") touch "$s/vrrp" ;;
"systemctl is-active --quiet keepalived.service") [[ -e $s/vrrp ]] ;;
"! ip -o addr show dev "*) [[ ! -e $s/vip ]] ;;
"ip -o addr show dev "*) [[ -e $s/vip ]] ;;
curl*) [[ ! -e $s/unready && ! -e $s/unready-on-$(cat "$s/booted") ]] ;;
"nix-env -p /nix/var/nix/profiles/system --set "*) set -- $cmd; echo "$5" >"$s/profile" ;;
rtbload*) true ;;
true) true ;;
*) echo "ssh stub: unknown command $cmd" >&2; exit 99 ;;
esac
EOF
# nixos-rebuild switch --flake F#HOST --target-host root@ADDR: $REBUILD says
# what happens: ok (a new generation), build-fails (nothing moves),
# switch-fails (the profile moves, the activation fails).
cat >"$work/bin/nixos-rebuild" <<'EOF'
#!/usr/bin/env bash
addr=${5#root@}
echo "$addr: nixos-rebuild" >>"$STATE/log"
case $REBUILD in
ok) echo /nix/store/new-system >"$STATE/$addr/profile" ;;
build-fails) exit 1 ;;
switch-fails) echo /nix/store/new-system >"$STATE/$addr/profile"; exit 1 ;;
esac
EOF
chmod +x "$work/bin/ssh" "$work/bin/nixos-rebuild"

# The example inventory's placeholder deploy key: a live deploy refuses it.
out=$(bash "$here/deploy.sh" --inventory "$inventory" "$(jq -r '.deploy | keys[0]' "$inventory")" 2>&1) &&
	fail "a live deploy with the placeholder key went ahead: $out"
grep -q placeholder <<<"$out" || fail "placeholder key: no reason given: $out"
jq '.sshKeys = ["ssh-ed25519 AAAAtest deploy@test"]' "$inventory" >"$work/inventory.json"
inventory=$work/inventory.json

region=$(jq -r '.deploy | keys[0]' "$inventory")
mapfile -t addrs < <(jq -r --arg r "$region" '.deploy[$r][].address' "$inventory")

# setup NAME REBUILD: a fresh region in $STATE (the last host holds the VIP,
# all in VRRP on /nix/store/old-system) for a deploy with REBUILD.
setup() {
	export STATE=$work/$1 REBUILD=$2 NEWKERNEL=k-old
	mkdir -p "$STATE"
	for a in "${addrs[@]}"; do
		mkdir -p "$STATE/$a"
		echo /nix/store/old-system >"$STATE/$a/profile"
		echo k-old >"$STATE/$a/booted"
		echo 1 >"$STATE/$a/bootid"
		touch "$STATE/$a/vrrp"
	done
	touch "$STATE/${addrs[-1]}/vip"
}

# deploy: run deploy.sh on $STATE; its exit status is in $status, its
# output in $STATE/out and its ssh calls in $STATE/log.
deploy() {
	status=0
	PATH=$work/bin:$PATH SSH_OPTS="-o BatchMode=yes" bash "$here/deploy.sh" \
		--inventory "$inventory" --ready-timeout 2 "$region" >"$STATE/out" 2>&1 || status=$?
}

first=${addrs[0]}

setup ok ok
deploy
[[ $status == 0 ]] || fail "ok: exit $status: $(cat "$STATE/out")"
for a in "${addrs[@]}"; do
	[[ $(cat "$STATE/$a/profile") == /nix/store/new-system ]] || fail "ok: $a not switched"
	[[ -e $STATE/$a/vrrp ]] || fail "ok: $a left out of VRRP"
done
grep -q "systemctl reboot" "$STATE/log" && fail "ok: rebooted a host whose kernel did not change"

# A failed build moves no profile: nothing to roll back (--rollback would
# have gone one generation before the one the host ran), back into VRRP.
setup build-fails build-fails
deploy
[[ $status == 1 ]] || fail "build-fails: exit $status"
grep -q "nix-env" "$STATE/log" && fail "build-fails: touched the profile: $(grep nix-env "$STATE/log")"
[[ $(cat "$STATE/$first/profile") == /nix/store/old-system ]] || fail "build-fails: $first is on $(cat "$STATE/$first/profile")"
[[ -e $STATE/$first/vrrp ]] || fail "build-fails: $first left out of VRRP"
[[ $(grep -c nixos-rebuild "$STATE/log") == 1 ]] || fail "build-fails: went on to another host"

# A failed switch moved the profile: back to the system the host ran.
setup switch-fails switch-fails
deploy
[[ $status == 1 ]] || fail "switch-fails: exit $status"
grep -qF "$first: nix-env -p /nix/var/nix/profiles/system --set /nix/store/old-system" "$STATE/log" ||
	fail "switch-fails: not switched back to old-system: $(cat "$STATE/log")"
[[ $(cat "$STATE/$first/profile") == /nix/store/old-system ]] || fail "switch-fails: $first is on $(cat "$STATE/$first/profile")"
[[ -e $STATE/$first/vrrp ]] || fail "switch-fails: $first left out of VRRP"

# A peer out of VRRP (an earlier failed deploy's): nobody would take the
# VIP, so no host is touched.
setup out-of-vrrp ok
rm -f "$STATE/${addrs[-1]}/vrrp"
deploy
[[ $status == 1 ]] || fail "out-of-vrrp: exit $status"
grep -q "stop keepalived\|nixos-rebuild" "$STATE/log" && fail "out-of-vrrp: took $first out while its peer was out of VRRP"
grep -q "out of VRRP; refusing" "$STATE/out" || fail "out-of-vrrp: no reason given: $(cat "$STATE/out")"

# A kernel change reboots the host before its readiness and SLO checks,
# and keepalived, which starts at boot, is stopped again until they pass.
setup reboot ok
NEWKERNEL=k-new
deploy
[[ $status == 0 ]] || fail "reboot: exit $status: $(cat "$STATE/out")"
for a in "${addrs[@]}"; do
	[[ $(grep -c "^$a: systemctl reboot" "$STATE/log") == 1 ]] || fail "reboot: $a not rebooted once"
	[[ $(cat "$STATE/$a/booted") == k-new ]] || fail "reboot: $a booted $(cat "$STATE/$a/booted")"
	grep -A1 "^$a: systemctl reboot" "$STATE/log" | grep -q "cat /proc/sys/kernel/random/boot_id" ||
		fail "reboot: $a not waited for a new boot"
	sed -n "/^$a: systemctl reboot/,\$p" "$STATE/log" | grep -m1 "^$a: \(systemctl stop keepalived\|rtbload\)" | grep -q "stop keepalived" ||
		fail "reboot: $a's keepalived not stopped before its SLO check"
done

# A host that fails after its reboot is switched back and rebooted again
# into the kernel it ran.
setup reboot-unready ok
NEWKERNEL=k-new
touch "$STATE/$first/unready-on-k-new"
deploy
[[ $status == 1 ]] || fail "reboot-unready: exit $status"
[[ $(grep -c "^$first: systemctl reboot" "$STATE/log") == 2 ]] || fail "reboot-unready: $first rebooted $(grep -c "^$first: systemctl reboot" "$STATE/log") times; want 2"
[[ $(cat "$STATE/$first/profile") == /nix/store/old-system && $(cat "$STATE/$first/booted") == k-old ]] ||
	fail "reboot-unready: $first on $(cat "$STATE/$first/profile"), booted $(cat "$STATE/$first/booted")"
[[ -e $STATE/$first/vrrp ]] || fail "reboot-unready: $first left out of VRRP"

if ((failures)); then
	echo "deploy_test: $failures failures" >&2
	exit 1
fi
echo "deploy_test: ok"
