//go:build vmlab

package userspace_test

import (
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/testenv"
	"github.com/macsecd/macsecd/userspace"
)

// TestKernelInterop runs inside the VM lab: host a uses the userspace
// backend, host b the kernel's MACsec configured with iproute2, with the
// same static SAs, for all four cipher suites. Traffic goes both ways
// (ping, and a TCP transfer checked by digest), and the wire carries only
// MACsec.
func TestKernelInterop(t *testing.T) {
	for _, cs := range suites {
		t.Run(cs.String(), func(t *testing.T) {
			lab := testenv.New(t)
			a, b := lab.Host("a"), lab.Host("b")
			lab.VethMAC(a, "eth0", macA, b, "eth0", macB)
			keyA, keyB := testKey(cs, 0xa0), testKey(cs, 0xb0)
			sciB := macsec.MakeSCI(macB, 1)
			salt := macsec.Salt{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}

			// Kernel side. The userspace side transmits with SSCI 1, the
			// kernel with SSCI 2 (XPN only).
			cipher := strings.ToLower(cs.String())
			sa := func(pn string, ssci int) []string {
				if !cs.XPN() {
					return []string{"pn", pn}
				}
				return []string{"xpn", pn, "ssci", fmt.Sprint(ssci), "salt", hex.EncodeToString(salt[:])}
			}
			cmds := [][]string{
				{"link", "add", "link", "eth0", "macsec0", "type", "macsec", "port", "1", "cipher", cipher,
					"encrypt", "on", "send_sci", "on", "validate", "strict"},
				append(append([]string{"macsec", "add", "macsec0", "tx", "sa", "0"}, sa("1", 2)...),
					"on", "key", "01", hex.EncodeToString(keyB)),
				{"macsec", "add", "macsec0", "rx", "port", "1", "address", macA.String(), "on"},
				append(append([]string{"macsec", "add", "macsec0", "rx", "port", "1", "address", macA.String(), "sa", "0"}, sa("1", 1)...),
					"on", "key", "02", hex.EncodeToString(keyA)),
				{"link", "set", "macsec0", "up"},
				{"addr", "add", "10.77.0.2/24", "dev", "macsec0"},
			}
			// The kernel side's parent must stay quiet too: without this
			// its IPv6 stack sends MLD reports in the clear on eth0 (the
			// userspace backend does the same for its own parent).
			if err := b.Do(func() error {
				return os.WriteFile("/proc/sys/net/ipv6/conf/eth0/disable_ipv6", []byte("1\n"), 0)
			}); err != nil {
				t.Fatal(err)
			}
			for _, c := range cmds {
				if out, err := b.Command("ip", c...).CombinedOutput(); err != nil {
					t.Fatalf("ip %s: %v\n%s", strings.Join(c, " "), err, out)
				}
			}

			// Userspace side.
			var be *userspace.Backend
			if err := a.Do(func() error {
				var err error
				be, err = userspace.New(userspace.Config{Name: "msec0", Parent: "eth0", Policy: strictPolicy(cs)})
				if err != nil {
					return err
				}
				return installSAs(be, cs, 0, keyA, keyB, sciB, 1, 2)
			}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { be.Close() })
			p := &pair{}
			p.addAddr(t, a, "msec0", "10.77.0.1")

			pcap := p.capture(t, b, "eth0")
			ping(t, a, "10.77.0.2")
			ping(t, b, "10.77.0.1")
			transferTCP(t, a, b, "10.77.0.2", 4<<20, []byte("MACSECD-INTEROP-MARKER"), uint64(cs))
			transferTCP(t, b, a, "10.77.0.1", 4<<20, []byte("MACSECD-INTEROP-MARKER"), uint64(cs)+1)
			assertOnlyMACsec(t, pcap.stop(t))

			st, err := be.Status()
			if err != nil {
				t.Fatal(err)
			}
			var ok uint64
			for _, sc := range st.RxSCs {
				ok += sc.Stats.InPktsOK
			}
			if ok == 0 || st.Stats.InPktsNoTag != 0 {
				t.Errorf("userspace side: InPktsOK %d, InPktsNoTag %d", ok, st.Stats.InPktsNoTag)
			}
			if out, err := b.Command("ip", "-s", "macsec", "show", "macsec0").CombinedOutput(); err == nil {
				t.Logf("kernel side:\n%s", out)
			}
		})
	}
}
