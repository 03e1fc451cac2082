// Package testenv builds throwaway network labs for tests.
//
// The netns tier (this package) runs on the host: a Lab holds named network
// namespaces (Hosts) joined by veth pairs or a bridge, and removes them when
// the test ends, even when it fails. Namespaces are named
// "mtv-<pid>-<lab>-<host>" so that a later run can tell the leftovers of a
// killed process (its pid no longer runs) from those of a live one, and
// remove them before creating its own.
//
// The VM tier lives in testenv/lab: test files tagged `//go:build vmlab` are
// compiled statically and run inside qemu with real Debian kernels (see the
// README). The helpers here work unchanged inside that VM.
package testenv
