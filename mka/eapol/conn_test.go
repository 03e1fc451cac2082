package eapol

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/packet"

	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/mka/mkpdu"
	"github.com/macsecd/macsecd/testenv"
)

var (
	macA = net.HardwareAddr{0x02, 0xaa, 0, 0, 0, 1}
	macB = net.HardwareAddr{0x02, 0xbb, 0, 0, 0, 2}
	ick  = bytes.Repeat([]byte{0x11}, 16)
)

func mkpduFrame(t *testing.T, dst net.HardwareAddr, etherType uint16, mn uint32) []byte {
	t.Helper()
	f := &mkpdu.Frame{Dst: dst, Src: macA, EtherType: etherType, PDU: mkpdu.MKPDU{Basic: mkpdu.Basic{
		Version: 3, MACsecCapability: 3, SCI: macsec.MakeSCI(macA, 1), MI: mkpdu.MI{1}, MN: mn,
		AlgAgility: mkpdu.AlgAgility8021X, CKN: []byte{0xc0, 0xff, 0xee},
	}}}
	b, err := f.Marshal(ick)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func listen(t *testing.T, h *testenv.Host, etherType uint16, groups ...net.HardwareAddr) *Conn {
	t.Helper()
	var c *Conn
	if err := h.Do(func() (err error) {
		c, err = Listen("eth0", etherType, groups)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// read returns the next frame or nil after the timeout.
func read(t *testing.T, c *Conn, timeout time.Duration) []byte {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, MaxFrameLen)
	n, err := c.ReadFrame(buf)
	if IsTimeout(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}

func maddrs(t *testing.T, h *testenv.Host) string {
	out, err := h.Command("ip", "maddr", "show", "dev", "eth0").CombinedOutput()
	if err != nil {
		t.Fatalf("ip maddr: %v: %s", err, out)
	}
	return string(out)
}

func TestConn(t *testing.T) {
	testenv.RequireRoot(t)
	lab := testenv.New(t)
	a, b := lab.Host("a"), lab.Host("b")
	lab.VethMAC(a, "eth0", macA, b, "eth0", macB)

	groups := []net.HardwareAddr{mkpdu.PAEGroupAddress, mkpdu.LLDPMulticast, mkpdu.BridgeGroupAddress, mkpdu.BroadcastAddress, macB}
	ca := listen(t, a, mkpdu.EtherTypeEAPOL, groups...)
	ca2 := listen(t, a, mkpdu.EtherTypeEAPOL)
	cb := listen(t, b, mkpdu.EtherTypeEAPOL, mkpdu.PAEGroupAddress)
	cbWAN := listen(t, b, mkpdu.EtherTypeWANEAPOL)
	caWAN := listen(t, a, mkpdu.EtherTypeWANEAPOL)

	if !bytes.Equal(ca.HardwareAddr(), macA) {
		t.Errorf("HardwareAddr = %s, want %s", ca.HardwareAddr(), macA)
	}
	// The multicast groups are joined on the interface (and only those).
	m := maddrs(t, a)
	for _, g := range []string{"01:80:c2:00:00:03", "01:80:c2:00:00:0e", "01:80:c2:00:00:00"} {
		if !strings.Contains(m, g) {
			t.Errorf("group %s not joined:\n%s", g, m)
		}
	}
	if strings.Contains(m, macB.String()) {
		t.Errorf("unicast address joined as a group:\n%s", m)
	}

	// A frame of another EtherType sent first must not reach the EAPOL
	// socket; the MKPDU after it must, octet for octet.
	var raw *packet.Conn
	if err := a.Do(func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		raw, err = packet.Listen(ifi, packet.Raw, 0x88b5, nil) // IEEE local experimental EtherType
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	other := append(append(append([]byte{}, mkpdu.PAEGroupAddress...), macA...), 0x88, 0xb5, 3, 5, 0, 0)
	other = append(other, make([]byte, 60)...)
	if _, err := raw.WriteTo(other, &packet.Addr{HardwareAddr: mkpdu.PAEGroupAddress}); err != nil {
		t.Fatal(err)
	}
	for i, dst := range []net.HardwareAddr{mkpdu.PAEGroupAddress, macB, mkpdu.BroadcastAddress} {
		want := mkpduFrame(t, dst, mkpdu.EtherTypeEAPOL, uint32(i+1))
		if err := ca.WriteFrame(want); err != nil {
			t.Fatal(err)
		}
		got := read(t, cb, 2*time.Second)
		if !bytes.Equal(got, want) {
			t.Fatalf("to %s: received\n %x\nwant\n %x", dst, got, want)
		}
		f, err := mkpdu.Parse(got)
		if err != nil || f.PDU.Basic.MN != uint32(i+1) || !mkpdu.VerifyICV(got, ick) {
			t.Fatalf("to %s: received frame does not parse and verify: %v", dst, err)
		}
	}
	// Our own transmissions are not delivered to a second socket on the
	// sending interface, and EAPOL frames do not reach the WAN socket.
	if got := read(t, ca2, 200*time.Millisecond); got != nil {
		t.Errorf("second socket on the sender received %x", got)
	}
	if got := read(t, cbWAN, 100*time.Millisecond); got != nil {
		t.Errorf("WAN EtherType socket received %x", got)
	}

	// WAN EtherType 0x876F.
	wan := mkpduFrame(t, macB, mkpdu.EtherTypeWANEAPOL, 9)
	if err := caWAN.WriteFrame(wan); err != nil {
		t.Fatal(err)
	}
	if got := read(t, cbWAN, 2*time.Second); !bytes.Equal(got, wan) {
		t.Errorf("WAN: received %x, want %x", got, wan)
	}
	if got := read(t, cb, 200*time.Millisecond); got != nil {
		t.Errorf("0x888E socket received a WAN frame %x", got)
	}

	// The other direction, to the PAE group address b joined.
	back := mkpduFrame(t, mkpdu.PAEGroupAddress, mkpdu.EtherTypeEAPOL, 10)
	copy(back[6:12], macB)
	if err := cb.WriteFrame(back); err != nil {
		t.Fatal(err)
	}
	if got := read(t, ca, 2*time.Second); !bytes.Equal(got, back) {
		t.Errorf("b to a: received %x", got)
	}

	// Writes that cannot be EAPOL for this Conn are refused.
	if err := ca.WriteFrame(wan); err == nil {
		t.Error("0x888E conn wrote a 0x876F frame")
	}
	if err := ca.WriteFrame(make([]byte, 10)); err == nil {
		t.Error("conn wrote a 10-octet frame")
	}

	// Close unblocks a reader with no deadline and drops the groups.
	ca.SetReadDeadline(time.Time{})
	done := make(chan error, 1)
	go func() {
		_, err := ca.ReadFrame(make([]byte, MaxFrameLen))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := ca.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || IsTimeout(err) {
			t.Errorf("read after Close: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not unblock ReadFrame")
	}
	if m := maddrs(t, a); strings.Contains(m, "01:80:c2:00:00:0e") {
		t.Errorf("group still joined after Close:\n%s", m)
	}
}

func TestListenErrors(t *testing.T) {
	if _, err := Listen("no-such-if0", mkpdu.EtherTypeEAPOL, nil); err == nil {
		t.Error("Listen on a missing interface succeeded")
	}
	testenv.RequireRoot(t)
	lab := testenv.New(t)
	a, b := lab.Host("a"), lab.Host("b")
	lab.Veth(a, "eth0", b, "eth0")
	err := a.Do(func() error {
		c, err := Listen("eth0", mkpdu.EtherTypeEAPOL, []net.HardwareAddr{{1, 2, 3}})
		if err == nil {
			c.Close()
		}
		return err
	})
	if err == nil {
		t.Error("Listen accepted a 3-octet group address")
	}
}
