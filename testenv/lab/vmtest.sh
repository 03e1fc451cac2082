#!/usr/bin/env bash
# Runs Go tests inside the VM lab (make test-vm). Each kernel boots once
# and runs all of its test binaries; the guest's console streams here with
# a "[kernel package]" prefix, files the tests write to $MACSECD_LAB_OUT come
# back under the printed host directory (a listed package's TestLabResults*
# tests then check them on the host, with MACSECD_LAB_RESULTS set to it),
# and the run ends with the summary line "N passed, N failed, N skipped".
#
# Usage:
#   vmtest.sh                       every line of testenv/lab/suites
#   vmtest.sh -k KERNEL             only that kernel's lines
#   vmtest.sh [-k KERNEL] PKG [flags...]
#                                   one package on KERNEL (default debian-6.12),
#                                   e.g. vmtest.sh ./link -test.run TestSA
#   vmtest.sh --shell [KERNEL] [PKG...]
#                                   interactive shell in the lab (default
#                                   debian-6.12); the PKGs' test binaries are
#                                   in /lab/tests and /lab/run runs them all.
#                                   `exit` powers off; Ctrl-A X quits qemu.
# Env: MACSECD_LAB_CACHE (lab cache), LAB_TIMEOUT (per boot, default 20m),
#      LAB_OUT (host directory for results, default a new /tmp/macsecd-lab.*),
#      LAB_JOBS (kernels booted at once, default 1)
set -euo pipefail
# One block, parsed whole before it runs: bash otherwise reads a script as
# it goes, and an edit to this file during a long run would break that run.
{
cd "$(dirname "$0")/../.."
GO=${GO:-go}
cache=${MACSECD_LAB_CACHE:-/var/cache/macsecd-lab}
timeout=${LAB_TIMEOUT:-20m}
module=$($GO list -m)
kernels_known="debian-6.12 debian-6.1 custom"

die() {
	echo "vmtest: $*" >&2
	exit 1
}

only="" shell=""
case ${1:-} in
--shell)
	shift
	shell=debian-6.12
	if [[ " $kernels_known " == *" ${1:-} "* ]]; then
		shell=$1
		shift
	fi
	;;
-k)
	only=${2:?-k needs a kernel}
	shift 2
	;;
esac

bash testenv/lab/build-lab.sh

# kernel_files NAME prints the kernel image and the initramfs parts the
# kernel needs besides the tests.
kernel_files() {
	case $1 in
	debian-*)
		[[ -f $cache/$1/vmlinux ]] || die "no $cache/$1/vmlinux: run make lab"
		echo "$cache/$1/vmlinux $cache/base.cpio $cache/$1/modules.cpio"
		;;
	custom)
		[[ -f $cache/custom/bzImage ]] ||
			die "no $cache/custom/bzImage: run make lab-custom-kernel (about 25 minutes)"
		echo "$cache/custom/bzImage $cache/base.cpio"
		;;
	*) die "unknown kernel $1 (known: $kernels_known)" ;;
	esac
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/macsecd-vmtest.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
$GO build -o "$tmp/labrun" ./testenv/cmd/labrun
$GO build -o "$tmp/testsum" ./testenv/cmd/testsum

# --- what to run: lines "kernel package flags..." ---------------------------
lines=()
if [[ -n $shell ]]; then
	for pkg in "$@"; do lines+=("$shell $pkg"); done
