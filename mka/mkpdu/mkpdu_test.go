package mkpdu

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net"
	"reflect"
	"strings"
	"testing"

	"github.com/macsecd/macsecd/macsec"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	testICK = []byte{0x8f, 0x1c, 0x5c, 0xb1, 0xc8, 0xed, 0x2e, 0x5f, 0x04, 0x79, 0x06, 0xe0, 0x47, 0x3a, 0xad, 0x4d}
	macA    = net.HardwareAddr{0x02, 0, 0, 0, 0, 0xa}
	macB    = net.HardwareAddr{0x02, 0, 0, 0, 0, 0xb}
	miA     = MI{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	miB     = MI{0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc}
	testCKN = []byte{0x96, 0x43, 0x7a, 0x93, 0xcc, 0xf1, 0x0d, 0x9d, 0xfe, 0x34, 0x78, 0x46, 0xcc, 0xe5, 0x2c, 0x7d}
)

// fullFrame returns a frame with every parameter set.
func fullFrame() *Frame {
	return &Frame{
		Dst: PAEGroupAddress, Src: macA, EtherType: EtherTypeEAPOL, EAPOLVersion: 3,
		PDU: MKPDU{
			Basic: Basic{
				Version: 3, Priority: 16, KeyServer: true, MACsecDesired: true, MACsecCapability: 3,
				SCI: macsec.MakeSCI(macA, 1), MI: miA, MN: 7, AlgAgility: AlgAgility8021X,
				CKN: testCKN[:5], // 5 octets: exercises padding
			},
			LivePeers:      []PeerEntry{{MI: miB, MN: 3}},
			KeyServerSSCI:  1,
			PotentialPeers: []PeerEntry{{MI: MI{0xcc}, MN: 1}, {MI: MI{0xdd}, MN: 0xffffffff}},
			SAKUse: &SAKUse{
				LatestKI: KI{MI: miA, KN: 2}, LatestAN: 1, LatestTx: true, LatestRx: true, LatestLowestPN: 0x11223344,
				OldKI: KI{MI: miA, KN: 1}, OldAN: 0, OldTx: false, OldRx: true, OldLowestPN: 99,
				PlainTx: false, PlainRx: true, DelayProtect: true,
			},
			DistSAK: &DistSAK{AN: 2, ConfidentialityOffset: 1, KeyNumber: 2, CipherSuite: macsec.GCMAESXPN256,
				WrappedSAK: bytes.Repeat([]byte{0x5a}, 40)},
			DistCAK:      &DistCAK{WrappedCAK: bytes.Repeat([]byte{0xca}, 24), CKN: []byte("group-ckn")},
			KMD:          &KMD{Name: []byte("example.net")},
			Announcement: &Announcement{CipherSuites: []CipherSuiteCap{{3, macsec.GCMAES128}, {1, macsec.GCMAESXPN256}}, Other: []TLV{{Type: 111, Value: []byte{1, 2, 3}}}},
			XPN:          &XPN{SuspensionTime: 5, LatestLowestPNHigh: 1, OldLowestPNHigh: 0},
			Unknown:      []RawSet{{Type: 200, Octet: 9, Bits: 3, Body: []byte{1, 2, 3, 4, 5}}},
			ICVIndicator: true,
		},
	}
}

func TestRoundTrip(t *testing.T) {
	cases := map[string]func(f *Frame){
		"all sets":         func(f *Frame) {},
		"basic only":       func(f *Frame) { f.PDU = MKPDU{Basic: f.PDU.Basic} },
		"no ICV indicator": func(f *Frame) { f.PDU.ICVIndicator = false },
		"empty live list":  func(f *Frame) { f.PDU.LivePeers = []PeerEntry{} },
		"empty SAK use":    func(f *Frame) { f.PDU.SAKUse = &SAKUse{PlainTx: true, PlainRx: true, Empty: true} },
		"short dist SAK":   func(f *Frame) { f.PDU.DistSAK = &DistSAK{AN: 3, KeyNumber: 1, WrappedSAK: bytes.Repeat([]byte{1}, 24)} },
		"empty dist SAK":   func(f *Frame) { f.PDU.DistSAK = &DistSAK{} },
		"explicit GCM-128": func(f *Frame) {
			f.PDU.DistSAK.CipherSuite, f.PDU.DistSAK.WrappedSAK = macsec.GCMAES128, make([]byte, 24)
		},
		"32-octet CKN":     func(f *Frame) { f.PDU.Basic.CKN = bytes.Repeat([]byte{0xee}, 32) },
		"WAN EtherType":    func(f *Frame) { f.EtherType = EtherTypeWANEAPOL; f.Dst = macB },
		"EAPOL v2, MKA v1": func(f *Frame) { f.EAPOLVersion = 2; f.PDU.Basic.Version = 1 },
		"future MKA v9":    func(f *Frame) { f.PDU.Basic.Version = 9 },
		"announcement only other": func(f *Frame) {
			f.PDU.Announcement = &Announcement{Other: []TLV{{Type: 1, Value: nil}}}
		},
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			f := fullFrame()
			mod(f)
			b, err := f.Marshal(testICK)
			if err != nil {
				t.Fatal(err)
			}
			if (len(b)-ethHeaderLen-eapolHeaderLen)%4 != 0 {
				t.Errorf("EAPOL body of %d octets is not 4-octet aligned", len(b)-18)
			}
			if !VerifyICV(b, testICK) {
				t.Fatal("VerifyICV rejects a marshalled frame")
			}
			g, err := Parse(b)
			if err != nil {
				t.Fatalf("Parse: %v\n%x", err, b)
			}
			if !reflect.DeepEqual(f, g) {
				t.Errorf("round trip differs:\n sent %+v\n  got %+v", f.PDU, g.PDU)
			}
			b2, err := g.Marshal(testICK)
			if err != nil || !bytes.Equal(b, b2) {
				t.Errorf("re-marshal differs: %v", err)
			}
		})
	}
}

func TestICV(t *testing.T) {
	b, err := fullFrame().Marshal(testICK)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		c := bytes.Clone(b)
		c[i] ^= 0x40
		if VerifyICV(c, testICK) {
			// Only the EAPOL body length may change without the ICV
			// noticing if the frame then fails to parse.
			t.Errorf("flipping octet %d keeps the ICV valid", i)
		}
	}
	other := bytes.Clone(testICK)
	other[0] ^= 1
	if VerifyICV(b, other) {
		t.Error("VerifyICV accepts a wrong ICK")
	}
	if VerifyICV(b[:30], testICK) || VerifyICV(nil, testICK) || VerifyICV(b, nil) {
		t.Error("VerifyICV accepts a truncated frame or a nil key")
	}
	// Ethernet padding after the EAPOL body is not covered.
	padded := append(bytes.Clone(b), 0, 0, 0, 0)
	if !VerifyICV(padded, testICK) {
		t.Error("VerifyICV rejects a frame with trailing padding")
	}
	if _, err := Parse(padded); err != nil {
		t.Errorf("Parse with trailing padding: %v", err)
	}
}

func TestNotMKA(t *testing.T) {
	// EAPOL-Start (type 1) to the PAE group address.
	start := unhex(t, "0180c2000003 02000000000a 888e 03 01 0000")
	if _, err := Parse(start); !errors.Is(err, ErrNotMKA) {
		t.Errorf("EAPOL-Start: err = %v, want ErrNotMKA", err)
	}
	ip := unhex(t, "0180c2000003 02000000000a 0800 4500 0000")
	if _, err := Parse(ip); !errors.Is(err, ErrMalformed) {
		t.Errorf("IPv4: err = %v, want ErrMalformed", err)
	}
}
