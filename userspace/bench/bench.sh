#!/usr/bin/env bash
# bench.sh measures the userspace MACsec data plane against its baselines,
# in one run, on one netns topology (two namespaces joined by a veth whose
# offloads are off, recreated identically for every case):
#
#   plain      iperf3 over the bare veth
#   macsecd    iperf3 over the userspace backend's TAPs (GCM-AES-128, -256),
#              static SAs, validateFrames strict, SCI in every SecTAG
#   openvpn    iperf3 over OpenVPN 2.6 in tap mode, AES-256-GCM (TLS with a
#              throw-away PKI made here), userspace data channel (no DCO)
#   afpacket   the batched AF_PACKET ceiling: minimum-size frames sent with
#              sendmmsg, and through a transmit ring (PACKET_TX_RING, as the
#              backend sends), counted with recvmmsg, no crypto; and the
#              same flood through the backend (into A's TAP, counted at
#              B's TAP)
#
# For each: TCP single-stream throughput and UDP small-packet rate (received
# datagrams per second). It prints a table of ratios and writes
# $BENCH_OUT/results.txt, results.dat and bench.png (gnuplot).
#
# Needs root, iperf3, openvpn, openssl, ethtool, jq, gnuplot (Debian).
# BENCH_SECONDS (default 8) sets each measurement's length.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${BENCH_OUT:-$ROOT/bin/bench}
DUR=${BENCH_SECONDS:-8}
UDPLEN=${BENCH_UDP_LEN:-18} # iperf3's smallest UDP payload: 60-octet frames
GO=${GO:-go}
A=msbench-a-$$
B=msbench-b-$$
MACA=02:00:5e:be:00:0a
MACB=02:00:5e:be:00:0b
PIDS=()

mkdir -p "$OUT"
WORK=$(mktemp -d)
chmod 700 "$WORK"

log() { printf '%s\n' "$*" >&2; }

cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	PIDS=()
	ip netns del "$A" 2>/dev/null || true
	ip netns del "$B" 2>/dev/null || true
}
trap 'cleanup; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

for tool in iperf3 openvpn openssl ethtool jq gnuplot; do
	command -v "$tool" >/dev/null || { log "bench: $tool not installed (apt-get install $tool)"; exit 1; }
done
[ "$(id -u)" = 0 ] || { log "bench: needs root for network namespaces"; exit 1; }

(cd "$ROOT" && CGO_ENABLED=0 $GO build -o "$WORK/usbench" ./userspace/bench/usbench)

# topology: fresh namespaces and veth, offloads off on both ends.
topology() {
	cleanup
	ip netns add "$A"
	ip netns add "$B"
	ip link add eth0 netns "$A" address $MACA type veth peer name eth0 netns "$B" address $MACB
	for n in "$A" "$B"; do
		ip -n "$n" link set lo up
		ip -n "$n" link set eth0 up
		ip netns exec "$n" ethtool -K eth0 tso off gso off gro off tx off rx off sg off >/dev/null 2>&1 || true
	done
}

# bg NS CMD...: start CMD in namespace NS in the background, remember its PID.
bg() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@" &
	PIDS+=($!)
}

wait_for() { # wait_for FILE PATTERN SECONDS
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	log "bench: timed out waiting for '$2' in $1:"
	cat "$1" >&2 || true
	return 1
}

# iperf DST: TCP bits/s and UDP received datagrams/s to DST, from A.
iperf() {
	local dst=$1 tcp udp
	bg "$B" iperf3 -s -B "$dst" -p 5201 >/dev/null 2>&1
	sleep 0.5
	ip netns exec "$A" ping -c 1 -W 3 "$dst" >/dev/null
	tcp=$(ip netns exec "$A" iperf3 -c "$dst" -p 5201 -t "$DUR" -O 1 -J | jq '.end.sum_received.bits_per_second')
	udp=$(ip netns exec "$A" iperf3 -c "$dst" -p 5201 -t "$DUR" -u -b 0 -l "$UDPLEN" -J |
		jq '(.end.sum.packets - .end.sum.lost_packets) / .end.sum.seconds')
	echo "$tcp $udp"
}

