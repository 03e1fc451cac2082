package hwoffload

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/macsecd/macsecd/link"
)

// capsFrom builds Capabilities from a four-letter pattern "MPKU" where a
// dot marks the capability absent. Every Why names its capability and
// whether it is present, so tests can check which ones a reason quotes.
func capsFrom(p string) Capabilities {
	has := func(i int) bool { return p[i] != '.' }
	why := func(name string, ok bool) string {
		if ok {
			return name + "-yes"
		}
		return name + "-no"
	}
	return Capabilities{
		MAC: has(0), MACWhy: why("macwhy", has(0)),
		PHY: has(1), PHYWhy: why("phywhy", has(1)),
		Kernel: has(2), KernelWhy: why("kernwhy", has(2)),
		Userspace: has(3), UserspaceWhy: why("userwhy", has(3)),
	}
}

func chain(d Decision) string {
	if d.Err != nil {
		return "error"
	}
	var s []string
	for _, c := range d.Choices() {
		switch c.Backend {
		case Offload:
			s = append(s, c.Offload.String())
		default:
			if c.Offload != link.OffloadOff {
				s = append(s, fmt.Sprintf("%s-with-offload-%s", c.Backend, c.Offload))
				continue
			}
			s = append(s, string(c.Backend))
		}
	}
	return strings.Join(s, ",")
}

// TestChooseEveryCombination covers all 16 capability sets for each of the
// four configured backends; the expectations are written out by hand.
func TestChooseEveryCombination(t *testing.T) {
	want := map[string][4]string{
		//       auto                          offload    kernel    userspace
		"....": {"error", "error", "error", "error"},
		"...U": {"userspace", "error", "error", "userspace"},
		"..K.": {"kernel", "error", "kernel", "error"},
		"..KU": {"kernel,userspace", "error", "kernel", "userspace"},
		".P..": {"error", "error", "error", "error"},
		".P.U": {"userspace", "error", "error", "userspace"},
		".PK.": {"phy,kernel", "phy", "kernel", "error"},
		".PKU": {"phy,kernel,userspace", "phy", "kernel", "userspace"},
		"M...": {"error", "error", "error", "error"},
		"M..U": {"userspace", "error", "error", "userspace"},
		"M.K.": {"mac,kernel", "mac", "kernel", "error"},
		"M.KU": {"mac,kernel,userspace", "mac", "kernel", "userspace"},
		"MP..": {"error", "error", "error", "error"},
		"MP.U": {"userspace", "error", "error", "userspace"},
		"MPK.": {"mac,phy,kernel", "mac,phy", "kernel", "error"},
		"MPKU": {"mac,phy,kernel,userspace", "mac,phy", "kernel", "userspace"},
	}
	if len(want) != 16 {
		t.Fatalf("table has %d capability sets, want 16", len(want))
	}
	for pat, w := range want {
		for i, req := range []Backend{Auto, Offload, Kernel, Userspace} {
			d := Choose(capsFrom(pat), req)
			if got := chain(d); got != w[i] {
				t.Errorf("caps %s, backend %s: chain %q, want %q (err %v)", pat, req, got, w[i], d.Err)
			}
			if d.Err != nil {
				if !errors.Is(d.Err, ErrNoBackend) {
					t.Errorf("caps %s, backend %s: error %v does not wrap ErrNoBackend", pat, req, d.Err)
				}
				if d.Choice != (Choice{}) || d.Fallbacks != nil {
					t.Errorf("caps %s, backend %s: error with choices %+v", pat, req, d)
				}
				continue
			}
			for _, c := range d.Choices() {
				if c.Reason == "" {
					t.Errorf("caps %s, backend %s: %s has no reason", pat, req, c)
				}
			}
		}
	}
}

