package hwoffload

import (
	"errors"
	"fmt"
	"strings"

	"github.com/macsecd/macsecd/link"
)

// Backend names a SecY backend as the configuration spells it (the daemon's
// per-port `backend` key).
type Backend string

// Backends.
const (
	// Auto takes the best backend that runs: offload, then software kernel
	// MACsec, then the userspace data plane.
	Auto Backend = "auto"
	// Offload is kernel MACsec with the crypto in the NIC's MAC or PHY.
	Offload Backend = "offload"
	// Kernel is software kernel MACsec.
	Kernel Backend = "kernel"
	// Userspace is macsecd's own data plane over TAP and AF_PACKET.
	Userspace Backend = "userspace"
)

// Capabilities is what probing found for one parent interface. Each Why is
// a short clause an operator can act on, saying why the capability is there
// or not; Choose quotes them in its reasons and errors.
type Capabilities struct {
	MAC    bool // the MAC offloads MACsec (ethtool macsec-hw-offload)
	MACWhy string
	PHY    bool // the PHY accepted a SecY with offload phy
	PHYWhy string
	// Kernel: the kernel has MACsec. Offload is programmed through it, so
	// without it no offload runs either.
	Kernel    bool
	KernelWhy string
	// Userspace: the userspace data plane can run (TUN/TAP usable).
	Userspace    bool
	UserspaceWhy string
}

// Choice is one backend to try for a port.
type Choice struct {
	Backend Backend      // Offload, Kernel or Userspace; never Auto
	Offload link.Offload // OffloadMAC or OffloadPHY when Backend is Offload, else OffloadOff
	Reason  string       // why, for logs and `macsecctl status`
}

// String formats the choice for logs: "offload (mac)", "kernel".
func (c Choice) String() string {
	if c.Backend == Offload {
		return fmt.Sprintf("%s (%s)", c.Backend, c.Offload)
	}
	return string(c.Backend)
}

// Decision is the outcome of Choose: the backend to use and, when it
// refuses at creation, the fallbacks to try in order.
type Decision struct {
	// Choice is the preferred backend. It is the zero Choice when Err is
	// set.
	Choice
	// Fallbacks are tried in order when the backend before them refuses
	// (Open does this).
	Fallbacks []Choice
	// Err says why nothing can run; nil when a backend was chosen.
	Err error
}

// Choices returns the preferred choice followed by the fallbacks, or nil
// when Err is set.
func (d Decision) Choices() []Choice {
	if d.Err != nil {
		return nil
	}
	return append([]Choice{d.Choice}, d.Fallbacks...)
}

// ErrNoBackend is wrapped by every Decision.Err.
var ErrNoBackend = errors.New("no usable SecY backend")

// Choose decides which backend runs a port, given what the parent and the
// system can do and the configured backend. It is a pure function so that
// every combination is unit tested.
//
// With Auto every backend that can run is a candidate, best first: MAC
// offload, PHY offload, software kernel MACsec, userspace. The first is the
// choice, the rest fallbacks, and the reason names what was passed over and
// why. An explicit Offload tries MAC and then PHY offload and never falls
// back to software: the operator asked for crypto off the CPU, so a refusal
// is an error to see, not something to paper over. Explicit Kernel and
// Userspace are that backend or an error.
func Choose(c Capabilities, requested Backend) Decision {
	offloads, whyNoOffload := offloadChoices(c)
	kernel := Choice{Backend: Kernel, Offload: link.OffloadOff}
	user := Choice{Backend: Userspace, Offload: link.OffloadOff}
	switch requested {
	case Offload:
		if len(offloads) == 0 {
			return fail("backend = offload, but %s", whyNoOffload)
		}
		for i := range offloads {
			offloads[i].Reason = "configured: " + offloads[i].Reason
		}
		return Decision{Choice: offloads[0], Fallbacks: offloads[1:]}
	case Kernel:
		if !c.Kernel {
			return fail("backend = kernel, but the kernel has no MACsec: %s", c.KernelWhy)
		}
		kernel.Reason = "configured: software kernel MACsec (" + c.KernelWhy + ")"
		return Decision{Choice: kernel}
	case Userspace:
		if !c.Userspace {
			return fail("backend = userspace, but it cannot run: %s", c.UserspaceWhy)
		}
		user.Reason = "configured: userspace data plane (" + c.UserspaceWhy + ")"
		return Decision{Choice: user}
	case Auto:
	default:
		return fail("unknown backend %q (want auto, offload, kernel or userspace)", requested)
	}

	// Auto: every candidate that runs, best first. The first one's reason
	// names what ranks above it and why that cannot run, so the log line
	// alone explains the choice.
	kernel.Reason = "software kernel MACsec (" + c.KernelWhy + ")"
	user.Reason = "userspace data plane (" + c.UserspaceWhy + ")"
	type candidate struct {
		choices []Choice
		whyNot  string // when choices is empty
	}
	cands := []candidate{
		{offloads, whyNoOffload},
		{nil, "no kernel MACsec: " + c.KernelWhy},
		{nil, "no userspace data plane: " + c.UserspaceWhy},
	}
	if c.Kernel {
		cands[1].choices = []Choice{kernel}
	}
	if c.Userspace {
		cands[2].choices = []Choice{user}
	}
	var all []Choice
	var above []string
	for _, k := range cands {
		if len(k.choices) == 0 {
			if len(all) == 0 {
				above = append(above, k.whyNot)
			}
			continue
		}
		all = append(all, k.choices...)
	}
	if len(all) == 0 {
		return fail("backend = auto, but no backend can run: %s", strings.Join(above, "; "))
	}
	all[0].Reason = "auto: " + all[0].Reason
	if len(above) > 0 {
		all[0].Reason += ", because " + strings.Join(above, "; ")
	}
	for i := 1; i < len(all); i++ {
		all[i].Reason = "fallback: " + all[i].Reason
	}
	return Decision{Choice: all[0], Fallbacks: all[1:]}
}

// offloadChoices lists the offload modes that can run, MAC first (it sits
// closest to the host and carries more SAs on the NICs that have both),
// and when none can, why not in one clause.
func offloadChoices(c Capabilities) ([]Choice, string) {
	if !c.Kernel && (c.MAC || c.PHY) {
		return nil, "no offload: the parent can offload, but the kernel has no MACsec to program it through (" + c.KernelWhy + ")"
	}
	var out []Choice
	if c.MAC {
		out = append(out, Choice{Backend: Offload, Offload: link.OffloadMAC, Reason: "mac offload (" + c.MACWhy + ")"})
	}
	if c.PHY {
		out = append(out, Choice{Backend: Offload, Offload: link.OffloadPHY, Reason: "phy offload (" + c.PHYWhy + ")"})
	}
	if len(out) == 0 {
		return nil, "no offload: mac: " + c.MACWhy + "; phy: " + c.PHYWhy
	}
	return out, ""
}

func fail(format string, args ...any) Decision {
	return Decision{Err: fmt.Errorf("%w: "+format, append([]any{ErrNoBackend}, args...)...)}
}
