#!/usr/bin/env bash
# Rolling deploy of one region, one bidder at a time:
#   1. check that every other bidder of the region is ready and in VRRP
#      (keepalived active): one of them takes the VIP;
#   2. stop keepalived on the host, so VRRP moves the VIP to a peer, and wait
#      until the VIP has left the host's NIC and a peer's NIC holds it;
#   3. nixos-rebuild switch --flake FLAKE#HOST --target-host root@HOST; when
#      the kernel, initrd or kernel parameters changed (CPU isolation,
#      hugepages), reboot the host, so that it runs what it was built for;
#   4. wait for /readyz, then run a live SLO check with rtbload (on the host,
#      against loopback; --slo-from-here: from this machine to the bid URL);
#   5. start keepalived again (the host may take the VIP back) and continue.
# On any failure the deploy stops: a host whose system profile changed is
# switched back to the generation it ran before, one that had not changed
# (a failed build or copy) is only put back into VRRP. Hosts come from the
# inventory JSON (nixos/inventory.nix, `deploy.<region>`: lowest VRRP
# priority first, so the VIP moves once). After a reboot (the new boot id
# tells it), keepalived, which starts by itself, is stopped again until
# the SLO check passes; a rollback reboots again when it needs to.
#
# Usage: deploy.sh [--dry-run] [--inventory FILE] [--flake REF] [--rate N]
#                  [--duration D] [--slo EXPR] [--slo-from-here]
#                  [--ready-timeout SECONDS] REGION
# `nix run .#deploy -- REGION` passes the flake's inventory. NIX_SSHOPTS is
# honoured by nixos-rebuild; SSH_OPTS (space-separated) by the other ssh calls.
set -euo pipefail

dry_run=0
inventory=${RTBD_INVENTORY:-}
flake=.
rate=2000
duration=10s
slo='p99<2ms,errors<=0'
slo_from_here=0
ready_timeout=120
region=

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

die() {
	echo "deploy: $*" >&2
	exit 2
}

while (($# > 0)); do
	case $1 in
	--dry-run) dry_run=1 ;;
	--inventory) inventory=${2:?--inventory needs a file}; shift ;;
	--flake) flake=${2:?--flake needs a flake reference}; shift ;;
	--rate) rate=${2:?--rate needs a number}; shift ;;
	--duration) duration=${2:?--duration needs a Go duration}; shift ;;
	--slo-from-here) slo_from_here=1 ;;
	--slo) slo=${2:?--slo needs an rtbload -assert expression}; shift ;;
	--ready-timeout) ready_timeout=${2:?--ready-timeout needs seconds}; shift ;;
	-h | --help) usage; exit 0 ;;
	-*) die "unknown flag $1 (see --help)" ;;
	*)
		[[ -z $region ]] || die "one region at a time (got $region and $1)"
		region=$1
		;;
	esac
	shift
done

[[ -n $region ]] || die "missing REGION (see --help)"
[[ -n $inventory ]] || die "missing --inventory FILE (nix-instantiate --eval --strict --json nixos/inventory.nix)"
[[ -r $inventory ]] || die "cannot read inventory $inventory"
[[ $rate =~ ^[0-9]+$ ]] || die "--rate must be a whole number, got $rate"
[[ $ready_timeout =~ ^[0-9]+$ ]] || die "--ready-timeout must be whole seconds, got $ready_timeout"
command -v jq >/dev/null || die "jq is required"

if ! jq -e --arg r "$region" '.deploy[$r] | length > 0' "$inventory" >/dev/null; then
	die "unknown region $region; known: $(jq -r '.deploy | keys | join(", ")' "$inventory")"
fi
if ((!dry_run)) && jq -e '.sshKeys | any(test("Placeholder"))' "$inventory" >/dev/null; then
	die "the inventory's sshKeys still hold the placeholder: a host switched to it would accept no login (replace it in nixos/inventory.nix)"
