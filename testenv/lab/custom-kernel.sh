#!/usr/bin/env bash
# Builds a small kernel from Debian's linux-source-6.12 with everything the lab
# needs built in, including netdevsim (the only MACsec offload that runs
# without hardware). The result is cached by the hash of this script, so a
# rebuild happens only when the configuration below changes.
#
# Usage: custom-kernel.sh            builds (or finds) $CACHE/custom/bzImage
# Env:   MACSECD_LAB_CACHE           cache root (default /var/cache/macsecd-lab)
set -euo pipefail

cache=${MACSECD_LAB_CACHE:-/var/cache/macsecd-lab}
out=$cache/custom
stamp=$(sha256sum "$0" | cut -c1-16)

if [[ -f $out/bzImage && -f $out/stamp && $(cat "$out/stamp") == "$stamp" ]]; then
	echo "custom kernel: cached at $out/bzImage"
	exit 0
fi

src_tar=/usr/src/linux-source-6.12.tar.xz
if [[ ! -f $src_tar ]]; then
	echo "custom kernel: $src_tar missing (apt-get install linux-source-6.12)" >&2
	exit 1
fi

# Options on top of tinyconfig. Each must survive olddefconfig: the check
# below fails the build early instead of producing a kernel that lacks one.
opts=(
	64BIT PRINTK TTY SERIAL_8250 SERIAL_8250_CONSOLE BLK_DEV_INITRD
	BINFMT_ELF BINFMT_SCRIPT PROC_FS PROC_SYSCTL SYSFS DEVTMPFS DEVTMPFS_MOUNT TMPFS
	MULTIUSER FUTEX EPOLL SIGNALFD TIMERFD EVENTFD SHMEM POSIX_TIMERS FILE_LOCKING
	ADVISE_SYSCALLS MEMBARRIER HIGH_RES_TIMERS HYPERVISOR_GUEST PVH SYSVIPC
	NET INET IPV6 UNIX PACKET NETDEVICES NET_CORE NAMESPACES NET_NS UTS_NS IPC_NS PID_NS
	VETH MACSEC TUN BRIDGE VLAN_8021Q ETHTOOL_NETLINK NETDEVSIM DEBUG_FS DEBUG_FS_ALLOW_ALL
	CRYPTO CRYPTO_AES CRYPTO_GCM CRYPTO_GHASH CRYPTO_CTR CRYPTO_AES_NI_INTEL
	CRYPTO_GHASH_CLMUL_NI_INTEL CRYPTO_CMAC
)

work=$(mktemp -d "${TMPDIR:-/tmp}/macsecd-kernel.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "custom kernel: extracting $src_tar"
tar -C "$work" -xf "$src_tar"
cd "$work"/linux-source-6.12

make -s tinyconfig
for o in "${opts[@]}"; do ./scripts/config --enable "$o"; done
make -s olddefconfig
missing=()
for o in "${opts[@]}"; do grep -q "^CONFIG_$o=y" .config || missing+=("$o"); done
if ((${#missing[@]})); then
	echo "custom kernel: options dropped by kconfig: ${missing[*]}" >&2
	exit 1
fi

echo "custom kernel: building with $(nproc) jobs (about 25 minutes on 2 cores)"
make -s -j"$(nproc)" bzImage
mkdir -p "$out"
cp arch/x86/boot/bzImage "$out/bzImage.tmp"
cp .config "$out/config"
mv "$out/bzImage.tmp" "$out/bzImage"
echo "$stamp" >"$out/stamp"
echo "custom kernel: built $out/bzImage"
