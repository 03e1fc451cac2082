package userspace_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/macsecd/macsecd/macsec"
)

// TestEAPOLFrameConn sends an EAPOL frame through one backend's FrameConn
// and reads it from the other's, in the clear on the wire and not on the
// TAP; it works before any SA exists and with the Controlled Port
// disabled, as MKA needs.
func TestEAPOLFrameConn(t *testing.T) {
	cs := macsec.GCMAES128
	p := newPair(t, cs, strictPolicy(cs))
	for _, be := range []interface{ SetControlledPort(bool) error }{p.ba, p.bb} {
		if err := be.SetControlledPort(false); err != nil {
			t.Fatal(err)
		}
	}
	tapCap := p.capture(t, p.b, p.tapB)
	wire := p.capture(t, p.b, "eth0")
	ca, cb := p.ba.EAPOL(), p.bb.EAPOL()
	if !bytes.Equal(ca.HardwareAddr(), macA) {
		t.Fatalf("FrameConn MAC %s, want %s", ca.HardwareAddr(), macA)
	}
	// An EAPOL-Start-like frame to the PAE group address, padded to the
	// Ethernet minimum.
	frame := make([]byte, 60)
	copy(frame, []byte{0x01, 0x80, 0xc2, 0x00, 0x00, 0x03})
	copy(frame[6:], macA)
	binary.BigEndian.PutUint16(frame[12:], 0x888E)
	copy(frame[14:], []byte{3, 1, 0, 0, 'm', 'k', 'a'})
	if err := ca.WriteFrame(frame); err != nil {
		t.Fatal(err)
	}
	cb.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1600)
	n, err := cb.ReadFrame(buf)
	if err != nil {
		t.Fatalf("ReadFrame: %v", err)
	}
	if !bytes.Equal(buf[:n], frame) {
		t.Fatalf("received % x, want % x", buf[:n], frame)
	}
	// A deadline in the past times out; Close ends reads.
	cb.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := cb.ReadFrame(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("ReadFrame after deadline: %v", err)
	}
	cb.SetReadDeadline(time.Time{})
	go func() { time.Sleep(100 * time.Millisecond); cb.Close() }()
	if _, err := cb.ReadFrame(buf); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("ReadFrame after Close: %v", err)
	}
	frames := wire.stop(t)
	found := false
	for _, f := range frames {
		if bytes.Equal(f, frame) {
			found = true
		}
	}
	if !found {
		t.Error("EAPOL frame not seen on the wire")
	}
	// The TAP never sees EAPOL (tcpdump may have captured the host's own
	// traffic on it; an empty capture is an error from stop, so send one
	// frame of our own first).
	if out, err := p.b.Command("ping", "-c", "1", "-W", "1", p.ipA).CombinedOutput(); err == nil {
		t.Fatalf("ping passed with the Controlled Port disabled:\n%s", out)
	}
	for _, f := range tapCap.stop(t) {
		if len(f) >= 14 && binary.BigEndian.Uint16(f[12:]) == 0x888E {
			t.Fatal("EAPOL frame reached the TAP")
		}
	}
}
