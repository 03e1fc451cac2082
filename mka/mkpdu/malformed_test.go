package mkpdu

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/macsecd/macsecd/crypto/cmac"
)

// rawFrame builds an EAPOL-MKA frame from a Basic Parameter Set and raw
// parameter sets (header included), followed by a correct ICV, so tests
// can feed the parser encodings Marshal would never produce.
func rawFrame(t testing.TB, sets ...[]byte) []byte {
	t.Helper()
	basic, err := (&Basic{Version: 3, Priority: 1, SCI: [8]byte{2, 0, 0, 0, 0, 0xa, 0, 1}, MI: miA, MN: 1,
		AlgAgility: AlgAgility8021X, CKN: testCKN}).append(nil)
	if err != nil {
		t.Fatal(err)
	}
	body := bytes.Join(append([][]byte{basic}, sets...), nil)
	b := append(append(append([]byte{}, PAEGroupAddress...), macA...), 0x88, 0x8e, 3, 5, 0, 0)
	b = append(b, body...)
	binary.BigEndian.PutUint16(b[16:], uint16(len(body)+ICVLen))
	icv, _ := cmac.Sum(testICK, b)
	return append(b, icv[:]...)
}

// set returns a parameter set header and body, padded.
func set(typ, o2, bits uint8, body []byte) []byte {
	return pad(append(appendSetHeader(nil, typ, o2, bits, len(body)), body...), len(body))
}

func TestUnknownSetSkipped(t *testing.T) {
	live := append(miB[:], 0, 0, 0, 9)
	b := rawFrame(t,
		set(100, 0xab, 5, []byte{1, 2, 3, 4, 5, 6, 7}), // unknown, with padding
		set(TypeLivePeerList, 0, 0, live),
		set(9, 0, 0, nil), // a future type right after the known ones
	)
	if !VerifyICV(b, testICK) {
		t.Fatal("ICV")
	}
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.PDU.LivePeers) != 1 || f.PDU.LivePeers[0] != (PeerEntry{MI: miB, MN: 9}) {
		t.Errorf("live peers after an unknown set = %+v", f.PDU.LivePeers)
	}
	want := []RawSet{{Type: 100, Octet: 0xab, Bits: 5, Body: []byte{1, 2, 3, 4, 5, 6, 7}}, {Type: 9}}
	if !reflect.DeepEqual(f.PDU.Unknown, want) {
		t.Errorf("unknown = %+v, want %+v", f.PDU.Unknown, want)
	}
}

func TestMalformed(t *testing.T) {
	kn1 := []byte{0, 0, 0, 1}
	cases := map[string][]byte{
		"peer list 15 octets":       rawFrame(t, set(TypeLivePeerList, 0, 0, make([]byte, 15))),
		"SAK use 20 octets":         rawFrame(t, set(TypeSAKUse, 0, 0, make([]byte, 20))),
		"dist SAK 4 octets":         rawFrame(t, set(TypeDistributedSAK, 0, 0, kn1)),
		"dist SAK 30 octets":        rawFrame(t, set(TypeDistributedSAK, 0, 0, make([]byte, 30))),
		"dist SAK suite 0":          rawFrame(t, set(TypeDistributedSAK, 0, 0, make([]byte, 36))),
		"dist CAK without CKN":      rawFrame(t, set(TypeDistributedCAK, 0, 0, make([]byte, 24))),
		"XPN 4 octets":              rawFrame(t, set(TypeXPN, 0, 0, make([]byte, 4))),
		"duplicate SAK use":         rawFrame(t, set(TypeSAKUse, 0, 0, nil), set(TypeSAKUse, 0, 0, nil)),
		"second basic":              rawFrame(t, set(0, 0, 0, make([]byte, 32))),
		"ICV indicator 12":          rawFrame(t, set(TypeICVIndicator, 0, 0, make([]byte, 12))),
		"announcement TLV overrun":  rawFrame(t, set(TypeAnnouncement, 0, 0, []byte{112 << 1, 20, 0, 0})),
		"announcement odd octet":    rawFrame(t, set(TypeAnnouncement, 0, 0, []byte{1 << 1, 0, 7})),
		"cipher suites TLV 9":       rawFrame(t, set(TypeAnnouncement, 0, 0, append([]byte{112 << 1, 9}, make([]byte, 9)...))),
		"set overruns into the ICV": rawFrame(t, append(appendSetHeader(nil, TypeKMD, 0, 0, 8), 1, 2, 3, 4)),
	}
	// An ICV indicator that is not last.
	ind := rawFrame(t, set(TypeICVIndicator, 0, 0, make([]byte, 16)), set(TypeKMD, 0, 0, []byte{1, 2, 3, 4}))
	cases["ICV indicator not last"] = ind
	// Basic body length too short and too long for the CKN rule.
	short := rawFrame(t)
	short[20], short[21] = short[20]&0xf0, basicFixedLen // CKN of 0 octets
	cases["basic without CKN"] = short
	long := rawFrame(t, make([]byte, 20))
	long[21] = basicFixedLen + 33
	cases["basic CKN 33"] = long
	// EAPOL body length larger than the frame.
	over := rawFrame(t)
	over[16] = 0xff
	cases["EAPOL length overrun"] = over
	for name, b := range cases {
		f, err := Parse(b)
		if err == nil {
			t.Errorf("%s: parsed as %+v", name, f.PDU)
			continue
		}
		if !errors.Is(err, ErrMalformed) || !strings.HasPrefix(err.Error(), "mkpdu: malformed: ") {
			t.Errorf("%s: error %q does not wrap ErrMalformed", name, err)
		}
	}
}