elif (($#)); then
	lines+=("${only:-debian-6.12} $*")
else
	while read -r k rest; do
		[[ -z $k || $k == \#* ]] && continue
		[[ -n $only && $k != "$only" ]] && continue
		lines+=("$k $rest")
	done <testenv/lab/suites
fi
[[ -n $shell ]] || ((${#lines[@]})) || die "nothing to run${only:+ for kernel $only}"

# --- build the test binaries and the tools into one extra cpio ------------
stage=$tmp/stage
mkdir -p "$stage/lab/tests" "$stage/lab/bin" "$stage/lab/suites" "$stage/lab/src"
declare -A labels=() kernels=() bases=()
korder=()
[[ -z $shell ]] || korder=("$shell")
pkgs=()
for l in "${lines[@]}"; do
	read -r k pkg _ <<<"$l"
	kernel_files "$k" >/dev/null
	[[ -n ${kernels[$k]:-} || -n $shell ]] || korder+=("$k")
	kernels[$k]=1
	[[ -n ${labels[$pkg]:-} ]] && continue
	ip=$($GO list "$pkg") || die "no package $pkg"
	rel=${ip#"$module"}
	rel=${rel#/}
	labels[$pkg]=${rel:-root}
	pkgs+=("$pkg")
	# Tests run in their package directory, as under go test.
	mkdir -p "$stage/lab/src/$rel"
	[[ -d $pkg/testdata ]] && cp -r "$pkg/testdata" "$stage/lab/src/$rel/"
	bases[${ip##*/}]+="$pkg "
done
# One go invocation builds the packages in parallel; it names binaries by
# the last path element, so packages sharing one are built one by one.
together=() alone=()
for pkg in "${pkgs[@]}"; do
	ip=$($GO list "$pkg")
	if [[ ${bases[${ip##*/}]} == "$pkg " ]]; then together+=("$pkg"); else alone+=("$pkg"); fi
done
if ((${#together[@]})); then
	echo "vmtest: compiling ${together[*]} (-tags vmlab)"
	mkdir -p "$tmp/bin"
	CGO_ENABLED=0 $GO test -c -tags vmlab -o "$tmp/bin/" "${together[@]}"
	for pkg in "${together[@]}"; do
		ip=$($GO list "$pkg")
		label=${labels[$pkg]}
		[[ -f $tmp/bin/${ip##*/}.test ]] || die "$pkg has no tests"
		mv "$tmp/bin/${ip##*/}.test" "$stage/lab/tests/${label//\//_}.test"
	done
fi
for pkg in "${alone[@]}"; do
	label=${labels[$pkg]}
	echo "vmtest: compiling $pkg (-tags vmlab)"
	CGO_ENABLED=0 $GO test -c -tags vmlab -o "$stage/lab/tests/${label//\//_}.test" "$pkg"
	[[ -f $stage/lab/tests/${label//\//_}.test ]] || die "$pkg has no tests"
done
mains=$($GO list -f '{{if eq .Name "main"}}{{.ImportPath}}{{end}}' ./cmd/... 2>/dev/null || true)
if [[ -n $mains ]]; then
	echo "vmtest: building ./cmd/... into /lab/bin"
	# shellcheck disable=SC2086 # mains is a list of packages
	CGO_ENABLED=0 $GO build -o "$stage/lab/bin/" $mains
else
	echo "vmtest: ./cmd has no main packages yet: /lab/bin is empty"
fi

# One guest script per kernel; /lab/run sources the one for
# $MACSECD_LAB_KERNEL.
for k in "${korder[@]}"; do
	for l in ${lines[@]+"${lines[@]}"}; do
		read -r lk pkg flags <<<"$l"
		[[ $lk == "$k" ]] || continue
		label=${labels[$pkg]}
		rel=${label#root}
		# Flags are whitespace-separated words, quoted for the guest shell.
		read -ra fl <<<"$flags"
		printf 'labtest %q %q %q' "$label" "/lab/tests/${label//\//_}.test" "/lab/src/$rel"
		((${#fl[@]})) && printf ' %q' "${fl[@]}"
		echo
	done >"$stage/lab/suites/$k.sh"
done
cat >"$stage/lab/run" <<'GUEST'
#!/bin/sh
rc=0
# labtest LABEL BINARY DIR FLAGS... runs one test binary in DIR, its output
# prefixed with "LABEL| " for the host, between begin/end markers.
labtest() {
	label=$1 bin=$2 dir=$3
	shift 3
	echo "@@lab-begin $label"
	export MACSECD_LAB_OUT=/lab/out/$label
	mkdir -p "$MACSECD_LAB_OUT"
	cd "$dir" || return
	{ "$bin" -test.v -test.timeout=15m "$@" 2>&1; echo $? >/tmp/labtest.rc; } |
		awk -v p="$label| " '{ print p $0; fflush() }'
	r=$(cat /tmp/labtest.rc)
	echo "@@lab-end $label $r"
	[ "$r" = 0 ] || rc=1
	cd /
}
. "/lab/suites/$MACSECD_LAB_KERNEL.sh"
# Files in /lab/out go to the host as a base64 tar on the second serial port.
if [ -n "$(find /lab/out -type f | head -1)" ]; then
	{ echo @@lab-out-begin; tar -C /lab/out -cf - . | base64; echo @@lab-out-end; } >/dev/ttyS1
fi
exit $rc
GUEST
chmod 755 "$stage/lab/run" "$stage"/lab/suites/*.sh
(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$tmp/tests.cpio"

if [[ -n $shell ]]; then
	read -r kimg parts <<<"$(kernel_files "$shell")"
	# shellcheck disable=SC2086 # parts is a list of files
	cat $parts "$tmp/tests.cpio" >"$tmp/initrd"
	"$tmp/labrun" -shell -kernel "$kimg" -initrd "$tmp/initrd" -name "$shell"
	exit
fi

# --- boot each kernel once ----------------------------------------------------
out=${LAB_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/macsecd-lab.XXXXXX")}
mkdir -p "$out"
failed=()
# labrun exits 0 when all passed, 1 when some test failed (summarised
# below), else the guest died, hung or was interrupted. LAB_JOBS kernels
# boot at once (default 1: tests with timing margins see the least load).
maxjobs=${LAB_JOBS:-1}
declare -A kname=() kstart=()
running=0
reap() {
	local p="" rc=0
	wait -n -p p || rc=$?
	running=$((running - 1))
	local k=${kname[$p]}
	unset "kname[$p]"
	((rc <= 1)) || failed+=("$k")
	echo "vmtest: $k took $((SECONDS - ${kstart[$k]}))s"
}
# On INT/TERM labrun kills its qemu; wait for them so nothing is left.
trap 'kill -TERM "${!kname[@]}" 2>/dev/null; wait; exit 130' INT TERM
for k in "${korder[@]}"; do
	read -r kimg parts <<<"$(kernel_files "$k")"
	# shellcheck disable=SC2086 # parts is a list of files
	cat $parts "$tmp/tests.cpio" >"$tmp/initrd-$k"
	((running < maxjobs)) || reap
	echo "vmtest: booting $k ($(basename "$kimg"))"
	kstart[$k]=$SECONDS
	"$tmp/labrun" -kernel "$kimg" -initrd "$tmp/initrd-$k" -name "$k" -dir "$out/$k" -timeout "$timeout" &
	kname[$!]=$k
	running=$((running + 1))
done
while ((running > 0)); do reap; done
trap - INT TERM

# --- summary over every kernel and package ------------------------------------
summarise() {
	for l in "${lines[@]}"; do
		read -r k pkg _ <<<"$l"
		label=${labels[$pkg]}
		name="$module/${label#root}@$k"
		log=$out/$k/${label//\//_}.log
		rcf=$out/$k/${label//\//_}.rc
		[[ -f $log ]] && $GO tool test2json -p "$name" <"$log"
		rc=$(cat "$rcf" 2>/dev/null || echo missing)
		if [[ $rc != 0 ]]; then
			# A crash, timeout or a guest that died leaves no FAIL line.
			msg="test binary exit status: $rc"
			[[ $rc == missing ]] && msg="test binary did not finish (guest died or hung)"
			printf '{"Action":"output","Package":"%s","Output":"%s\\n"}\n' "$name" "$msg"
			printf '{"Action":"fail","Package":"%s"}\n' "$name"
		fi
	done
	# Host-side checks of what the guests brought back (e.g. tshark on
	# pcaps): a listed package's TestLabResults* tests run here, after
	# every boot, with MACSECD_LAB_RESULTS=$out.
	for pkg in "${pkgs[@]}"; do
		grep -qs '^func TestLabResults' "$pkg"/*_test.go || continue
		MACSECD_LAB_RESULTS=$out $GO test -json -count=1 -run '^TestLabResults' "$pkg" || true
	done
}
echo
echo "vmtest: results and guest files in $out"
for k in "${failed[@]}"; do echo "vmtest: FAIL: the $k guest did not complete its run (see above)"; done
summarise | "$tmp/testsum" && ((${#failed[@]} == 0))
exit
}
