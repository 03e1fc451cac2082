package daemon

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/mdlayher/genetlink"
)

// Prober finds out what backends can run for a port. The daemon uses
// SystemProber; tests substitute their own.
type Prober interface {
	Probe(parent string) Capabilities
}

// SystemProber probes the running system. It creates nothing: the kernel
// probe asks generic netlink for the "macsec" family, which the kernel
// resolves by loading the macsec module when it exists, so a kernel without
// MACsec answers ENOENT and one with it answers with the family.
type SystemProber struct {
	// Offload probes the parent for MACsec offload; nil means no offload
	// probe is available.
	Offload func(parent string) (mode, why string)
}

// Probe implements Prober.
func (p SystemProber) Probe(parent string) Capabilities {
	var c Capabilities
	if p.Offload != nil {
		c.Offload, c.OffloadWhy = p.Offload(parent)
	} else {
		c.OffloadWhy = "no offload probe in this build"
	}
	c.Kernel, c.KernelWhy = probeKernelMACsec()
	c.Userspace, c.UserspaceWhy = probeTUN()
	return c
}

func probeKernelMACsec() (bool, string) {
	conn, err := genetlink.Dial(nil)
	if err != nil {
		return false, fmt.Sprintf("generic netlink: %v", err)
	}
	defer conn.Close()
	f, err := conn.GetFamily("macsec")
	switch {
	case err == nil:
		return true, fmt.Sprintf("generic netlink family macsec version %d", f.Version)
	case errors.Is(err, os.ErrNotExist), errors.Is(err, syscall.ENOENT):
		return false, "generic netlink family macsec not found (kernel built without CONFIG_MACSEC or module missing)"
	default:
		return false, fmt.Sprintf("generic netlink family macsec: %v", err)
	}
}

func probeTUN() (bool, string) {
	f, err := os.OpenFile("/dev/net/tun", os.O_RDWR, 0)
	if err != nil {
		return false, fmt.Sprintf("/dev/net/tun: %v", err)
	}
	f.Close()
	return true, "/dev/net/tun usable"
}
