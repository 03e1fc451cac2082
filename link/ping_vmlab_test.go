//go:build vmlab

package link

import (
	"fmt"
	"maps"
	"testing"

	"github.com/macsecd/macsecd/macsec"
)

// TestPingAllSuites: for each cipher suite, with and without encryption,
// two namespaces whose SecYs, SCs and SAs are configured only through this
// package reach each other; the dump agrees with `ip -d link show` and
// `ip -s macsec show` on every field we set, and the counters moved by the
// pings.
func TestPingAllSuites(t *testing.T) {
	for _, cs := range macsec.CipherSuites {
		for _, encrypt := range []bool{true, false} {
			t.Run(fmt.Sprintf("%v/encrypt=%v", cs, encrypt), func(t *testing.T) {
				a, b := newPair(t, pairPolicy(cs, encrypt))
				keyUp(t, a, b, cs)
				const n = 3
				a.h.Run(t, "ping", "-c", fmt.Sprint(n), "-i", "0.2", "-W", "5", b.ip)
				for _, x := range []struct{ n, peer *node }{{a, b}, {b, a}} {
					checkBuffersZero(t, x.n.c)
					st, err := x.n.y.State()
					if err != nil {
						t.Fatal(err)
					}
					checkAgainstIP(t, x.n, st)
					checkSettings(t, st, cs, encrypt, x.n.sci)
					tx := st.TxSA(0)
					rxsc := st.RxSC(x.peer.sci)
					if tx == nil || rxsc == nil || rxsc.RxSA(0) == nil {
						t.Fatalf("%s: TX SA 0 %v, RX SC %v", x.n.h.Name, tx, rxsc)
					}
					rx := rxsc.RxSA(0)
					sent := tx.Stats.OutPktsProtected
					if encrypt {
						sent = tx.Stats.OutPktsEncrypted
					}
					// n echo requests or replies, plus ARP.
					if sent < n || tx.NextPN != sent+1 || rx.Stats.InPktsOK < n || rx.NextPN < n+1 {
						t.Errorf("%s: counters did not move as %d pings must: TX SA %+v, RX SA %+v", x.n.h.Name, n, tx, rx)
					}
					if encrypt && (st.TxSCStats.OutOctetsEncrypted == 0 || rxsc.Stats.InOctetsDecrypted == 0) {
						t.Errorf("%s: no octets encrypted/decrypted: %+v %+v", x.n.h.Name, st.TxSCStats, rxsc.Stats)
					}
					if !encrypt && (tx.Stats.OutPktsEncrypted != 0 || rxsc.Stats.InOctetsValidated == 0) {
						t.Errorf("%s: integrity only, yet TX %+v RX SC %+v", x.n.h.Name, tx.Stats, rxsc.Stats)
					}
					// A frame may leave between the dump and this read
					// (IPv6 neighbour discovery, MLD), so the PN may
					// only have grown.
					if pn, err := x.n.y.TxNextPN(0); err != nil || pn < tx.NextPN || pn > tx.NextPN+8 {
						t.Errorf("TxNextPN = %d, %v; dump said %d just before", pn, err, tx.NextPN)
					}
				}
			})
		}
	}
}

// checkSettings compares a dumped SecY with the pair policy.
func checkSettings(t *testing.T, st *State, cs macsec.CipherSuite, encrypt bool, sci macsec.SCI) {
	t.Helper()
	want := Settings{SCI: sci, CipherSuite: cs, ICVLen: 16, Encrypt: encrypt, Protect: true,
		IncludeSCI: true, ReplayProtect: true, Validate: macsec.ValidateStrict}
	if st.Settings != want || !st.Operational {
		t.Errorf("dumped settings %+v (operational %v), want %+v", st.Settings, st.Operational, want)
	}
}

// checkAgainstIP holds our dump and read-back against iproute2's output
// for the same interface.
func checkAgainstIP(t *testing.T, n *node, st *State) {
	t.Helper()
	compareIPMacsec(t, st, n.h.Run(t, "ip", "-s", "macsec", "show", "ms0"))
	l, err := n.c.LinkByName("ms0")
	if err != nil {
		t.Fatal(err)
	}
	if l.Settings != st.Settings {
		t.Errorf("rtnetlink says %+v, the dump %+v", l.Settings, st.Settings)
	}
	ip, err := ipLinkMacsec(n.h.Run(t, "ip", "-d", "link", "show", "ms0"))
	if err != nil {
		t.Fatal(err)
	}
	exp := map[string]string{
		"sci": l.SCI.String(), "protect": onOff(l.Protect), "cipher": l.CipherSuite.String(),
		"icvlen": fmt.Sprint(l.ICVLen), "encodingsa": fmt.Sprint(l.EncodingSA), "validate": l.Validate.String(),
		"encrypt": onOff(l.Encrypt), "send_sci": onOff(l.IncludeSCI), "end_station": onOff(l.ES),
		"scb": onOff(l.SCB), "replay": onOff(l.ReplayProtect), "window": fmt.Sprint(l.Window),
	}
	if _, ok := ip["offload"]; ok {
		exp["offload"] = l.Offload.String()
	}
	if !maps.Equal(ip, exp) {
		t.Errorf("ip -d link show says\n %v\nwe read\n %v", ip, exp)
	}
	if l.HardwareAddr.String() != n.mac.String() || !l.Up {
		t.Errorf("link %s up=%v, want %s up", l.HardwareAddr, l.Up, n.mac)
	}
}

// checkBuffersZero: after real requests (SAs with keys among them), the
// Conn's request buffers hold nothing.
func checkBuffersZero(t *testing.T, c *Conn) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range []*nlsock{c.rt, c.gn} {
		b := s.enc.b[:cap(s.enc.b)]
		if len(b) == 0 {
			t.Error("request buffer never used")
		}
		for _, v := range b {
			if v != 0 {
				t.Fatalf("request buffer not zeroed after the send: %x", b)
			}
		}
	}
}
