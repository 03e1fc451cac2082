// Command macsecd secures Ethernet links with MACsec (IEEE 802.1AE), keyed
// by MKA (IEEE 802.1X-2020) or by hand. See docs/operations.md.
package main

import (
	"os"

	"github.com/macsecd/macsecd/daemon"
)

func main() {
	os.Exit(daemon.Main(os.Args[1:], os.Stderr))
}
