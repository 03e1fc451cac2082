package daemon

import (
	"fmt"
	"os"

	"github.com/macsecd/macsecd/hwoffload"
	"github.com/macsecd/macsecd/link"
)

// Prober finds out which backends can run for a port. The daemon uses
// SystemProber; tests substitute their own.
type Prober interface {
	Probe(parent string) hwoffload.Capabilities
}

// SystemProber probes the running system rather than guessing from the
// kernel version: kernel MACsec is there when the generic netlink family
// "macsec" resolves (the kernel loads the module on that request if it
// exists), offload is what hwoffload's probes find on the parent, and the
// userspace data plane needs /dev/net/tun.
type SystemProber struct{}

// Probe implements Prober.
func (SystemProber) Probe(parent string) hwoffload.Capabilities {
	var c hwoffload.Capabilities
	conn, err := link.Dial()
	if err != nil {
		c.KernelWhy = err.Error()
	} else {
		defer conn.Close()
		c.Kernel, c.KernelWhy = true, "generic netlink family macsec resolved"
	}
	c.ProbeOffload(conn, parent)
	c.Userspace, c.UserspaceWhy = probeTUN()
	return c
}

func probeTUN() (bool, string) {
	f, err := os.OpenFile("/dev/net/tun", os.O_RDWR, 0)
	if err != nil {
		return false, fmt.Sprintf("/dev/net/tun: %v", err)
	}
	f.Close()
	return true, "/dev/net/tun usable"
}
