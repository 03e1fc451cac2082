package mkpdu

import (
	"bytes"
	"testing"

	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/mka/keys"
)

// MKPDUs sent by wpa_supplicant on Linux (a Raspberry Pi, OUI dc:a6:32)
// with CAK 00112233445566778899aabbccddeeff and a 24-octet CKN, as
// published in the unit tests of a lightweight MACsec stack. Five
// consecutive Hellos before any peer was seen: MN 1 to 5.
var wpaSupplicantHellos = []string{
	"0180c2000003dca632d16f96888e0305004801ffe034dca632d16f9600019bdefc3c298c8042829d3a80000000010080c20100112233445566778899aabbccddeeff0011223344556677f4f0a54f2ad4511011cb8ff93182d6e8",
	"0180c2000003dca632d16f96888e0305004801ffe034dca632d16f9600019bdefc3c298c8042829d3a80000000020080c20100112233445566778899aabbccddeeff0011223344556677d9f640d97c6730460bb3ef07f2e27688",
	"0180c2000003dca632d16f96888e0305004801ffe034dca632d16f9600019bdefc3c298c8042829d3a80000000030080c20100112233445566778899aabbccddeeff0011223344556677c7869886aceb873cea6d67ad18d21274",
	"0180c2000003dca632d16f96888e0305004801ffe034dca632d16f9600019bdefc3c298c8042829d3a80000000040080c20100112233445566778899aabbccddeeff001122334455667795c5864fc73f26f12a05ab353ef268db",
	"0180c2000003dca632d16f96888e0305004801ffe034dca632d16f9600019bdefc3c298c8042829d3a80000000050080c20100112233445566778899aabbccddeeff0011223344556677e2b7be739735f4142a318a040f951541",
}

func TestWPASupplicantHello(t *testing.T) {
	cak := unhex(t, "00112233445566778899aabbccddeeff")
	ckn := unhex(t, "00112233445566778899aabbccddeeff0011223344556677")
	ick, err := keys.ICK(cak, ckn)
	if err != nil {
		t.Fatal(err)
	}
	wrongICK, _ := keys.ICK(cak, ckn[:16:16]) // same first 16 octets: the same ICK
	if !bytes.Equal(ick, wrongICK) {
		t.Fatal("ICK depends on CKN octets beyond the 16th")
	}
	src := macsec.MakeSCI([]byte{0xdc, 0xa6, 0x32, 0xd1, 0x6f, 0x96}, 1)
	for i, h := range wpaSupplicantHellos {
		b := unhex(t, h)
		if !VerifyICV(b, ick) {
			t.Errorf("hello %d: ICV does not verify", i+1)
		}
		f, err := Parse(b)
		if err != nil {
			t.Fatalf("hello %d: %v", i+1, err)
		}
		want := Basic{
			Version: 1, Priority: 255, KeyServer: true, MACsecDesired: true, MACsecCapability: 2,
			SCI: src, MI: MI(unhex(t, "9bdefc3c298c8042829d3a80")), MN: uint32(i + 1),
			AlgAgility: AlgAgility8021X, CKN: ckn,
		}
		if f.EtherType != EtherTypeEAPOL || f.EAPOLVersion != 3 || !bytes.Equal(f.Dst, PAEGroupAddress) {
			t.Errorf("hello %d: header %x %d %s", i+1, f.EtherType, f.EAPOLVersion, f.Dst)
		}
		if g := f.PDU.Basic; g.Version != want.Version || g.Priority != want.Priority || g.KeyServer != want.KeyServer ||
			g.MACsecDesired != want.MACsecDesired || g.MACsecCapability != want.MACsecCapability || g.SCI != want.SCI ||
			g.MI != want.MI || g.MN != want.MN || g.AlgAgility != want.AlgAgility || !bytes.Equal(g.CKN, want.CKN) {
			t.Errorf("hello %d: basic = %+v, want %+v", i+1, g, want)
		}
		if f.PDU.LivePeers != nil || f.PDU.PotentialPeers != nil || f.PDU.SAKUse != nil || f.PDU.DistSAK != nil || f.PDU.ICVIndicator {
			t.Errorf("hello %d: unexpected sets %+v", i+1, f.PDU)
		}
		// Our encoder produces the same octets, ICV included.
		out, err := f.Marshal(ick)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, b) {
			t.Errorf("hello %d: re-encoded\n %x\nwant\n %x", i+1, out, b)
		}
	}
}
