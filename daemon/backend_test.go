package daemon

import (
	"fmt"
	"strings"
	"testing"
)

// TestSelectBackendsAllCombinations walks every combination of requested
// backend and probed capability and checks the rule of docs/config.md:
// an explicit backend is used if it can run and is an error otherwise;
// auto tries offload (needs kernel MACsec too), kernel, userspace, in that
// order, skipping what cannot run.
func TestSelectBackendsAllCombinations(t *testing.T) {
	for _, req := range []Backend{BackendAuto, BackendOffload, BackendKernel, BackendUserspace} {
		for _, off := range []string{"", "mac", "phy"} {
			for _, kern := range []bool{false, true} {
				for _, user := range []bool{false, true} {
					caps := Capabilities{Offload: off, OffloadWhy: "OFFWHY", Kernel: kern, KernelWhy: "KERNWHY",
						Userspace: user, UserspaceWhy: "USERWHY"}
					name := fmt.Sprintf("%s/offload=%q/kernel=%t/user=%t", req, off, kern, user)
					got, err := SelectBackends(req, caps)

					var want []Backend
					offOK := off != "" && kern
					switch req {
					case BackendOffload:
						if offOK {
							want = []Backend{BackendOffload}
						}
					case BackendKernel:
						if kern {
							want = []Backend{BackendKernel}
						}
					case BackendUserspace:
						if user {
							want = []Backend{BackendUserspace}
						}
					case BackendAuto:
						if offOK {
							want = append(want, BackendOffload)
						}
						if kern {
							want = append(want, BackendKernel)
						}
						if user {
							want = append(want, BackendUserspace)
						}
					}
					if len(want) == 0 {
						if err == nil {
							t.Errorf("%s: got %v, want an error", name, got)
						} else if !strings.Contains(err.Error(), string(req)) {
							t.Errorf("%s: error %q does not name the backend", name, err)
						}
						continue
					}
					if err != nil {
						t.Errorf("%s: %v", name, err)
						continue
					}
					var gotB []Backend
					for _, c := range got {
						gotB = append(gotB, c.Backend)
						if c.Reason == "" {
							t.Errorf("%s: %s chosen without a reason", name, c.Backend)
						}
						wantOff := "off"
						if c.Backend == BackendOffload {
							wantOff = off
						}
						if c.Offload != wantOff {
							t.Errorf("%s: %s has offload %q, want %q", name, c.Backend, c.Offload, wantOff)
						}
					}
					if fmt.Sprint(gotB) != fmt.Sprint(want) {
						t.Errorf("%s: got %v, want %v", name, gotB, want)
					}
					// With auto the first choice says why better ones were passed over.
					if req == BackendAuto && got[0].Backend != BackendOffload && !strings.Contains(got[0].Reason, "no offload: OFFWHY") && off == "" {
						t.Errorf("%s: reason %q does not say why offload was passed over", name, got[0].Reason)
					}
					if req == BackendAuto && got[0].Backend == BackendUserspace && !kern && !strings.Contains(got[0].Reason, "KERNWHY") {
						t.Errorf("%s: reason %q does not say why kernel MACsec was passed over", name, got[0].Reason)
					}
				}
			}
		}
	}
}

func TestSelectBackendsReasons(t *testing.T) {
	// This host: no offload on veth, no kernel MACsec, TUN present.
	got, err := SelectBackends(BackendAuto, Capabilities{
		OffloadWhy: "veth0: ethtool feature macsec-hw-offload off",
		KernelWhy:  "generic netlink family macsec not found", Userspace: true, UserspaceWhy: "/dev/net/tun usable"})
	if err != nil {
		t.Fatal(err)
	}
	want := "auto: userspace data plane; no offload: veth0: ethtool feature macsec-hw-offload off; no kernel MACsec: generic netlink family macsec not found"
	if len(got) != 1 || got[0].Reason != want {
		t.Errorf("got %+v\nwant reason %q", got, want)
	}
	_, err = SelectBackends(BackendKernel, Capabilities{KernelWhy: "generic netlink family macsec not found"})
	if err == nil || err.Error() != "backend = kernel, but the kernel has no MACsec: generic netlink family macsec not found" {
		t.Errorf("explicit kernel without MACsec: %v", err)
	}
	_, err = SelectBackends(BackendOffload, Capabilities{Offload: "mac", Kernel: false, KernelWhy: "no family"})
	if err == nil || !strings.Contains(err.Error(), "no MACsec to program it through: no family") {
		t.Errorf("offload without kernel MACsec: %v", err)
	}
	got, _ = SelectBackends(BackendAuto, Capabilities{Offload: "phy", OffloadWhy: "PHY accepted offload on a scratch SecY", Kernel: true, KernelWhy: "family v1", Userspace: true})
	if len(got) != 3 || got[0].Offload != "phy" || got[0].Reason != "auto: parent supports phy offload (PHY accepted offload on a scratch SecY)" {
		t.Errorf("phy offload: %+v", got)
	}
}
