package daemon

import (
	"fmt"
	"strings"
)

// Capabilities is what the probes found for one port: whether each backend
// can run there, and why or why not, in words an operator can act on.
type Capabilities struct {
	// Offload is the offload mode the parent supports: "mac", "phy", or
	// "" when it supports none.
	Offload    string
	OffloadWhy string
	// Kernel reports whether the running kernel has MACsec.
	Kernel    bool
	KernelWhy string
	// Userspace reports whether the userspace data plane can run (TUN/TAP).
	Userspace    bool
	UserspaceWhy string
}

// Choice is one backend to try for a port and why it was chosen.
type Choice struct {
	Backend Backend // offload, kernel or userspace; never auto
	Offload string  // "mac" or "phy" for the offload backend, else "off"
	Reason  string
}

// SelectBackends decides which backends to try for a port, in order. With
// an explicit backend it is that backend or an error saying why it cannot
// run. With auto it is every backend that can run, best first (offload,
// kernel, userspace): the caller tries them in turn, so that an offload
// that refuses the SecY at creation falls back to software.
//
// It is a pure function of its inputs so that every combination is tested.
func SelectBackends(requested Backend, caps Capabilities) ([]Choice, error) {
	offload := Choice{Backend: BackendOffload, Offload: caps.Offload}
	kernel := Choice{Backend: BackendKernel, Offload: "off"}
	user := Choice{Backend: BackendUserspace, Offload: "off"}
	switch requested {
	case BackendOffload:
		if caps.Offload == "" {
			return nil, fmt.Errorf("backend = offload, but the parent has no MACsec offload: %s", caps.OffloadWhy)
		}
		if !caps.Kernel {
			// Offload is programmed through the kernel's MACsec driver.
			return nil, fmt.Errorf("backend = offload, but the kernel has no MACsec to program it through: %s", caps.KernelWhy)
		}
		offload.Reason = fmt.Sprintf("configured; %s offload: %s", caps.Offload, caps.OffloadWhy)
		return []Choice{offload}, nil
	case BackendKernel:
		if !caps.Kernel {
			return nil, fmt.Errorf("backend = kernel, but the kernel has no MACsec: %s", caps.KernelWhy)
		}
		kernel.Reason = "configured; " + caps.KernelWhy
		return []Choice{kernel}, nil
	case BackendUserspace:
		if !caps.Userspace {
			return nil, fmt.Errorf("backend = userspace, but it cannot run: %s", caps.UserspaceWhy)
		}
		user.Reason = "configured"
		return []Choice{user}, nil
	case BackendAuto:
	default:
		return nil, fmt.Errorf("unknown backend %q", requested)
	}

	// Candidates in order of preference; the first that can run says in
	// its reason what was passed over to get to it.
	type candidate struct {
		c      Choice
		ok     bool
		reason string // why chosen, or why not
	}
	cands := []candidate{
		{offload, caps.Offload != "" && caps.Kernel, ""},
		{kernel, caps.Kernel, "kernel MACsec (" + caps.KernelWhy + ")"},
		{user, caps.Userspace, "userspace data plane"},
	}
	switch {
	case caps.Offload == "":
		cands[0].reason = "no offload: " + caps.OffloadWhy
	case !caps.Kernel:
		cands[0].reason = fmt.Sprintf("parent has %s offload but the kernel has no MACsec to drive it", caps.Offload)
	default:
		cands[0].reason = fmt.Sprintf("parent supports %s offload (%s)", caps.Offload, caps.OffloadWhy)
	}
	if !caps.Kernel {
		cands[1].reason = "no kernel MACsec: " + caps.KernelWhy
	}
	if !caps.Userspace {
		cands[2].reason = "no userspace data plane: " + caps.UserspaceWhy
	}
	var choices []Choice
	var skipped []string
	for _, k := range cands {
		if !k.ok {
			skipped = append(skipped, k.reason)
			continue
		}
		k.c.Reason = "auto: " + k.reason
		if len(choices) == 0 && len(skipped) > 0 {
			k.c.Reason += "; " + strings.Join(skipped, "; ")
		}
		choices = append(choices, k.c)
	}
	if len(choices) == 0 {
		return nil, fmt.Errorf("backend = auto, but no backend can run: %s", strings.Join(skipped, "; "))
	}
	return choices, nil
}
