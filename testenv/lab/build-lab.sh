#!/usr/bin/env bash
# Builds the VM lab from Debian packages (apt-get download only), cached
# under $MACSECD_LAB_CACHE (default /var/cache/macsecd-lab):
#
#   base.cpio                    guest userland: busybox (dynamic), iproute2,
#                                wpa_supplicant/wpa_cli, tcpdump, ethtool,
#                                kmod, the libraries ldd lists, /init
#   debian-6.12/vmlinux          uncompressed ELF kernel (PVH boot skips the
#   debian-6.1/vmlinux           decompression, 1.5-3 s under TCG)
#   <kernel>/modules.cpio        the lab's modules with their dependencies
#   stamp                        what the cache was built from
#
# Package names are resolved with apt-cache at build time; the cache is
# rebuilt when they, this script or the guest init change. The custom
# netdevsim kernel is custom-kernel.sh's business (custom/bzImage).
#
# Usage: build-lab.sh [-f]    -f rebuilds even when the stamp matches
set -euo pipefail
# One block, parsed whole before it runs: bash otherwise reads a script as
# it goes, and an edit to this file during a long run would break that run.
{
here=$(cd "$(dirname "$0")" && pwd)
cache=${MACSECD_LAB_CACHE:-/var/cache/macsecd-lab}
say() { echo "lab: $*"; }
die() {
	echo "lab: $*" >&2
	exit 1
}

tools=(busybox iproute2 wpasupplicant tcpdump ethtool kmod)
# name:meta-package. The meta packages follow bookworm's security updates.
kernels=(debian-6.12:linux-image-6.12-amd64 debian-6.1:linux-image-amd64)
# macsec asks for gcm(aes) only when the first SA is added; load the crypto
# up front so that request finds AES-NI and CLMUL implementations.
# bridge serves testenv's Lab.Bridge. nf_tables (netdev family built in)
# carries the userspace backend's isolation table on the parent.
modules=(macsec veth tun bridge nf_tables gcm ghash-generic aesni-intel ghash-clmulni-intel ctr)

for c in apt-get apt-cache dpkg-deb depmod modprobe cpio ldd; do
	command -v "$c" >/dev/null || die "missing $c (see .ci/run)"
done

# Each apt-cache run loads the whole package cache (~0.5 s), so the
# resolution below uses one run per question, not one per package.

# lib_closure PKG... prints PKG... and, recursively, the library packages
# (lib*, zlib*) they depend on, taking the first alternative of each
# dependency: what ldd may ask for.
lib_closure() {
	apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
		--no-breaks --no-replaces --no-enhances "$@" |
		awk -v roots="$*" '
		/^[^ ]/ { cur = $1; next }
		skip { skip = 0; next }
		/^ *\|(Pre)?Depends:/ { skip = 1 }
		/^ *\|?(Pre)?Depends: (lib|zlib)/ && $2 !~ /</ { deps[cur] = deps[cur] " " $2 }
		END {
			n = split(roots, q, " ")
			for (i = 1; i <= n; i++) {
				p = q[i]
				if (p in seen) continue
				seen[p] = 1; print p
				m = split(deps[p], d, " ")
				for (j = 1; j <= m; j++) q[++n] = d[j]
			}
		}'
}

mapfile -t userpkgs < <(lib_closure "${tools[@]}" | sort -u)
kpkgs=()
for k in "${kernels[@]}"; do
	p=$(apt-cache depends "${k#*:}" | awk '/^ *Depends: linux-image-[0-9]/ {print $2; exit}')
	[[ -n $p ]] || die "apt-cache cannot resolve ${k#*:} (apt-get update?)"
	kpkgs+=("${k%%:*}:$p")
done

# versions: "pkg=candidate" lines for every package the lab uses.
versions=$(apt-cache policy "${userpkgs[@]}" "${kpkgs[@]#*:}" |
	awk '/^[^ ]/ {sub(":$", "", $1); p = $1} /Candidate:/ {print p "=" $2}')
candidate() { awk -F= -v p="$1" '$1 == p {print $2}' <<<"$versions"; }

manifest=$(
	echo "$versions"
	echo "modules=${modules[*]}"
	sha256sum "$0" "$here/init.sh" | cut -c1-64
)
stamp=$(sha256sum <<<"$manifest" | cut -c1-16)
# One build at a time per cache; a second caller waits, then finds it done.
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [[ ${1:-} != -f && -f $cache/stamp && $(cat "$cache/stamp") == "$stamp" ]]; then
	say "cached in $cache ($(sed -n 's/^\(linux-image-[^=]*\)=.*/\1/p' <<<"$manifest" | tr '\n' ' '))"
	exit 0
fi

mkdir -p "$cache/debs"
work=$(mktemp -d "${TMPDIR:-/tmp}/macsecd-lab.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- download (only what the cache lacks) ---------------------------------
cd "$cache/debs"
want=()
for p in "${userpkgs[@]}" "${kpkgs[@]#*:}"; do
	v=$(candidate "$p")
	[[ -n $v && $v != "(none)" ]] || die "no candidate for $p"
	[[ -f $p.version && $(cat "$p.version") == "$v" ]] && compgen -G "${p}_*.deb" >/dev/null || want+=("$p")
done
if ((${#want[@]})); then
	say "downloading ${#want[@]} packages: ${want[*]}"
	for p in "${want[@]}"; do rm -f "${p}"_*.deb; done
	# apt's sandbox user must be able to write here.
	chown _apt "$cache/debs" 2>/dev/null || true
	apt-get download -q "${want[@]}" >/dev/null
	for p in "${want[@]}"; do
		f=$(compgen -G "${p}_*.deb" | head -1) || die "apt-get download $p produced no file"
		dpkg-deb -f "$f" Version >"$p.version"
	done
fi
# Packages the lab no longer uses (older kernel ABIs) only take space.
declare -A keep=()
for p in "${userpkgs[@]}" "${kpkgs[@]#*:}"; do keep[$p]=1; done
for f in *.version; do
	p=${f%.version}
	[[ -n ${keep[$p]:-} ]] || rm -f "$f" "${p}"_*.deb
done
deb() { compgen -G "$cache/debs/${1}_*.deb" | head -1; }

# --- userland ---------------------------------------------------------------
stage=$work/stage
root=$work/root
mkdir -p "$stage" "$root"
for p in "${userpkgs[@]}"; do dpkg-deb -x "$(deb "$p")" "$stage"; done
libpath=$stage/lib/x86_64-linux-gnu:$stage/usr/lib/x86_64-linux-gnu

# put SRC DST copies a file into the guest root (following symlinks).
put() {
	mkdir -p "$root/$(dirname "$2")"
	cp -L "$1" "$root/$2"
}

# binary GUESTPATH copies the staged binary and every library ldd resolves
# for it (from the staged packages, via LD_LIBRARY_PATH).
binary() {
	local src=$stage$1 line lib
	[[ -f $src ]] || die "$1 not in the downloaded packages"
	put "$src" "$1"
	while read -r line; do
		case $line in
		*"not found"*) die "$1: ${line%% *} not found in the downloaded packages" ;;
		*"=> /"*) lib=${line#*=> } lib=${lib%% (*} ;;
		/*) lib=${line%% (*} ;;
		*) continue ;;
		esac
		case $lib in
		"$stage"/*) put "$lib" "${lib#"$stage"}" ;;
		/lib64/ld-linux-x86-64.so.2) put "$stage/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" "$lib" ;;
		*) die "$1: $lib resolved outside the downloaded packages" ;;
		esac
	done < <(LD_LIBRARY_PATH=$libpath ldd "$src")
}

for b in /bin/busybox /bin/ip /sbin/wpa_supplicant /sbin/wpa_cli /usr/bin/tcpdump \
	/sbin/ethtool /bin/kmod; do
	[[ -f $stage$b ]] || b=/usr$b
	binary "$b"
done
for a in modprobe insmod rmmod lsmod modinfo depmod; do ln -sf /bin/kmod "$root/sbin/$a" 2>/dev/null ||
	{ mkdir -p "$root/sbin" && ln -sf /bin/kmod "$root/sbin/$a"; }; done
# Busybox applets fill in what the real tools above do not provide.
bb=$root/bin/busybox
[[ -e $root/bin/busybox ]] || bb=$root/usr/bin/busybox
while read -r a; do
	[[ $a == busybox ]] && continue
	for d in bin sbin usr/bin usr/sbin; do [[ -e $root/$d/$a ]] && continue 2; done
	ln -s "/${bb#"$root"/}" "$root/bin/$a"
done < <(LD_LIBRARY_PATH=$libpath "$bb" --list)

mkdir -p "$root"/{proc,sys,dev,tmp,run,etc,root,lab/bin,var,usr/share}
ln -s /run "$root/var/run"
# tcpdump drops privileges to the tcpdump user by default.
printf 'root:x:0:0:root:/root:/bin/sh\ntcpdump:x:101:101::/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\ntcpdump:x:101:\n' >"$root/etc/group"
echo lab >"$root/etc/hostname"
cp "$here/init.sh" "$root/init"
chmod 755 "$root/init"
echo "${modules[*]}" >"$root/lab/modules"

cpio_of() { (cd "$1" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet); }
cpio_of "$root" >"$work/base.cpio"
LD_LIBRARY_PATH=$libpath "$root/sbin/wpa_supplicant" -v | head -1 | sed 's/^/lab: guest /'

# --- kernels ----------------------------------------------------------------
# vmlinux_of BZIMAGE OUT finds the compressed payload in a bzImage and
# unpacks it, like the kernel's scripts/extract-vmlinux.
vmlinux_of() {
	local img=$1 out=$2 sig cmd off
	for sig in '\x1f\x8b\x08:gzip -dc' '\xfd7zXZ\x00:xz -dc' '\x28\xb5\x2f\xfd:zstd -dcq' \
		'BZh:bzip2 -dc' '\x5d\x00\x00\x00:xz -F lzma -dc' '\x02\x21\x4c\x18:lz4 -dc'; do
		cmd=${sig#*:}
		while read -r off; do
			tail -c +$((off + 1)) "$img" | $cmd >"$out" 2>/dev/null || true
			if [[ $(head -c4 "$out" | od -An -tx1 | tr -d ' ') == 7f454c46 ]]; then
				return 0
			fi
		done < <(LC_ALL=C grep -obUaP "${sig%%:*}" "$img" | cut -d: -f1)
	done
	die "no ELF kernel found in $img"
}

for k in "${kpkgs[@]}"; do
	name=${k%%:*} pkg=${k#*:}
	kx=$work/$name
	dpkg-deb -x "$(deb "$pkg")" "$kx"
	ver=$(basename "$(compgen -G "$kx/lib/modules/*" | head -1)")
	depmod -b "$kx" "$ver"
	mkdir -p "$work/out/$name"
	vmlinux_of "$kx/boot/vmlinuz-$ver" "$work/out/$name/vmlinux"
	mroot=$work/mods-$name
	md=lib/modules/$ver
	mkdir -p "$mroot/$md"
	cp "$kx/$md"/modules.{builtin,builtin.modinfo,order} "$mroot/$md/" 2>/dev/null || true
	for m in "${modules[@]}"; do
		while read -r kind path _; do
			[[ $kind == insmod ]] || continue
			mkdir -p "$mroot/$(dirname "${path#"$kx"/}")"
			cp "$path" "$mroot/${path#"$kx"/}"
		done < <(modprobe -d "$kx" -S "$ver" --show-depends "$m" || die "$name: module $m not found")
	done
	depmod -b "$mroot" "$ver"
	cpio_of "$mroot" >"$work/out/$name/modules.cpio"
	echo "$ver" >"$work/out/$name/release"
	say "$name: $pkg ($ver): $(find "$mroot" -name '*.ko*' | wc -l) modules"
done

# --- install ------------------------------------------------------------------
# Swap directories by rename so a concurrent vmtest.sh never sees a
# half-written kernel directory.
for k in "${kpkgs[@]}"; do
	name=${k%%:*}
	mv "$work/out/$name" "$cache/$name.new"
	rm -rf "${cache:?}/$name.old"
	[[ -d $cache/$name ]] && mv "$cache/$name" "$cache/$name.old"
	mv "$cache/$name.new" "$cache/$name"
	rm -rf "${cache:?}/$name.old"
done
mv "$work/base.cpio" "$cache/base.cpio"
echo "$manifest" >"$cache/manifest"
echo "$stamp" >"$cache/stamp"
say "built in $cache: base.cpio $(du -h "$cache/base.cpio" | cut -f1), ${kpkgs[*]#*:}"
exit
}
