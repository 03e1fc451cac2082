//go:build vmlab

package link

// Helpers of the tests that run inside the VM lab (real kernels with
// MACsec). Nothing here skips: in the lab, missing MACsec is a failure.

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/testenv"
)

// labOut returns $MACSECD_LAB_OUT/link/<kernel>, created.
func labOut(t *testing.T) string {
	base, inLab := testenv.LabOut(t)
	if !inLab {
		t.Fatal("MACSECD_LAB_OUT is not set: vmlab tests run inside the VM lab (make test-vm)")
	}
	dir := filepath.Join(base, "link", testenv.LabKernel(t))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// node is one side of a two-namespace MACsec lab.
type node struct {
	h    *testenv.Host
	c    *Conn
	y    *SecY
	mac  net.HardwareAddr
	sci  macsec.SCI
	ip   string
	ssci uint32
}

// dialIn opens a Conn whose sockets live in h's namespace.
func dialIn(t *testing.T, h *testenv.Host) *Conn {
	t.Helper()
	var c *Conn
	if err := h.Do(func() error {
		var err error
		c, err = Dial()
		return err
	}); err != nil {
		t.Fatalf("Dial in %s: %v", h.Name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// quietIPv6 disables IPv6 in h's namespace so that no neighbour discovery
// or MLD frames move the counters behind a test's back.
func quietIPv6(t *testing.T, h *testenv.Host) {
	t.Helper()
	if err := h.Do(func() error {
		for _, p := range []string{"all", "default"} {
			if err := os.WriteFile("/proc/sys/net/ipv6/conf/"+p+"/disable_ipv6", []byte("1"), 0); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("disable IPv6 in %s: %v", h.Name, err)
	}
}

var (
	macA = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x0a, 0x01}
	macB = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x0b, 0x02}
)

// pairPolicy is the policy of the two-namespace tests.
func pairPolicy(cs macsec.CipherSuite, encrypt bool) macsec.Policy {
	conf := macsec.IntegrityOnly
	if encrypt {
		conf = macsec.ConfidentialityOffset0
	}
	return macsec.Policy{
		CipherSuite:     cs,
		Confidentiality: conf,
		ProtectFrames:   true,
		Validate:        macsec.ValidateStrict,
		ReplayProtect:   true,
		ReplayWindow:    0,
		IncludeSCI:      true,
	}
}

// newPair builds namespaces a and b joined by a veth, each with a SecY
// "ms0" on eth0 created through this package, addressed 10.9.0.1 and
// 10.9.0.2. No SA is installed yet.
func newPair(t *testing.T, p macsec.Policy) (a, b *node) {
	t.Helper()
	lab := testenv.New(t)
	a = &node{h: lab.Host("a"), mac: macA, ip: "10.9.0.1", ssci: 1}
	b = &node{h: lab.Host("b"), mac: macB, ip: "10.9.0.2", ssci: 2}
	quietIPv6(t, a.h)
	quietIPv6(t, b.h)
	lab.VethMAC(a.h, "eth0", a.mac, b.h, "eth0", b.mac)
	for _, n := range []*node{a, b} {
		n.c = dialIn(t, n.h)
		n.sci = macsec.MakeSCI(n.mac, 1)
		y, err := New(n.c, Config{Parent: "eth0", Name: "ms0", SCI: n.sci, Policy: p})
		if err != nil {
			t.Fatalf("New in %s: %v", n.h.Name, err)
		}
		n.y = y
		t.Cleanup(func() {
			if err := y.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		n.h.Run(t, "ip", "addr", "add", n.ip+"/24", "dev", "ms0")
	}
	return a, b
}

// pairSAK is the SAK of association an in the pair tests (one key for
// both directions, as MKA distributes it); ssci is the transmitter's.
func pairSAK(cs macsec.CipherSuite, an macsec.AN, ssci uint32) *macsec.SAK {
	return &macsec.SAK{Key: fxKey(cs, 0x60+byte(an)*0x10), ID: fxKeyID(0x70 + byte(an)), SSCI: ssci, Salt: fxSalt}
}

// installRx adds receive SA an for the peer (creating its RX SC first if
// asked) and enables it.
func installRx(t *testing.T, n, peer *node, an macsec.AN, cs macsec.CipherSuite, newSC bool) {
	t.Helper()
	if newSC {
		if err := n.y.CreateRxSC(peer.sci); err != nil {
			t.Fatal(err)
		}
	}
	k := pairSAK(cs, an, peer.ssci)
	if err := n.y.CreateRxSA(peer.sci, an, 1, k); err != nil {
		t.Fatal(err)
	}
	k.Zero()
	if err := n.y.EnableRxSA(peer.sci, an); err != nil {
		t.Fatal(err)
	}
}

// installTx adds transmit SA an and makes it the encoding SA.
func installTx(t *testing.T, n *node, an macsec.AN, cs macsec.CipherSuite) {
	t.Helper()
	k := pairSAK(cs, an, n.ssci)
	if err := n.y.CreateTxSA(an, 1, k); err != nil {
		t.Fatal(err)
	}
	k.Zero()
	if err := n.y.EnableTxSA(an); err != nil {
		t.Fatal(err)
	}
}

// keyUp installs SAs with AN 0 on both sides and opens the Controlled
// Ports.
func keyUp(t *testing.T, a, b *node, cs macsec.CipherSuite) {
	t.Helper()
	installRx(t, a, b, 0, cs, true)
	installRx(t, b, a, 0, cs, true)
	installTx(t, a, 0, cs)
	installTx(t, b, 0, cs)
	for _, n := range []*node{a, b} {
		if err := n.y.SetControlledPort(true); err != nil {
			t.Fatal(err)
		}
	}
}