fi
vip=$(jq -r --arg r "$region" '.regions[$r].vip' "$inventory")
mapfile -t hosts < <(jq -r --arg r "$region" '.deploy[$r][].name' "$inventory")
read -r -a ssh_opts <<<"${SSH_OPTS:--o BatchMode=yes -o ConnectTimeout=10}"

# field HOST KEY: one inventory field of a host.
field() {
	jq -r --arg h "$1" --arg k "$2" '.hosts[$h][$k]' "$inventory"
}

# run CMD...: run it, or print it under --dry-run.
run() {
	if ((dry_run)); then
		printf '+'
		printf ' %q' "$@"
		printf '\n'
	else
		"$@"
	fi
}

# remote HOST CMD: run a shell command on HOST over ssh.
remote() {
	local host=$1
	shift
	run ssh "${ssh_opts[@]}" "$(field "$host" ssh)" "$*"
}

# wait_for DESC TIMEOUT CMD...: retry CMD every second until it succeeds.
wait_for() {
	local desc=$1 timeout=$2 deadline
	shift 2
	if ((dry_run)); then
		echo "+ wait up to ${timeout}s until $desc"
		return 0
	fi
	deadline=$((SECONDS + timeout))
	until "$@" >/dev/null 2>&1; do
		if ((SECONDS >= deadline)); then
			echo "deploy: timed out after ${timeout}s waiting until $desc" >&2
			return 1
		fi
		sleep 1
	done
}

ready() {
	remote "$1" "curl -fsS -o /dev/null --max-time 2 $(field "$1" readyURL)"
}

# vip_gone HOST: the VIP is not on HOST's NIC. Every bidder has it on lo
# (modules/failover.nix), so only the NIC's addresses tell the holder.
vip_gone() {
	remote "$1" "! ip -o addr show dev $(field "$1" nic) | grep -qF ' $vip/'"
}

# vip_on_a_peer HOST: the NIC of one of HOST's peers holds the VIP.
vip_on_a_peer() {
	local peer
	for peer in "${hosts[@]}"; do
		[[ $peer == "$1" ]] && continue
		remote "$peer" "ip -o addr show dev $(field "$peer" nic) | grep -qF ' $vip/'" && return 0
	done
	return 1
}

# in_vrrp HOST: keepalived runs on HOST, so it can take the VIP.
in_vrrp() {
	remote "$1" "systemctl is-active --quiet keepalived.service"
}

system_profile=/nix/var/nix/profiles/system

# needs_reboot HOST: whether the switched system's kernel, initrd or
# kernel parameters are not those HOST booted with. An ssh failure is an
# error (status 2), not "no": a skipped reboot leaves the old CPU
# partition under the new system.
needs_reboot() {
	local same
	same=$(remote "$1" "if [ \"\$(readlink -f /run/booted-system/kernel)\" = \"\$(readlink -f /run/current-system/kernel)\" ] &&
		[ \"\$(readlink -f /run/booted-system/initrd)\" = \"\$(readlink -f /run/current-system/initrd)\" ] &&
		cmp -s /run/booted-system/kernel-params /run/current-system/kernel-params; then echo same; else echo differs; fi") || return 2
	case $same in
	same) return 1 ;;
	differs) return 0 ;;
	esac
	return 2
}

# reboot_host HOST: reboot it, wait until it runs a new boot and answers
# ssh, and take it out of VRRP again: keepalived starts by itself at boot
# (its readiness check keeps it out until rtbd is ready, but the SLO check
# has not run yet).
reboot_host() {
	local boot
	echo "deploy: $1's kernel, initrd or kernel parameters changed; rebooting it" >&2
	boot=$(remote "$1" "cat /proc/sys/kernel/random/boot_id") || return 1
	remote "$1" "systemctl reboot" || true # the connection may drop
	wait_for "$1 runs a new boot" 900 remote "$1" "[ \"\$(cat /proc/sys/kernel/random/boot_id)\" != '$boot' ]" || return 1
	remote "$1" "systemctl stop keepalived.service"
}

