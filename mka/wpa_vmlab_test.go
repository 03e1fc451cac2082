//go:build vmlab

package mka

import (
	"strings"
	"testing"
	"time"

	"github.com/macsecd/macsecd/macsec/secytest"
	"github.com/macsecd/macsecd/testenv"
)

// TestWPASupplicantKaY runs our KaY (with a recording SecY) against
// wpa_supplicant 2.10 with the kernel's MACsec on a veth, both ways round:
// we are key server and wpa_supplicant installs our SAK, and wpa_supplicant
// is key server and we install its SAK. The kernel SAs on wpa_supplicant's
// side (ip macsec show) must carry the key identifier we use, for its
// transmit SA and for its receive SA of our SC.
func TestWPASupplicantKaY(t *testing.T) {
	testenv.LabKernel(t)
	for _, tc := range []struct {
		name        string
		ours, wpa   int
		weAreServer bool
	}{
		{"macsecd-key-server", 1, 255, true}, // wpa_supplicant's default priority
		{"wpa-key-server", 16, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lab := testenv.New(t)
			a, b := lab.Host("a"), lab.Host("b")
			lab.Veth(a, "eth0", b, "eth0")
			testenv.WPASupplicant{CAK: testCAK, CKN: testCKN, Priority: tc.wpa}.Start(t, b, "eth0")
			k, rec := labKaY(t, a, Config{Keys: []Key{{CKN: testCKN, CAK: testCAK}}, Priority: uint8(tc.ours)})
			waitFor(t, 30*time.Second, "secured with wpa_supplicant", func() bool {
				st := k.Status()
				return st.Secured && st.Current != nil && st.Current.Transmit
			})
			st := k.Status()
			if st.KeyServer == nil || st.KeyServer.Self != tc.weAreServer {
				t.Fatalf("key server %+v, want self=%t", st.KeyServer, tc.weAreServer)
			}
			id, _ := rec.TxKeyID()
			// wpa_supplicant must have installed the same key identifier
			// in the kernel, for transmit and for receiving from us.
			// wpa_supplicant's macsec_linux driver hands the kernel the
			// key number in host (little-endian) order, so its kernel
			// shows our MI followed by the KN byte-swapped.
			wpaID := id
			wpaID[12], wpaID[13], wpaID[14], wpaID[15] = id[15], id[14], id[13], id[12]
			var out []byte
			for end := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				out, _ = b.Command("ip", "macsec", "show").CombinedOutput()
				if strings.Count(string(out), wpaID.String()) >= 2 {
					break
				}
				if time.Now().After(end) {
					t.Fatalf("wpa_supplicant's kernel SAs do not use our key identifier %s (%s as it installs it):\n%s", id, wpaID, out)
				}
			}
			// Steady state: the old SA retired, nothing failed, and the
			// link stays secured over several hellos.
			time.Sleep(5 * time.Second) // let hellos flow in real time
			st = k.Status()
			if !st.Secured || st.Previous != nil || st.Counters.SecYErrors != 0 || st.Counters.BadICV != 0 {
				t.Errorf("after 5 s: %+v", st)
			}
			for i, c := range rec.Calls() {
				if c.Err != nil {
					t.Errorf("SecY call %d %v failed", i, c)
				}
				if c.Op == secytest.OpEnableTxSA && i == 0 {
					t.Error("transmit enabled before any receive SA")
				}
			}
		})
	}
}
