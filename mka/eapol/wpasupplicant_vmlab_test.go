//go:build vmlab

package eapol

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/macsecd/macsecd/crypto/keywrap"
	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/mka/keys"
	"github.com/macsecd/macsecd/mka/mkpdu"
	"github.com/macsecd/macsecd/testenv"
)

// TestWPASupplicantWire runs two wpa_supplicant 2.10 MKA peers (with the
// kernel's MACsec, so only inside the VM lab) and checks every MKPDU they
// exchange against our side of the wire format: eapol.Conn receives them,
// mkpdu parses them, the ICV verifies under the ICK that package keys
// derives, our encoder reproduces them octet for octet, and the SAK the
// key server distributes unwraps under our KEK. With a 256-bit CAK this
// checks the 256-bit ICK and KEK derivations against wpa_supplicant.
func TestWPASupplicantWire(t *testing.T) {
	testenv.LabKernel(t)
	for _, tc := range []struct{ name, cak string }{
		{"CAK-128", "0123456789abcdef0123456789abcdef"},
		{"CAK-256", "0123456789abcdef0123456789abcdeffedcba9876543210fedcba9876543210"},
	} {
		t.Run(tc.name, func(t *testing.T) { wpaWire(t, tc.cak) })
	}
}

func wpaWire(t *testing.T, cakHex string) {
	const cknHex = "6162636465666768696a6b6c6d6e6f707172737475767778797a303132333435"
	cak, _ := hex.DecodeString(cakHex)
	ckn, _ := hex.DecodeString(cknHex)
	ick, err := keys.ICK(cak, ckn)
	if err != nil {
		t.Fatal(err)
	}
	kek, err := keys.KEK(cak, ckn)
	if err != nil {
		t.Fatal(err)
	}
	lab := testenv.New(t)
	a, b := lab.Host("a"), lab.Host("b")
	lab.VethMAC(a, "eth0", macA, b, "eth0", macB)
	// Our sockets sit beside wpa_supplicant's: each sees what the other
	// namespace's wpa_supplicant sends.
	conns := []*Conn{listen(t, a, mkpdu.EtherTypeEAPOL, mkpdu.PAEGroupAddress), listen(t, b, mkpdu.EtherTypeEAPOL, mkpdu.PAEGroupAddress)}

	for i, h := range []*testenv.Host{a, b} {
		testenv.WPASupplicant{CAK: cak, CKN: ckn, Priority: 10 + i}.Start(t, h, "eth0")
	}

	type seen struct{ frames, live, sakUse, distSAK int }
	var got [2]seen
	frames := make(chan []byte, 64)
	for i, c := range conns {
		i, c := i, c
		go func() {
			for {
				buf := make([]byte, MaxFrameLen)
				n, err := c.ReadFrame(buf)
				if err != nil {
					return // deadline or Close at cleanup
				}
				select {
				case frames <- append([]byte{byte(i)}, buf[:n]...):
				default: // the test has what it needs, or is far behind
				}
			}
		}()
	}
	done := func() bool {
		for _, s := range got {
			if s.live == 0 || s.sakUse == 0 {
				return false
			}
		}
		return got[0].distSAK+got[1].distSAK > 0
	}
	var kept [][]byte
	timeout := time.After(90 * time.Second)
	for !done() {
		var raw []byte
		select {
		case raw = <-frames:
		case <-timeout:
			t.Fatalf("no complete key agreement seen within 90s: %+v", got)
		}
		side, b := raw[0], raw[1:]
		kept = append(kept, b)
		s := &got[side]
		s.frames++
		f, err := mkpdu.Parse(b)
		if err != nil {
			t.Fatalf("wpa_supplicant MKPDU does not parse: %v\n%x", err, b)
		}
		if !mkpdu.VerifyICV(b, ick) {
			t.Fatalf("wpa_supplicant MKPDU fails the ICV under our ICK:\n%x", b)
		}
		out, err := f.Marshal(ick)
		if err != nil || !bytes.Equal(out, b) {
			t.Errorf("re-encoding differs (%v):\n ours %x\n wpa  %x", err, out, b)
		}
		if s.frames == 1 {
			t.Logf("side %d: MKA version %d, EAPOL version %d, %d octets", side, f.PDU.Basic.Version, f.EAPOLVersion, len(b))
		}
		if len(f.PDU.LivePeers) > 0 {
			s.live++
		}
		if f.PDU.SAKUse != nil && !f.PDU.SAKUse.Empty && !f.PDU.SAKUse.LatestKI.IsZero() {
			s.sakUse++
		}
		if d := f.PDU.DistSAK; d != nil && d.WrappedSAK != nil {
			sak, err := keywrap.Unwrap(kek, d.WrappedSAK)
			if err != nil {
				t.Fatalf("distributed SAK (KN %d, AN %d) does not unwrap under our KEK: %v", d.KeyNumber, d.AN, err)
			}
			if len(sak) != d.Suite().KeyLen() {
				t.Errorf("SAK of %d octets for %s", len(sak), d.Suite())
			}
			clear(sak)
			s.distSAK++
		}
	}
	t.Logf("seen: %+v", got)
	if d, inLab := testenv.LabOut(t); inLab {
		// The frames go back to the host, where mka/mkpdu keeps a copy
		// as test data for byte-exact tests without the VM lab.
		name := filepath.Join(d, fmt.Sprintf("wpa_supplicant-mkpdus-cak%d.hex", 8*len(cak)))
		if err := os.WriteFile(name, []byte(hexLines(kept)), 0o644); err != nil {
			t.Error(err)
		}
	}
}