# reboot_if_needed HOST: reboot_host when needs_reboot says so.
reboot_if_needed() {
	local status=0
	if ((dry_run)); then
		echo "+ reboot $1 if its kernel, initrd or kernel parameters changed"
		return 0
	fi
	needs_reboot "$1" || status=$?
	case $status in
	0) reboot_host "$1" ;;
	1) return 0 ;;
	*) echo "deploy: cannot tell whether $1 needs a reboot" >&2; return 1 ;;
	esac
}

# slo_check HOST: a short open-loop run that must meet --slo. By default it
# runs on the host against loopback (housekeeping CPUs, no WAN in the
# numbers); --slo-from-here runs it from this machine against the bid URL.
slo_check() {
	local host=$1
	if ((slo_from_here)); then
		run rtbload -target "$(field "$host" bidURL)" -allow-remote -rate "$rate" -duration "$duration" \
			-progress=false -assert "$slo"
	else
		remote "$host" "rtbload -target http://127.0.0.1:$(jq -r .bidPort "$inventory")/openrtb2/bid -rate $rate -duration $duration -progress=false -assert '$slo'"
	fi
}

# rollback HOST PREV: HOST failed; switch it back to PREV, the system it
# ran before, when its profile moved (a failed build or copy moves
# nothing: --rollback would then go one generation too far back), and put
# it back into VRRP once ready. The deploy stops.
rollback() {
	local host=$1 prev=$2 cur back=1
	echo "deploy: $host failed" >&2
	cur=$(remote "$host" "readlink -f $system_profile") || cur=
	if [[ $cur != "$prev" ]]; then
		echo "deploy: switching $host back to $prev" >&2
		remote "$host" "nix-env -p $system_profile --set $prev && $prev/bin/switch-to-configuration switch" || back=0
		# A reboot into the new system's kernel parameters, undone too.
		if ((back)); then
			reboot_if_needed "$host" || back=0
		fi
	fi
	if ((back)) && wait_for "/readyz answers on $host" "$ready_timeout" ready "$host"; then
		remote "$host" "systemctl start keepalived.service" || true
	else
		echo "deploy: $host is not back and ready; it stays out of VRRP" >&2
	fi
	echo "deploy: stopped; hosts after $host in $region were not touched" >&2
	exit 1
}

deploy_host() {
	local host=$1 peer prev
	echo "==> $host ($(field "$host" address), VRRP priority $(field "$host" priority))"
	for peer in "${hosts[@]}"; do
		[[ $peer == "$host" ]] && continue
		ready "$peer" || { echo "deploy: peer $peer is not ready; refusing to take $host out" >&2; exit 1; }
		in_vrrp "$peer" || { echo "deploy: peer $peer is out of VRRP; refusing to take $host out" >&2; exit 1; }
	done
	if ((dry_run)); then
		prev="(the system $host runs)"
		echo "+ prev=\$(readlink -f $system_profile) on $host"
	else
		prev=$(remote "$host" "readlink -f $system_profile") || { echo "deploy: cannot read $host's system profile" >&2; exit 1; }
	fi

	remote "$host" "systemctl stop keepalived.service"
	wait_for "VIP $vip has left $host's NIC" 30 vip_gone "$host" || rollback "$host" "$prev"
	wait_for "a peer of $host holds VIP $vip" 30 vip_on_a_peer "$host" || rollback "$host" "$prev"

	run nixos-rebuild switch --flake "$flake#$host" --target-host "$(field "$host" ssh)" || rollback "$host" "$prev"
	reboot_if_needed "$host" || rollback "$host" "$prev"

	wait_for "/readyz answers on $host" "$ready_timeout" ready "$host" || rollback "$host" "$prev"
	slo_check "$host" || rollback "$host" "$prev"

	remote "$host" "systemctl start keepalived.service" || rollback "$host" "$prev"
	echo "==> $host done"
}

if ((dry_run)); then
	echo "# dry run: deploy $flake to region $region (VIP $vip), in order: ${hosts[*]}"
fi
for host in "${hosts[@]}"; do
	deploy_host "$host"
done
echo "deploy: region $region done (${#hosts[@]} hosts)"
