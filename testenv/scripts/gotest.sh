#!/usr/bin/env bash
# Runs `go test -json` for the given packages (default ./...) and prints a
# summary: failures with their output, every skipped test with its reason,
# and a last line "N passed, N failed, N skipped". Exits non-zero when a
# test or a package build fails.
#
# The netns tier needs root: when not root, the script re-runs itself with
# `sudo -n` if it can, otherwise those tests skip and are listed as skipped.
#
# Usage: gotest.sh [packages...]     Env: GOTESTFLAGS (extra go test flags)
set -euo pipefail
# One block, parsed whole before it runs: an edit to this file in the shared
# tree during a long run cannot break that run.
{
cd "$(dirname "$0")/../.."
GO=${GO:-go}

if [[ $(id -u) != 0 ]] && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
	exec sudo -n -E env "PATH=$PATH" bash "$0" "$@"
fi
[[ $(id -u) == 0 ]] || echo "gotest: not root: namespace tests will be skipped (listed below)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
$GO build -o "$tmp/testsum" ./testenv/cmd/testsum
# shellcheck disable=SC2086 # GOTESTFLAGS is a list of flags
$GO test -json ${GOTESTFLAGS:-} "${@:-./...}" 2>&1 | "$tmp/testsum"
exit
}
