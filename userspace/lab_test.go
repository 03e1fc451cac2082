package userspace_test

import (
	"bytes"
	"fmt"
	"net"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/testenv"
	"github.com/macsecd/macsecd/userspace"
)

// pair is two hosts joined by a veth, each with a userspace backend on its
// end and static SAs for the other: the topology of every netns test here.
type pair struct {
	lab        *testenv.Lab
	a, b       *testenv.Host
	ba, bb     *userspace.Backend
	macA, macB net.HardwareAddr
	ipA, ipB   string
	suite      macsec.CipherSuite
	keyA, keyB []byte
	sciA, sciB macsec.SCI
	policy     macsec.Policy
	tapA, tapB string
	parentMTU  int
	queues     int // worker pairs; 0: the default
}

var (
	macA = net.HardwareAddr{0x02, 0x00, 0x5e, 0x10, 0x00, 0x0a}
	macB = net.HardwareAddr{0x02, 0x00, 0x5e, 0x10, 0x00, 0x0b}
)

func strictPolicy(cs macsec.CipherSuite) macsec.Policy {
	return macsec.Policy{
		CipherSuite:     cs,
		Confidentiality: macsec.ConfidentialityOffset0,
		ProtectFrames:   true,
		Validate:        macsec.ValidateStrict,
		ReplayProtect:   true,
		ReplayWindow:    0,
		IncludeSCI:      true,
	}
}

// testKey returns a fixed key of the suite's length, different per side.
func testKey(cs macsec.CipherSuite, side byte) []byte {
	k := make([]byte, cs.KeyLen())
	for i := range k {
		k[i] = side ^ byte(i*7+1)
	}
	return k
}

// newPair builds the topology with the given suite and policy and waits
// for nothing: SAs are static, so traffic flows at once.
func newPair(t *testing.T, cs macsec.CipherSuite, pol macsec.Policy) *pair {
	t.Helper()
	return newPairQueues(t, cs, pol, 0)
}

// newPairQueues is newPair with the given number of worker pairs.
func newPairQueues(t *testing.T, cs macsec.CipherSuite, pol macsec.Policy, queues int) *pair {
	t.Helper()
	p := newTopology(t, cs, pol, queues)
	p.startBoth(t)
	return p
}

// newTopology builds the hosts and their veth, with no backend yet.
func newTopology(t *testing.T, cs macsec.CipherSuite, pol macsec.Policy, queues int) *pair {
	t.Helper()
	lab := testenv.New(t)
	p := &pair{lab: lab, a: lab.Host("a"), b: lab.Host("b"), macA: macA, macB: macB,
		ipA: "10.77.0.1", ipB: "10.77.0.2", suite: cs, policy: pol, parentMTU: 1500,
		tapA: "msec0", tapB: "msec0", queues: queues}
	lab.VethMAC(p.a, "eth0", macA, p.b, "eth0", macB)
	p.keyA, p.keyB = testKey(cs, 0xa0), testKey(cs, 0xb0)
	p.sciA, p.sciB = macsec.MakeSCI(macA, 1), macsec.MakeSCI(macB, 1)
	return p
}

// startBoth starts a backend on each host, with static SAs for the other.
func (p *pair) startBoth(t *testing.T) {
	t.Helper()
	p.ba = p.start(t, p.a, p.tapA, p.ipA, p.keyA, p.keyB, p.sciB, 1, 2, 0)
	p.bb = p.start(t, p.b, p.tapB, p.ipB, p.keyB, p.keyA, p.sciA, 2, 1, 0)
}

// start creates a backend in h with a transmit SA (key tx) and a receive
// SC for the peer (key rx) on AN an, and puts ip on the TAP.
func (p *pair) start(t *testing.T, h *testenv.Host, tapName, ip string, tx, rx []byte, peer macsec.SCI, ssci, peerSSCI uint32, an macsec.AN) *userspace.Backend {
	t.Helper()
	var be *userspace.Backend
	err := h.Do(func() error {
		var err error
		be, err = userspace.New(userspace.Config{Name: tapName, Parent: "eth0", Policy: p.policy, Queues: p.queues})
		if err != nil {
			return err
		}
		return installSAs(be, p.suite, an, tx, rx, peer, ssci, peerSSCI)
	})
	if err != nil {
		t.Fatalf("backend in %s: %v", h.Name, err)
	}
	t.Cleanup(func() { be.Close() })
	p.addAddr(t, h, tapName, ip)
	return be
}

// addAddr puts ip/24 on the TAP, as an operator does.
func (p *pair) addAddr(t *testing.T, h *testenv.Host, tapName, ip string) {
	t.Helper()
	link, err := h.Netlink().LinkByName(tapName)
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := netlink.ParseAddr(ip + "/24")
	if err := h.Netlink().AddrAdd(link, addr); err != nil {
		t.Fatalf("addr add on %s in %s: %v", tapName, h.Name, err)
	}
}

// installSAs installs the static SAs of one side on AN an and enables the
// Controlled Port, in the order MKA uses.
func installSAs(be macsec.SecY, cs macsec.CipherSuite, an macsec.AN, tx, rx []byte, peer macsec.SCI, ssci, peerSSCI uint32) error {
	salt := macsec.Salt{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	var id macsec.KeyID
	id[15] = byte(an) + 1
	// A rotation (an > 0) on a running SecY reuses the receive SC.
	if err := be.CreateRxSC(peer); err != nil && an == 0 {
		return fmt.Errorf("create rx sc: %w", err)
	}
	rxSAK := &macsec.SAK{Key: append([]byte(nil), rx...), ID: id, SSCI: peerSSCI, Salt: salt}
	if err := be.CreateRxSA(peer, an, 1, rxSAK); err != nil {
		return fmt.Errorf("create rx sa: %w", err)
	}
	if err := be.EnableRxSA(peer, an); err != nil {
		return err
	}
	txSAK := &macsec.SAK{Key: append([]byte(nil), tx...), ID: id, SSCI: ssci, Salt: salt}
	if err := be.CreateTxSA(an, 1, txSAK); err != nil {
		return fmt.Errorf("create tx sa: %w", err)
	}
	if err := be.EnableTxSA(an); err != nil {
		return err
	}
	return be.SetControlledPort(true)
}

func ping(t *testing.T, h *testenv.Host, dst string, args ...string) {
	t.Helper()
	a := append([]string{"-c", "2", "-i", "0.2", "-W", "3"}, args...)
	out, err := h.Command("ping", append(a, dst)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ping %s %v from %s: %v\n%s", dst, args, h.Name, err, out)
	}
	if !bytes.Contains(out, []byte(" 0% packet loss")) {
		t.Fatalf("ping %s %v lost packets:\n%s", dst, args, out)
	}
}

var suites = []macsec.CipherSuite{macsec.GCMAES128, macsec.GCMAES256, macsec.GCMAESXPN128, macsec.GCMAESXPN256}
