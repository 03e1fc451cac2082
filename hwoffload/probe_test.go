package hwoffload

import (
	"strings"
	"testing"

	"github.com/macsecd/macsecd/testenv"
)

// TestProbeVethHost reads a veth's features and driver in a namespace on
// the host (no MACsec needed): MAC offload is absent, and says so the way
// ethtool would.
func TestProbeVethHost(t *testing.T) {
	testenv.RequireRoot(t)
	lab := testenv.New(t)
	a := lab.Host("a")
	lab.Veth(a, "eth0", lab.Host("b"), "eth0")
	err := a.Do(func() error {
		ok, why := ProbeMAC("eth0")
		if ok || why != "ethtool feature macsec-hw-offload is off [fixed] on eth0" {
			t.Errorf("ProbeMAC(eth0) = %v, %q", ok, why)
		}
		if d := DriverName("eth0"); d != "veth" {
			t.Errorf("DriverName(eth0) = %q, want veth", d)
		}
		ok, why = ProbeMAC("nosuchdev0")
		if ok || !strings.Contains(why, "no such device") {
			t.Errorf("ProbeMAC(nosuchdev0) = %v, %q", ok, why)
		}
		if d := DriverName("nosuchdev0"); d != "" {
			t.Errorf("DriverName(nosuchdev0) = %q", d)
		}
		ok, why = ProbePHY(nil, "eth0")
		if ok || !strings.Contains(why, "no kernel MACsec") {
			t.Errorf("ProbePHY(nil) = %v, %q", ok, why)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
