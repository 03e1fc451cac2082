// Command macsecctl shows and controls what macsecd is doing, over its
// control socket. See docs/operations.md.
package main

import (
	"os"

	"github.com/macsecd/macsecd/daemon"
)

func main() {
	os.Exit(daemon.CtlMain(os.Args[1:], os.Stdout, os.Stderr))
}