func TestTruncated(t *testing.T) {
	full, err := fullFrame().Marshal(testICK)
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(full); n++ {
		b := bytes.Clone(full[:n])
		if f, err := Parse(b); err == nil {
			t.Errorf("truncated to %d octets: parsed %+v", n, f.PDU)
		}
		if VerifyICV(b, testICK) {
			t.Errorf("truncated to %d octets: ICV verifies", n)
		}
		// Shortening the EAPOL body length to match must fail too (the
		// ICV no longer ends the PDU) or at least fail the ICV.
		if n >= 18 {
			binary.BigEndian.PutUint16(b[16:], uint16(n-18))
			if VerifyICV(b, testICK) {
				t.Errorf("truncated to %d octets with adjusted length: ICV verifies", n)
			}
		}
	}
}

func TestUnmarshalReuse(t *testing.T) {
	a, _ := fullFrame().Marshal(testICK)
	b := unhex(t, wpaSupplicantHellos[0])
	var f Frame
	if err := f.Unmarshal(a); err != nil {
		t.Fatal(err)
	}
	if err := f.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	g, _ := Parse(b)
	if !reflect.DeepEqual(&f, g) {
		t.Errorf("Unmarshal into a used Frame keeps old state:\n%+v\n%+v", f.PDU, g.PDU)
	}
	// A failed Unmarshal reports the error (the Frame is then unspecified).
	if err := f.Unmarshal(b[:40]); err == nil {
		t.Fatal("truncated frame parsed")
	}
}

func TestMarshalErrors(t *testing.T) {
	cases := map[string]func(f *Frame){
		"no CKN":             func(f *Frame) { f.PDU.Basic.CKN = nil },
		"CKN 33":             func(f *Frame) { f.PDU.Basic.CKN = make([]byte, 33) },
		"capability 4":       func(f *Frame) { f.PDU.Basic.MACsecCapability = 4 },
		"short src":          func(f *Frame) { f.Src = f.Src[:5] },
		"AN 4":               func(f *Frame) { f.PDU.DistSAK.AN = 4 },
		"wrap 20":            func(f *Frame) { f.PDU.DistSAK.WrappedSAK = make([]byte, 20) },
		"short form wrap 40": func(f *Frame) { f.PDU.DistSAK.CipherSuite = 0 },
		"dist CAK wrap 16":   func(f *Frame) { f.PDU.DistCAK.WrappedCAK = make([]byte, 16) },
		"raw known type":     func(f *Frame) { f.PDU.Unknown = []RawSet{{Type: TypeXPN}} },
		"TLV type 128":       func(f *Frame) { f.PDU.Announcement.Other = []TLV{{Type: 128}} },
		"TLV 512 octets":     func(f *Frame) { f.PDU.Announcement.Other = []TLV{{Type: 1, Value: make([]byte, 512)}} },
		"too many peers":     func(f *Frame) { f.PDU.LivePeers = make([]PeerEntry, 256) },
	}
	for name, mod := range cases {
		f := fullFrame()
		mod(f)
		if _, err := f.Marshal(testICK); err == nil {
			t.Errorf("%s: Marshal succeeded", name)
		}
	}
	if _, err := fullFrame().Marshal(make([]byte, 7)); err == nil {
		t.Error("Marshal with a 7-octet ICK succeeded")
	}
}

func FuzzParse(f *testing.F) {
	for _, h := range wpaSupplicantHellos[:1] {
		f.Add(unhex(f, h))
	}
	full, _ := fullFrame().Marshal(testICK)
	f.Add(full)
	g := fullFrame()
	g.PDU.ICVIndicator = false
	g.PDU.SAKUse = &SAKUse{Empty: true}
	g.PDU.DistSAK = &DistSAK{}
	b, _ := g.Marshal(testICK)
	f.Add(b)
	f.Add(rawFrame(f, set(100, 1, 2, []byte{3})))
	if data, err := os.ReadFile("testdata/wpa_supplicant-mkpdus-cak128.hex"); err == nil {
		for _, l := range strings.Fields(string(data)) {
			f.Add(unhex(f, l))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		VerifyICV(b, testICK)
		p, err := Parse(b)
		if err != nil {
			return
		}
		out, err := p.Marshal(testICK)
		if err != nil {
			return // Parse accepts some encodings Marshal will not make (e.g. long distributed CAK CKNs)
		}
		q, err := Parse(out)
		if err != nil {
			t.Fatalf("re-parse of marshalled %+v: %v", p.PDU, err)
		}
		p.PDU.ICV = q.PDU.ICV
		if p.EAPOLVersion == 0 {
			p.EAPOLVersion = EAPOLVersion3 // Marshal's documented default for 0
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("round trip differs:\n%+v\n%+v", p.PDU, q.PDU)
		}
		if !VerifyICV(out, testICK) {
			t.Fatal("marshalled frame fails its ICV")
		}
	})
}
