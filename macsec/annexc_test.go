package macsec

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

// IEEE 802.1AE-2018 Annex C test vectors. Each case C.n has one frame
// protected with the four cipher suites (C.n.1 GCM-AES-128, C.n.2
// GCM-AES-256, C.n.3 GCM-AES-XPN-128, C.n.4 GCM-AES-XPN-256). The data was
// transcribed from the Annex C tables (as reproduced in the DPDK
// app/test/test_security_inline_macsec_vectors.h and Scapy
// test/contrib/macsec.uts test data); the two anchors quoted in the
// project's issue are checked verbatim below.
type annexCCase struct {
	name    string
	da, sa  string // MAC addresses
	user    string // user data (EtherType onward) of the clear frame
	sectag  string // SecTAG as on the wire, EtherType included
	key128  string // SAK of C.n.1 and C.n.3
	key256  string // SAK of C.n.2 and C.n.4
	secure  [4]string
	icv     [4]string
	encrypt bool
}

// XPN parameters shared by every C.n.3 and C.n.4 case.
const (
	annexCXPNHigh = 0xB0DF459C
	annexCSSCI    = 0x7A30C118
	annexCSalt    = "E630E81A48DE86A21C66FA6D"
)

var annexCSuites = [4]CipherSuite{GCMAES128, GCMAES256, GCMAESXPN128, GCMAESXPN256}

