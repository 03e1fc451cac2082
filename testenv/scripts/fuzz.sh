#!/usr/bin/env bash
# Runs every Fuzz* target of the module for ${FUZZTIME:-10s} each, one at a
# time (go test -fuzz takes one target per run). A crash fails the run; Go
# saves the crashing input under the package's testdata/fuzz/<Target>/, and
# plain `go test` replays it from then on.
#
# Usage: fuzz.sh [packages...]   (default ./...)
set -euo pipefail
# One block, parsed whole before it runs: an edit to this file in the shared
# tree during a long run cannot break that run.
{
cd "$(dirname "$0")/../.."
GO=${GO:-go}
fuzztime=${FUZZTIME:-10s}

# `go test -list` prints each package's matching names, then a result line
# ("ok  <pkg> ..."), so names are attributed to the package that follows.
targets=()
names=()
while IFS= read -r line; do
	case $line in
	Fuzz*) names+=("$line") ;;
	ok*)
		pkg=$(awk '{print $2}' <<<"$line")
		for n in "${names[@]}"; do targets+=("$pkg $n"); done
		names=()
		;;
	"?"* | "") ;;
	*)
		echo "$line"
		if [[ $line == FAIL* ]]; then
			echo "fuzz: listing targets failed" >&2
			exit 1
		fi
		;;
	esac
done < <($GO test -list '^Fuzz' "${@:-./...}" 2>&1)

if ((${#targets[@]} == 0)); then
	echo "fuzz: no Fuzz targets found"
	exit 0
fi

failed=()
for tgt in "${targets[@]}"; do
	read -r pkg name <<<"$tgt"
	echo "fuzz: $pkg $name for $fuzztime"
	# No minimization: in a run this short, minimizing a large new input
	# can outlast -fuzztime, and go test then fails the target with
	# "context deadline exceeded" although nothing crashed. A crashing
	# input is still saved, whole, under testdata/fuzz/.
	if ! $GO test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime 0 "$pkg"; then
		failed+=("$pkg $name")
	fi
done
echo
echo "fuzz: ${#targets[@]} targets, ${#failed[@]} failed"
for f in "${failed[@]}"; do echo "  FAIL $f"; done
((${#failed[@]} == 0))
exit
}