keys() {
	(umask 077; head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/ka")
	(umask 077; head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/kb")
}

run_plain() {
	topology
	ip -n "$A" addr add 10.200.0.1/24 dev eth0
	ip -n "$B" addr add 10.200.0.2/24 dev eth0
	iperf 10.200.0.2
}

# secys SUITE KEYLEN: a fresh topology with the userspace backend on both
# ends (static SAs, TAP msec0), ready for traffic.
secys() {
	topology
	keys "$2"
	bg "$A" "$WORK/usbench" secy -parent eth0 -tap msec0 -suite "$1" -tx-key "$WORK/ka" -rx-key "$WORK/kb" -peer-mac $MACB >"$WORK/secy-a.log" 2>&1
	bg "$B" "$WORK/usbench" secy -parent eth0 -tap msec0 -suite "$1" -tx-key "$WORK/kb" -rx-key "$WORK/ka" -peer-mac $MACA >"$WORK/secy-b.log" 2>&1
	wait_for "$WORK/secy-a.log" ready 10
	wait_for "$WORK/secy-b.log" ready 10
}

run_macsecd() { # SUITE KEYLEN
	secys "$1" "$2"
	ip -n "$A" addr add 10.201.0.1/24 dev msec0
	ip -n "$B" addr add 10.201.0.2/24 dev msec0
	iperf 10.201.0.2
}

pki() {
	local d=$WORK/pki
	mkdir -p "$d"
	(
		cd "$d"
		umask 077
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
			-subj /CN=bench-ca -keyout ca.key -out ca.crt 2>/dev/null
		for n in server client; do
			openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$n" \
				-keyout $n.key -out $n.csr 2>/dev/null
			printf 'keyUsage=digitalSignature,keyAgreement\nextendedKeyUsage=%s\n' \
				"$([ $n = server ] && echo serverAuth || echo clientAuth)" >$n.ext
			openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 \
				-extfile $n.ext -out $n.crt 2>/dev/null
		done
	)
}

run_openvpn() {
	topology
	[ -f "$WORK/pki/ca.crt" ] || pki
	ip -n "$A" addr add 10.202.0.1/24 dev eth0
	ip -n "$B" addr add 10.202.0.2/24 dev eth0
	local common=(--dev tap0 --dev-type tap --proto udp --port 1194 --disable-dco
		--data-ciphers AES-256-GCM --ca "$WORK/pki/ca.crt" --verb 3 --ping 10)
	bg "$B" openvpn "${common[@]}" --local 10.202.0.2 --remote 10.202.0.1 --tls-server --dh none \
		--cert "$WORK/pki/server.crt" --key "$WORK/pki/server.key" \
		--ifconfig 10.203.0.2 255.255.255.0 >"$WORK/ovpn-b.log" 2>&1
	bg "$A" openvpn "${common[@]}" --local 10.202.0.1 --remote 10.202.0.2 --tls-client \
		--remote-cert-tls server --cert "$WORK/pki/client.crt" --key "$WORK/pki/client.key" \
		--ifconfig 10.203.0.1 255.255.255.0 >"$WORK/ovpn-a.log" 2>&1
	wait_for "$WORK/ovpn-a.log" "Initialization Sequence Completed" 30
	wait_for "$WORK/ovpn-b.log" "Initialization Sequence Completed" 30
	grep -q "AES-256-GCM" "$WORK/ovpn-a.log" || { log "bench: OpenVPN did not negotiate AES-256-GCM"; exit 1; }
	iperf 10.203.0.2
}

# flood IF [-ring]: minimum-size frames sent with sendmmsg (or the
# transmit ring) on IF in A, counted with recvmmsg on IF in B; prints
# received frames per second.
flood() {
	bg "$B" "$WORK/usbench" afpacket-rx -if "$1" -seconds "$DUR" >"$WORK/af-rx.log" 2>&1
	local rx=${PIDS[-1]}
	sleep 0.5
	ip netns exec "$A" "$WORK/usbench" afpacket-tx -if "$1" -size 60 -seconds "$((DUR + 2))" ${2:-} >/dev/null
	wait "$rx" || true
	PIDS=("${PIDS[@]/$rx/}")
	awk '/^pps/ {print $2}' "$WORK/af-rx.log"
}

run_afpacket() { # [-ring]
	topology
	flood eth0 "${1:-}"
}

# The backend's own small-frame ceiling: the same flood, sent into A's TAP
# and counted at B's TAP, so every frame is protected, sent, received and
# validated.
run_macsecd_flood() { # SUITE KEYLEN
	secys "$1" "$2"
	flood msec0
}

# Each case runs in this shell (output to a file, not a pipe or $(...)) so
# that cleanup knows every process it started.
log "bench: plain veth (offloads off)"
run_plain >"$WORK/r.plain"
log "bench: macsecd userspace GCM-AES-128"
run_macsecd GCM-AES-128 16 >"$WORK/r.m128"
log "bench: macsecd userspace GCM-AES-256"
run_macsecd GCM-AES-256 32 >"$WORK/r.m256"
log "bench: OpenVPN tap AES-256-GCM"
run_openvpn >"$WORK/r.ovpn"
log "bench: AF_PACKET batched I/O ceiling, sendmmsg"
run_afpacket >"$WORK/r.af"
log "bench: AF_PACKET batched I/O ceiling, transmit ring"
run_afpacket -ring >"$WORK/r.afring"
log "bench: macsecd small-frame ceiling GCM-AES-128"
run_macsecd_flood GCM-AES-128 16 >"$WORK/r.f128"
log "bench: macsecd small-frame ceiling GCM-AES-256"
run_macsecd_flood GCM-AES-256 32 >"$WORK/r.f256"
cleanup
read -r plain_tcp plain_udp <"$WORK/r.plain"
read -r m128_tcp m128_udp <"$WORK/r.m128"
read -r m256_tcp m256_udp <"$WORK/r.m256"
read -r ovpn_tcp ovpn_udp <"$WORK/r.ovpn"
read -r af_pps <"$WORK/r.af"
read -r afring_pps <"$WORK/r.afring"
read -r f128_pps <"$WORK/r.f128"
read -r f256_pps <"$WORK/r.f256"

{
	printf '# macsecd userspace benchmark, %s, %s, %d CPUs, %ss per measurement\n' \
		"$(date -u +%Y-%m-%dT%H:%MZ)" "$(uname -r)" "$(nproc)" "$DUR"
	awk -v pt="$plain_tcp" -v pu="$plain_udp" -v at="$m128_tcp" -v au="$m128_udp" \
		-v bt="$m256_tcp" -v bu="$m256_udp" -v ot="$ovpn_tcp" -v ou="$ovpn_udp" -v af="$af_pps" -v ar="$afring_pps" \
		-v fa="$f128_pps" -v fb="$f256_pps" '
	function row(name, t, u) {
		printf "%-30s %9.2f %8.2f %9.1f %8.2f %9.1f\n", name, t/1e9, t/pt, u/1e3, u/pu, t/ot
	}
	BEGIN {
		printf "%-30s %9s %8s %9s %8s %9s\n", "case", "TCP Gb/s", "x veth", "UDP kpps", "x veth", "x openvpn"
		row("plain veth, offloads off", pt, pu)
		row("macsecd userspace GCM-AES-128", at, au)
		row("macsecd userspace GCM-AES-256", bt, bu)
		row("OpenVPN 2.6 tap AES-256-GCM", ot, ou)
		ceil = (ar > af ? ar : af)
		printf "\nsmall frames (60 octets, flood, received per second):\n"
		printf "  AF_PACKET ceiling on the veth, sendmmsg (no crypto):   %8.1f kpps\n", af/1e3
		printf "  AF_PACKET ceiling on the veth, transmit ring:          %8.1f kpps\n", ar/1e3
		printf "  macsecd userspace GCM-AES-128, TAP to TAP:            %8.1f kpps (%.2f x the higher ceiling)\n", fa/1e3, fa/ceil
		printf "  macsecd userspace GCM-AES-256, TAP to TAP:            %8.1f kpps (%.2f x the higher ceiling)\n", fb/1e3, fb/ceil
		printf "goals: TCP >= 0.6 x veth: %s (%.2f); TCP >= 8 x OpenVPN: %s (%.1f)\n",
			(at/pt >= 0.6 ? "met" : "MISSED"), at/pt, (at/ot >= 8 ? "met" : "MISSED"), at/ot
	}'
} | tee "$OUT/results.txt"

cat >"$OUT/results.dat" <<DAT
"plain veth" $plain_tcp $plain_udp
"macsecd AES-128" $m128_tcp $m128_udp
"macsecd AES-256" $m256_tcp $m256_udp
"OpenVPN tap" $ovpn_tcp $ovpn_udp
"AF_PACKET sendmmsg" 0 $af_pps
"AF_PACKET TX ring" 0 $afring_pps
"macsecd 128 flood" 0 $f128_pps
"macsecd 256 flood" 0 $f256_pps
DAT
gnuplot <<GP
set terminal pngcairo size 1000,420 font "sans,10"
set output "$OUT/bench.png"
set multiplot layout 1,2 title "macsecd userspace data plane vs baselines ($(nproc) CPUs, same run)"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.8
set xtics rotate by -25 nomirror
set grid ytics
set key off
set title "TCP single stream (Gbit/s)"
plot "$OUT/results.dat" every ::0::3 using (\$2/1e9):xtic(1) linecolor rgb "#3070b0"
set title "small frames (kpps received): iperf3 UDP ${UDPLEN}-octet, and sendmmsg floods"
plot "$OUT/results.dat" using (\$3/1e3):xtic(1) linecolor rgb "#b05030"
unset multiplot
GP
log "bench: wrote $OUT/results.txt and $OUT/bench.png"