var annexC = []annexCCase{
	{
		name: "C.1 54-octet frame integrity protection",
		da:   "D609B1F05663", sa: "7A0D46DF998D",
		user:   "08000F101112131415161718191A1B1C1D1E1F202122232425262728292A2B2C2D2E2F30313233340001",
		sectag: "88E5222AB2C2846512153524C0895E81",
		key128: "AD7A2BD03EAC835A6F620FDCB506B345",
		key256: "E3C08A8F06C6E3AD95A70557B23F75483CE33021A9C72B7025666204C69C0B72",
		icv: [4]string{
			"F09478A9B09007D06F46E9B6A1DA25DD",
			"2F0BC5AF409E06D609EA8B7D0FA5EA50",
			"17FE1981EBDD4AFC5062697E8BAA0C23",
			"4DBD2F6A754A6CF728CC129BA6931577",
		},
	},
	{
		name: "C.2 60-octet frame integrity protection",
		da:   "E20106D7CD0D", sa: "F0761E8DCD3D",
		user:   "08000F101112131415161718191A1B1C1D1E1F202122232425262728292A2B2C2D2E2F303132333435363738393A0003",
		sectag: "88E5400076D457ED",
		key128: "071B113B0CA743FECCCF3D051F737382",
		key256: "691D3EE909D7F54167FD1CA0B5D769081F2BDE1AEE655FDBAB80BD5295AE6BE7",
		icv: [4]string{
			"0C017BC73B227DFCC9BAFA1C41ACC353",
			"35217C774BBC31B63166BCF9D4ABED07",
			"ABC40685A3CF911D3787E49DB6A7265E",
			"AC21957B8312AB3C99AB46849879C3F3",
		},
	},
	{
		name: "C.3 65-octet frame integrity protection",
		da:   "84C5D513D2AA", sa: "F6E5BBD27277",
		user:   "08000F101112131415161718191A1B1C1D1E1F202122232425262728292A2B2C2D2E2F303132333435363738393A3B3C3D3E3F0005",
		sectag: "88E523008932D6127CFDE9F9E33724C6",
		key128: "013FE00B5F11BE7F866D0CBBC55A7A90",
		key256: "83C093B58DE7FFE1C0DA926AC43FB3609AC1C80FEE1B624497EF942E2F79A823",
		icv: [4]string{
			"217867E50C2DAD74C28C3B50ABDF695A",
			"6EE160E8FAECA4B36C86B234920CA975",
			"678559B7E52DB00682E3B83034CEBE59",
			"84BAC8E53D1EA355A5C7D334840AE962",
		},
	},
	{
		name: "C.4 79-octet frame integrity protection",
		da:   "68F2E77696CE", sa: "7AE8E2CA4EC5",
		user:   "08000F101112131415161718191A1B1C1D1E1F202122232425262728292A2B2C2D2E2F303132333435363738393A3B3C3D3E3F404142434445464748494A4B4C4D0007",
		sectag: "88E541002E58495C",
		key128: "88EE087FD95DA9FBF6725AA9D757B0CD",
		key256: "4C973DBC7364621674F8B5B89E5C15511FCED9216490FB1C1A2CAA0FFE0407E5",
		icv: [4]string{
			"07922B8EBCF10BB2297588CA4C614523",
			"00BDA1B7E87608BCBF470F12157F4C07",
			"D0DC896DC83798A79F3C5A95BA3CDF9A",
			"04249A208A65B96B3F3263004CFD867D",
		},
	},
	{
		name: "C.5 54-octet frame confidentiality protection",
		da:   "E20106D7CD0D", sa: "F0761E8DCD3D",
		user:    "08000F101112131415161718191A1B1C1D1E1F202122232425262728292A2B2C2D2E2F30313233340004",
		sectag:  "88E54C2A76D457ED",
		key128:  "071B113B0CA743FECCCF3D051F737382",
		key256:  "691D3EE909D7F54167FD1CA0B5D769081F2BDE1AEE655FDBAB80BD5295AE6BE7",
		encrypt: true,
		secure: [4]string{
			"13B4C72B389DC5018E72A171DD85A5D3752274D3A019FBCAED09A425CD9B2E1C9B72EEE7C9DE7D52B3F3",
			"C1623F55730C93533097ADDAD25664966125352B43ADACBD61C5EF3AC90B5BEE929CE4630EA79F6CE519",
			"9CA46984430203ED416EBDC2FE2622BA3E5EAB6961C36383009E187E9B0C88564653B9ABD216441C6AB6",
			"88D9F7D1F1578EE34BA7B1ABC89893EF1D3398C9F1DD3E47FBD8553E0FF786EF5699EB01EA10420D0EBD",
		},
		icv: [4]string{
			"D6A5284F4A6D3FE22A5D6C2B960494C3",
			"12AF39C2D1FDC2051F8B7B3C9D397EF2",
			"F0A232E9E44C978CF7CD84D43484D101",
			"39A0E273C4C7F95ED843207D7A497DFA",
		},
	},
	{
		name: "C.6 60-octet frame confidentiality protection",
		da:   "D609B1F05663", sa: "7A0D46DF998D",
		user:    "08000F101112131415161718191A1B1C1D1E1F202122232425262728292A2B2C2D2E2F303132333435363738393A0002",
		sectag:  "88E52E00B2C2846512153524C0895E81",
		key128:  "AD7A2BD03EAC835A6F620FDCB506B345",
		key256:  "E3C08A8F06C6E3AD95A70557B23F75483CE33021A9C72B7025666204C69C0B72",
		encrypt: true,
		secure: [4]string{
			"701AFA1CC039C0D765128A665DAB69243899BF7318CCDC81C9931DA17FBE8EDD7D17CB8B4C26FC81E3284F2B7FBA713D",
			"E2006EB42F5277022D9B19925BC419D7A592666C925FE2EF718EB4E308EFEAA7C5273B394118860A5BE2A97F56AB7836",
			"0712D980CA50BBED35A0FA566338729FFA16D19FFCF07B3A1E7919B3776AACEC8A5937208B483A7691984D380792E07F",
			"3EB04A4BBF54C6EB1222A9AEA00C38687F6C3520D976A3B694800650CE6585E620A4191917D2A605D870C78D2752CE49",
		},
		icv: [4]string{
			"4F8D55E7D3F06FD5A13C0C29B9D5B880",
			"5CA597CDBB3EDB8D1A1151EA0AF7B436",
			"C2C3C79F263FA6BFF8E7581E2CE45AF8",
			"3B442AC0C816D7ABD70AD65C25D46413",
		},
	},
	{
		name: "C.7 61-octet frame confidentiality protection",
		da:   "84C5D513D2AA", sa: "F6E5BBD27277",
		user:    "08000F101112131415161718191A1B1C1D1E1F202122232425262728292A2B2C2D2E2F303132333435363738393A3B0006",
		sectag:  "88E52F008932D6127CFDE9F9E33724C6",
		key128:  "013FE00B5F11BE7F866D0CBBC55A7A90",
		key256:  "83C093B58DE7FFE1C0DA926AC43FB3609AC1C80FEE1B624497EF942E2F79A823",
		encrypt: true,
		secure: [4]string{
			"3A4DE6FA32191014DBB303D92EE3A9E8A1B599C14D22FB080096E13811816A3C9C9BCF7C1B9B96DA809204E29D0E2A7642",
			"110222FF8050CBECE66A813AD09A73ED7A9A089C106B959389168ED6E8698EA902EB1277DBEC2E68E473155A15A7DAEED4",
			"14C17693BC8297EE6C47C565CBE0679E80F00FCAF592C9AA0473928E7F2F216FF5A033DEC7513F45D34CBB981C5BD64E8B",
			"0996E0C9A55774E0A792304E7DC150BD67FD747DD1B9419594BF373D4ACE8F87F5C1349AFAC491AA0A40D3199087B29FDF",
		},
		icv: [4]string{
			"BFD310A4837C816CCFA5AC23AB003988",
			"A10F4E05139C23DF00B3AADC71F0596A",
			"D84B8E2A78E74DAFEAA03846FE930C0E",
			"802F050E691F11A2D9B358F6994184F5",
		},
	},
	{
		name: "C.8 75-octet frame confidentiality protection",
		da:   "68F2E77696CE", sa: "7AE8E2CA4EC5",
		user:    "08000F101112131415161718191A1B1C1D1E1F202122232425262728292A2B2C2D2E2F303132333435363738393A3B3C3D3E3F404142434445464748490008",
		sectag:  "88E54D002E58495C",
		key128:  "88EE087FD95DA9FBF6725AA9D757B0CD",
		key256:  "4C973DBC7364621674F8B5B89E5C15511FCED9216490FB1C1A2CAA0FFE0407E5",
		encrypt: true,
		secure: [4]string{
			"C31F53D99E5687F7365119B832D2AAE70741D593F1F9E2AB3455779B078EB8FEACDFEC1F8E3E5277F8180B43361F6512ADB16D2E38548A2C719DBA7228D840",
			"BA8AE31BC506486D6873E4FCE460E7DC57591FF00611F31C3834FE1C04AD80B66803AFCF5B27E6333FA67C99DA47C2F0CED68D531BD741A943CFF7A6713BD0",
			"EAECC6AF6512FC8B6C8C43BC55B190B2626D07D3D218FAF5DAA7D8F800A57331EB43B5A17A37E5B1D60D275CCAF7ACD704CC9ACE2BF8BC8B9B23B9ADF02F87",
			"B0FEA36318B9B36466C46E9E1BDA1A266858196E7E70D882AE70475668CDE4EC883F6AC2369F284BED1FE32F42092FDFF5868A3C64E5615192A7A3760B34BC",
		},
		icv: [4]string{
			"88F8757ADB8AA788D8F65AD668BE70E7",
			"2611CD7DAA01D61C5C886DC1A8170107",
			"346B96D1136A754DF0A6CDE126C107F8",
			"85692CD815B664711AEF911DF78D7F46",
		},
	},
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// vector is one Annex C case with one suite, decoded.
type vector struct {
	name      string
	suite     CipherSuite
	clear     []byte // DA SA user data
	protected []byte // DA SA SecTAG secure data ICV
	tag       SecTAG
	sci       SCI // explicit or implied
	pn        uint64
	key       []byte
	ssci      uint32
	salt      Salt
	conf      Confidentiality
}

func annexCVectors(t testing.TB) []vector {
	var vs []vector
	for _, c := range annexC {
		macs := unhex(t, c.da+c.sa)
		user := unhex(t, c.user)
		sectag := unhex(t, c.sectag)
		tag, err := ParseSecTAG(sectag)
		if err != nil {
			t.Fatalf("%s: SecTAG: %v", c.name, err)
		}
		sci := tag.SCI
		if !tag.HasSCI() {
			sci = MakeSCI(unhex(t, c.sa), PortES)
		}
		for i, cs := range annexCSuites {
			v := vector{
				name:  c.name + " " + cs.String(),
				suite: cs,
				clear: append(append([]byte{}, macs...), user...),
				tag:   tag,
				sci:   sci,
				pn:    uint64(tag.PN),
				conf:  IntegrityOnly,
			}
			if cs.KeyLen() == 16 {
				v.key = unhex(t, c.key128)
			} else {
				v.key = unhex(t, c.key256)
			}
			if cs.XPN() {
				v.pn |= annexCXPNHigh << 32
				v.ssci = annexCSSCI
				copy(v.salt[:], unhex(t, annexCSalt))
			}
			secure := user
			if c.encrypt {
				v.conf = ConfidentialityOffset0
				secure = unhex(t, c.secure[i])
			}
			v.protected = append(append(append(append([]byte{}, macs...), sectag...), secure...), unhex(t, c.icv[i])...)
			vs = append(vs, v)
		}
	}
	return vs
}

// The two frames quoted in the issue, verbatim, to check the reading of
// the tables above.
func TestAnnexCAnchors(t *testing.T) {
	vs := annexCVectors(t)
	anchors := map[string]string{
		"C.1 54-octet frame integrity protection GCM-AES-128":       "D609B1F056637A0D46DF998D88E5222AB2C2846512153524C0895E8108000F101112131415161718191A1B1C1D1E1F202122232425262728292A2B2C2D2E2F30313233340001F09478A9B09007D06F46E9B6A1DA25DD",
		"C.5 54-octet frame confidentiality protection GCM-AES-128": "E20106D7CD0DF0761E8DCD3D88E54C2A76D457ED13B4C72B389DC5018E72A171DD85A5D3752274D3A019FBCAED09A425CD9B2E1C9B72EEE7C9DE7D52B3F3D6A5284F4A6D3FE22A5D6C2B960494C3",
	}
	found := 0
	for _, v := range vs {
		if want, ok := anchors[v.name]; ok {
			found++
			if !bytes.Equal(v.protected, unhex(t, want)) {
				t.Errorf("%s: table reading differs from the anchor", v.name)
			}
		}
	}
	if found != len(anchors) {
		t.Fatalf("found %d of %d anchors", found, len(anchors))
	}
	if len(vs) != 32 {
		t.Fatalf("%d vectors, want 32 (C.1-C.8 x 4 suites)", len(vs))
	}
}

// newVectorSecY builds a SecY that transmits as the vector's sender and
// receives from it.
func newVectorSecY(t testing.TB, v *vector, validate ValidateFrames) *SoftSecY {
	t.Helper()
	s, err := NewSoftSecY(Config{
		SCI: v.sci,
		Policy: Policy{
			CipherSuite:     v.suite,
			Confidentiality: v.conf,
			ProtectFrames:   true,
			Validate:        validate,
			ReplayProtect:   true,
			IncludeSCI:      v.tag.HasSCI(),
			UseES:           v.tag.TCI&TCIES != 0,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	sak := &SAK{Key: v.key, SSCI: v.ssci, Salt: v.salt}
	must(t, s.CreateTxSA(v.tag.AN, v.pn, sak))
	must(t, s.EnableTxSA(v.tag.AN))
	must(t, s.CreateRxSC(v.sci))
	must(t, s.CreateRxSA(v.sci, v.tag.AN, v.pn, sak))
	must(t, s.EnableRxSA(v.sci, v.tag.AN))
	must(t, s.SetControlledPort(true))
	return s
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// frameBuf places frame in a fresh buffer with Headroom in front and
// Tailroom of capacity behind, as a data plane's buffers are laid out.
func frameBuf(frame []byte) (buf []byte, offset int) {
	b := make([]byte, Headroom+len(frame), Headroom+len(frame)+Tailroom)
	copy(b[Headroom:], frame)
	return b, Headroom
}

func TestAnnexCProtect(t *testing.T) {
	for _, v := range annexCVectors(t) {
		t.Run(v.name, func(t *testing.T) {
			s := newVectorSecY(t, &v, ValidateStrict)
			w := s.NewWorker()
			buf, off := frameBuf(v.clear)
			out, err := w.Protect(buf, off)
			if err != nil {
				t.Fatalf("Protect: %v", err)
			}
			if !bytes.Equal(out, v.protected) {
				t.Fatalf("Protect:\n got %X\nwant %X", out, v.protected)
			}
			if next, _ := s.TxNextPN(v.tag.AN); next != v.pn+1 {
				t.Errorf("TxNextPN = %#x, want %#x", next, v.pn+1)
			}
		})
	}
}

func TestAnnexCValidate(t *testing.T) {
	for _, v := range annexCVectors(t) {
		t.Run(v.name, func(t *testing.T) {
			s := newVectorSecY(t, &v, ValidateStrict)
			w := s.NewWorker()
			frame := append([]byte{}, v.protected...)
			got, err := w.Validate(frame)
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if !bytes.Equal(got, v.clear) {
				t.Fatalf("Validate:\n got %X\nwant %X", got, v.clear)
			}
			w.Flush()
			st, _ := s.Status()
			rx := st.RxSCs[0].Stats
			if rx.InPktsOK != 1 {
				t.Errorf("InPktsOK = %d, want 1", rx.InPktsOK)
			}
			n := uint64(len(v.clear) - 12)
			if v.conf.Encrypt() && rx.InOctetsDecrypted != n || !v.conf.Encrypt() && rx.InOctetsValidated != n {
				t.Errorf("octets validated/decrypted = %d/%d, want %d", rx.InOctetsValidated, rx.InOctetsDecrypted, n)
			}
			// The same frame again is a replay. Without XPN it is below
			// the lowest acceptable PN; with XPN its 32 PN bits recover a
			// PN in the next 2^32 epoch (10.6.2), so the ICV check fails.
			want := ErrLate
			if v.suite.XPN() {
				want = ErrNotValid
			}
			if _, err := w.Validate(append([]byte{}, v.protected...)); err != want {
				t.Errorf("replayed frame: err = %v, want %v", err, want)
			}
		})
	}
}
