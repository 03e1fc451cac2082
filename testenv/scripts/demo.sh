#!/usr/bin/env bash
# make demo: two hosts in network namespaces, joined by a veth, each runs
# macsecd with the same pre-shared CAK; MKA secures the link (backend auto:
# kernel MACsec where the kernel has it, else the userspace data plane),
# then the demo pings across the secured interfaces and prints
# `macsecctl status` for both. Everything is removed at the end, also on
# Ctrl-C. Needs root (re-runs itself with sudo -n when it can).
#
# Env: BIN (where `make build` put macsecd and macsecctl, default bin).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-bin}

if [[ $(id -u) != 0 ]]; then
	if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
		exec sudo -n -E env "PATH=$PATH" BIN="$BIN" bash "$0" "$@"
	fi
	echo "demo: needs root (network namespaces, veth, TAP); run: sudo make demo" >&2
	exit 1
fi
# A fresh Debian machine has iproute2 but not ping: install it once.
if ! command -v ping >/dev/null; then
	echo "demo: installing iputils-ping (apt-get)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends iputils-ping >/dev/null ||
		{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends iputils-ping >/dev/null; }
fi
for b in macsecd macsecctl; do
	[[ -x $BIN/$b ]] || { echo "demo: $BIN/$b missing; run make build (make demo does)" >&2; exit 1; }
done
MACSECD=$(realpath "$BIN/macsecd")
MACSECCTL=$(realpath "$BIN/macsecctl")

if [[ -t 1 ]]; then
	step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
else
	step() { printf '\n==> %s\n' "$*"; }
fi

id=$$
NSA=macsecd-demo-a-$id
NSB=macsecd-demo-b-$id
DIR=$(mktemp -d /tmp/macsecd-demo.XXXXXX)
pids=()

cleanup() {
	trap - EXIT INT TERM
	step "Cleaning up: stopping both daemons (each deletes its macsec0), removing the namespaces and $DIR"
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	ip netns del "$NSA" 2>/dev/null || true
	ip netns del "$NSB" 2>/dev/null || true
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted"; exit 130' INT TERM

step "Creating two hosts (network namespaces $NSA and $NSB) joined by a veth (eth0 in each)"
ip netns add "$NSA"
ip netns add "$NSB"
ip link add eth0 netns "$NSA" type veth peer name eth0 netns "$NSB"
for ns in "$NSA" "$NSB"; do
	ip -n "$ns" link set lo up
	ip -n "$ns" link set eth0 up
done

step "Writing a pre-shared CAK (root-only key file, mode 0600) and one config per host"
umask 077
# A random 128-bit CAK; it is never printed, only its name (CKN) is.
od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$DIR/demo.cak"
chmod 600 "$DIR/demo.cak"
for h in a b; do
	prio=16; [[ $h == b ]] && prio=32
	cat >"$DIR/$h.toml" <<EOF
[daemon]
control_socket = "$DIR/$h.sock"

[port.demo]
parent = "eth0"
interface = "macsec0"
backend = "auto"
key_agreement = "mka"
cipher_suite = "GCM-AES-128"
policy = "must-secure"

[port.demo.mka]
priority = $prio

[[port.demo.mka.key]]
ckn = "6d61637365636420646f6d6f"
cak_file = "$DIR/demo.cak"
EOF
	"$MACSECD" -check "$DIR/$h.toml"
done

step "Starting macsecd in each host (logs: $DIR/a.log, $DIR/b.log)"
ip netns exec "$NSA" "$MACSECD" -config "$DIR/a.toml" >"$DIR/a.log" 2>&1 &
pids+=($!)
ip netns exec "$NSB" "$MACSECD" -config "$DIR/b.toml" >"$DIR/b.log" 2>&1 &
pids+=($!)

step "Waiting until both daemons report the link secured (macsecctl status exits 0)"
secured() { ip netns exec "$1" "$MACSECCTL" -s "$DIR/$2.sock" status >/dev/null 2>&1; }
start=$EPOCHREALTIME
deadline=$((SECONDS + 30))
until secured "$NSA" a && secured "$NSB" b; do
	if ((SECONDS > deadline)); then
		echo "demo: not secured after 30 s; daemon logs:" >&2
		cat "$DIR/a.log" "$DIR/b.log" >&2
		exit 1
	fi
	sleep 0.5
done
awk "BEGIN { printf \"both secured after %.1f s\\n\", $EPOCHREALTIME - $start }"

step "Pinging 10.99.0.2 from 10.99.0.1 across the secured interfaces (macsec0)"
ip -n "$NSA" addr add 10.99.0.1/24 dev macsec0
ip -n "$NSB" addr add 10.99.0.2/24 dev macsec0
ip netns exec "$NSA" ping -n -c 5 -i 0.2 -W 2 10.99.0.2

step "macsecctl status on host a"
ip netns exec "$NSA" "$MACSECCTL" -s "$DIR/a.sock" status
step "macsecctl status on host b"
ip netns exec "$NSB" "$MACSECCTL" -s "$DIR/b.sock" status

step "What happened"
cat <<EOF
Two macsecd instances agreed on a CA with MKA (key server: host a, priority 16),
distributed a SAK and secured eth0: the pings above went through macsec0 as
GCM-AES-128 MACsec frames on the veth. The key identifiers above name the SAK;
no key was printed or logged.
EOF
