package mkpdu

import (
	"bytes"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/macsecd/macsecd/crypto/keywrap"
	"github.com/macsecd/macsecd/mka/keys"
)

// testdata/wpa_supplicant-mkpdus-cak{128,256}.hex hold, one per line, the
// MKPDUs two wpa_supplicant 2.10 peers (Debian bookworm, macsec_linux
// driver, priorities 10 and 11) exchanged in the VM lab until the key
// server's SAK was installed; mka/eapol TestWPASupplicantWire captured them
// with these CAKs and CKN. They hold Potential and Live Peer Lists, MACsec
// SAK Use and Distributed SAK sets as wpa_supplicant encodes them.
const (
	wpaCKN    = "6162636465666768696a6b6c6d6e6f707172737475767778797a303132333435"
	wpaCAK128 = "0123456789abcdef0123456789abcdef"
	wpaCAK256 = "0123456789abcdef0123456789abcdeffedcba9876543210fedcba9876543210"
)

func wpaFrames(t *testing.T, file string) [][]byte {
	data, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, l := range strings.Fields(string(data)) {
		out = append(out, unhex(t, l))
	}
	return out
}

func TestWPASupplicantExchange(t *testing.T) {
	for _, tc := range []struct{ file, cak string }{
		{"wpa_supplicant-mkpdus-cak128.hex", wpaCAK128},
		{"wpa_supplicant-mkpdus-cak256.hex", wpaCAK256},
	} {
		t.Run(tc.file, func(t *testing.T) {
			cak, ckn := unhex(t, tc.cak), unhex(t, wpaCKN)
			ick, _ := keys.ICK(cak, ckn)
			kek, _ := keys.KEK(cak, ckn)
			k, err := NewICVKey(ick)
			if err != nil {
				t.Fatal(err)
			}
			var sets struct{ potential, live, sakUse, distSAK int }
			for i, b := range wpaFrames(t, tc.file) {
				if !k.Verify(b) {
					t.Errorf("frame %d: ICV does not verify under our ICK", i+1)
				}
				f, err := Parse(b)
				if err != nil {
					t.Fatalf("frame %d: %v", i+1, err)
				}
				if p := f.PDU.Basic; p.Version != 1 || p.AlgAgility != AlgAgility8021X || hex.EncodeToString(p.CKN) != wpaCKN {
					t.Errorf("frame %d: basic %+v", i+1, p)
				}
				out, err := f.Marshal(ick)
				if err != nil || !bytes.Equal(out, b) {
					t.Errorf("frame %d: re-encoded (%v)\n %x\nwant\n %x", i+1, err, out, b)
				}
				if f.PDU.PotentialPeers != nil {
					sets.potential++
				}
				if f.PDU.LivePeers != nil {
					sets.live++
				}
				if u := f.PDU.SAKUse; u != nil {
					sets.sakUse++
					if u.LatestKI.KN != 1 || !u.LatestRx || u.LatestAN != 0 {
						t.Errorf("frame %d: SAK use %+v, want key 1 on AN 0 received", i+1, u)
					}
				}
				if d := f.PDU.DistSAK; d != nil {
					sets.distSAK++
					if d.AN != 0 || d.KeyNumber != 1 || d.ConfidentialityOffset != 1 || d.CipherSuite != 0 {
						t.Errorf("frame %d: distributed SAK %+v, want the GCM-AES-128 form, AN 0, KN 1, offset 0", i+1, d)
					}
					sak, err := keywrap.Unwrap(kek, d.WrappedSAK)
					if err != nil || len(sak) != 16 {
						t.Errorf("frame %d: SAK does not unwrap under our KEK: %v", i+1, err)
					}
				}
			}
			if sets.potential == 0 || sets.live == 0 || sets.sakUse == 0 || sets.distSAK == 0 {
				t.Errorf("capture lacks parameter sets: %+v", sets)
			}
		})
	}
}