// TestChooseReasons checks that each reason quotes the probe findings that
// explain it, and nothing that does not.
func TestChooseReasons(t *testing.T) {
	for _, tc := range []struct {
		caps     string
		req      Backend
		contains []string // in the first choice's reason, or the error
		excludes []string
	}{
		// auto with offload: the offload's own evidence, nothing else.
		{"M.KU", Auto, []string{"auto: ", "mac offload", "macwhy-yes"}, []string{"phywhy", "kernwhy", "userwhy", "because"}},
		{".PKU", Auto, []string{"auto: ", "phy offload", "phywhy-yes"}, []string{"macwhy", "kernwhy", "userwhy"}},
		// auto without offload: kernel, because of both offload probes;
		// the userspace data plane ranks below and is not mentioned.
		{"..KU", Auto, []string{"auto: software kernel MACsec", "kernwhy-yes", "because no offload", "macwhy-no", "phywhy-no"}, []string{"userwhy"}},
		{"..K.", Auto, []string{"because no offload", "macwhy-no", "phywhy-no"}, []string{"userwhy"}},
		// auto down to userspace: offload and kernel explained.
		{"...U", Auto, []string{"auto: userspace", "userwhy-yes", "macwhy-no", "phywhy-no", "no kernel MACsec: kernwhy-no"}, nil},
		// offload capability but no kernel: says the kernel is missing.
		{"M..U", Auto, []string{"userspace", "kernel has no MACsec to program it through", "kernwhy-no"}, nil},
		{"MP..", Offload, []string{"backend = offload", "kernwhy-no"}, nil},
		// nothing runs: every reason listed.
		{"....", Auto, []string{"backend = auto", "macwhy-no", "phywhy-no", "kernwhy-no", "userwhy-no"}, nil},
		// explicit backends quote their own evidence or why not.
		{"..K.", Offload, []string{"backend = offload", "macwhy-no", "phywhy-no"}, nil},
		{"M.K.", Offload, []string{"configured: mac offload", "macwhy-yes"}, nil},
		{"...U", Kernel, []string{"backend = kernel", "kernwhy-no"}, nil},
		{"..K.", Kernel, []string{"configured: software kernel MACsec", "kernwhy-yes"}, nil},
		{"..K.", Userspace, []string{"backend = userspace", "userwhy-no"}, nil},
		{"...U", Userspace, []string{"configured: userspace", "userwhy-yes"}, nil},
	} {
		d := Choose(capsFrom(tc.caps), tc.req)
		text := d.Reason
		if d.Err != nil {
			text = d.Err.Error()
		}
		for _, s := range tc.contains {
			if !strings.Contains(text, s) {
				t.Errorf("caps %s, backend %s: %q lacks %q", tc.caps, tc.req, text, s)
			}
		}
		for _, s := range tc.excludes {
			if strings.Contains(text, s) {
				t.Errorf("caps %s, backend %s: %q mentions %q", tc.caps, tc.req, text, s)
			}
		}
	}
}

func TestChooseFallbackReasons(t *testing.T) {
	d := Choose(capsFrom("MPKU"), Auto)
	for _, f := range d.Fallbacks {
		if !strings.HasPrefix(f.Reason, "fallback: ") {
			t.Errorf("fallback %s reason %q", f, f.Reason)
		}
	}
	if got := d.Fallbacks[1].Reason; !strings.Contains(got, "kernwhy-yes") {
		t.Errorf("kernel fallback reason %q lacks the kernel probe", got)
	}
}

func TestChooseUnknownBackend(t *testing.T) {
	for _, req := range []Backend{"", "Auto", "hardware", "mac"} {
		d := Choose(capsFrom("MPKU"), req)
		if d.Err == nil || !strings.Contains(d.Err.Error(), "unknown backend") {
			t.Errorf("backend %q: err %v, want unknown backend", req, d.Err)
		}
	}
}

// TestChooseVeth is the acceptance case: a veth parent on a kernel with
// MACsec, as Probe describes it, and backend auto.
func TestChooseVeth(t *testing.T) {
	c := Capabilities{
		MACWhy:    "ethtool feature macsec-hw-offload is off on veth0",
		PHYWhy:    "veth0 has no PHY with MACsec offload (offload phy: operation not supported)",
		Kernel:    true,
		KernelWhy: "generic netlink family macsec version 1",
	}
	d := Choose(c, Auto)
	if d.Err != nil || d.Backend != Kernel || d.Offload != link.OffloadOff || len(d.Fallbacks) != 0 {
		t.Fatalf("Choose = %+v, want kernel alone", d)
	}
	const want = "auto: software kernel MACsec (generic netlink family macsec version 1), because no offload: " +
		"mac: ethtool feature macsec-hw-offload is off on veth0; " +
		"phy: veth0 has no PHY with MACsec offload (offload phy: operation not supported)"
	if d.Reason != want {
		t.Errorf("reason\n got %q\nwant %q", d.Reason, want)
	}
}