func hexLines(frames [][]byte) string {
	var s string
	for _, f := range frames {
		s += hex.EncodeToString(f) + "\n"
	}
	return s
}

// TestWPASupplicantAcceptsOurs checks the other direction: MKPDUs our codec
// builds are accepted by wpa_supplicant 2.10. A wpa_supplicant in one
// namespace, and in the other only an eapol.Conn sending Hellos that list
// what it hears (priority 255, so wpa_supplicant is key server). Success is
// wpa_supplicant listing our MI as a live peer (so our ICV and peer list
// check out) and then distributing a SAK, which unwraps under our KEK.
// Variants: MKA version 1 as wpa_supplicant itself speaks, and MKA version 3
// with an Announcement, an unknown parameter set and the ICV Indicator.
func TestWPASupplicantAcceptsOurs(t *testing.T) {
	testenv.LabKernel(t)
	for _, v := range []struct {
		name  string
		extra func(p *mkpdu.MKPDU)
		ver   uint8
	}{
		{"v1", func(p *mkpdu.MKPDU) {}, 1},
		{"v3-indicator-announcement-unknown", func(p *mkpdu.MKPDU) {
			p.ICVIndicator = true
			p.Announcement = &mkpdu.Announcement{CipherSuites: []mkpdu.CipherSuiteCap{{Capability: 3, ID: 0x0080C20001000001}}}
			p.Unknown = []mkpdu.RawSet{{Type: 120, Body: []byte{1, 2, 3}}}
		}, 3},
	} {
		t.Run(v.name, func(t *testing.T) { acceptsOurs(t, v.ver, v.extra) })
	}
}

func acceptsOurs(t *testing.T, version uint8, extra func(*mkpdu.MKPDU)) {
	const cakHex = "00112233445566778899aabbccddeeff"
	const cknHex = "c0ffee"
	cak, _ := hex.DecodeString(cakHex)
	ckn, _ := hex.DecodeString(cknHex)
	ick, _ := keys.ICK(cak, ckn)
	kek, _ := keys.KEK(cak, ckn)
	lab := testenv.New(t)
	a, b := lab.Host("a"), lab.Host("b")
	lab.VethMAC(a, "eth0", macA, b, "eth0", macB)
	conn := listen(t, b, mkpdu.EtherTypeEAPOL, mkpdu.PAEGroupAddress)

	testenv.WPASupplicant{CAK: cak, CKN: ckn, Priority: 10}.Start(t, a, "eth0")

	mi := mkpdu.MI{0x6d, 0x61, 0x63, 0x73, 0x65, 0x63, 0x64, 1, 2, 3, 4, version}
	var mn uint32
	var peer *mkpdu.PeerEntry // wpa_supplicant as we last heard it
	listsUs := false
	send := func() {
		mn++
		p := mkpdu.MKPDU{Basic: mkpdu.Basic{Version: version, Priority: 255, MACsecDesired: true, MACsecCapability: 3,
			SCI: macsec.MakeSCI(macB, 1), MI: mi, MN: mn, AlgAgility: mkpdu.AlgAgility8021X, CKN: ckn}}
		if peer != nil {
			if listsUs {
				p.LivePeers = []mkpdu.PeerEntry{*peer}
			} else {
				p.PotentialPeers = []mkpdu.PeerEntry{*peer}
			}
		}
		extra(&p)
		f := &mkpdu.Frame{Dst: mkpdu.PAEGroupAddress, Src: macB, EtherType: mkpdu.EtherTypeEAPOL, PDU: p}
		out, err := f.Marshal(ick)
		if err != nil {
			t.Fatal(err)
		}
		if err := conn.WriteFrame(out); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	nextSend := time.Now()
	buf := make([]byte, MaxFrameLen)
	for time.Now().Before(deadline) {
		if time.Now().After(nextSend) {
			send()
			nextSend = time.Now().Add(500 * time.Millisecond)
		}
		conn.SetReadDeadline(nextSend)
		n, err := conn.ReadFrame(buf)
		if IsTimeout(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if !mkpdu.VerifyICV(buf[:n], ick) {
			t.Fatalf("wpa_supplicant MKPDU fails our ICV check: %x", buf[:n])
		}
		f, err := mkpdu.Parse(buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		peer = &mkpdu.PeerEntry{MI: f.PDU.Basic.MI, MN: f.PDU.Basic.MN}
		for _, e := range f.PDU.LivePeers {
			if e.MI == mi && e.MN <= mn {
				if !listsUs {
					t.Logf("wpa_supplicant lists us live after %d MKPDUs", mn)
				}
				listsUs = true
				nextSend = time.Now() // answer at once so it sees itself live
			}
		}
		if d := f.PDU.DistSAK; d != nil && d.WrappedSAK != nil && listsUs {
			sak, err := keywrap.Unwrap(kek, d.WrappedSAK)
			if err != nil {
				t.Fatalf("SAK from wpa_supplicant does not unwrap: %v", err)
			}
			clear(sak)
			t.Logf("wpa_supplicant distributed SAK KN %d on AN %d to us", d.KeyNumber, d.AN)
			return
		}
	}
	t.Fatalf("after 60s: wpa_supplicant lists us live: %v; no distributed SAK", listsUs)
}
