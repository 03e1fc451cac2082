//go:build !vmlab

package link

import (
	"encoding/binary"
	"fmt"
	"maps"
	"testing"

	"github.com/macsecd/macsecd/macsec"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Host tests of decoding against replies recorded from the lab kernels
// (see fixture_test.go). Each fixture is checked against the configuration
// that produced it and against iproute2's rendering of the same state.

func loadMessages(t *testing.T, kernel, name string) []netlink.Message {
	t.Helper()
	b, err := readFixture(kernel, name)
	if err != nil {
		t.Fatalf("fixture %s/%s: %v (record with the vmlab TestRecordFixtures)", kernel, name, err)
	}
	msgs, err := unmarshalMessages(b)
	if err != nil {
		t.Fatalf("fixture %s/%s: %v", kernel, name, err)
	}
	return msgs
}

func loadText(t *testing.T, kernel, name string) string {
	t.Helper()
	b, err := readFixture(kernel, name)
	if err != nil {
		t.Fatalf("fixture %s/%s: %v", kernel, name, err)
	}
	return string(b)
}

func TestParseLinkFixtures(t *testing.T) {
	for _, k := range fixtureKernels {
		for _, fs := range fixtureSuites {
			t.Run(k+"/"+fs.name, func(t *testing.T) {
				msgs := loadMessages(t, k, fs.name+"-link.bin")
				if len(msgs) != 1 || msgs[0].Header.Type != unix.RTM_NEWLINK {
					t.Fatalf("want one RTM_NEWLINK, got %d messages", len(msgs))
				}
				l, err := parseLink(msgs[0].Data)
				if err != nil {
					t.Fatal(err)
				}
				want := fxLinkConfig(fs.suite, fs.encrypt).Settings
				if l.Kind != "macsec" || l.Name != "ms0" || l.Parent == 0 || l.Up {
					t.Errorf("link %+v: want a down macsec ms0 with a parent", l)
				}
				if l.Settings != want {
					t.Errorf("settings\n got %+v\nwant %+v", l.Settings, want)
				}
				if l.MTU != 1500-16-16 { // veth MTU minus ICV and SecTAG with SCI
					t.Errorf("MTU %d, want 1468", l.MTU)
				}

				// iproute2's view of the same reply.
				ip, err := ipLinkMacsec(loadText(t, k, fs.name+"-iplink.txt"))
				if err != nil {
					t.Fatal(err)
				}
				exp := map[string]string{
					"sci":         l.SCI.String(),
					"protect":     onOff(l.Protect),
					"cipher":      l.CipherSuite.String(),
					"icvlen":      fmt.Sprint(l.ICVLen),
					"encodingsa":  fmt.Sprint(l.EncodingSA),
					"validate":    l.Validate.String(),
					"encrypt":     onOff(l.Encrypt),
					"send_sci":    onOff(l.IncludeSCI),
					"end_station": onOff(l.ES),
					"scb":         onOff(l.SCB),
					"replay":      onOff(l.ReplayProtect),
					"window":      fmt.Sprint(l.Window),
				}
				if _, ok := ip["offload"]; ok { // 6.1 does not report it
					exp["offload"] = l.Offload.String()
				}
				if !maps.Equal(ip, exp) {
					t.Errorf("ip -d link show says\n %v\nwe decoded\n %v", ip, exp)
				}
			})
		}
	}
}

// TestLegacyCipherID: the kernel reports GCM-AES-128 with the pre-standard
// identifier, which this package accepts as macsec.GCMAES128.
func TestLegacyCipherID(t *testing.T) {
	for _, k := range fixtureKernels {
		msgs := loadMessages(t, k, "gcm-aes-128-link.bin")
		data := infoData(t, msgs[0].Data)
		raw, ok := data[iflaMacsecCipherSuite]
		if !ok {
			t.Fatalf("%s: no IFLA_MACSEC_CIPHER_SUITE", k)
		}
		if got := macsec.CipherSuite(binary.NativeEndian.Uint64(raw)); got != macsec.GCMAES128Legacy {
			t.Errorf("%s: kernel reports %#x, want the legacy id %#x", k, uint64(got), uint64(macsec.GCMAES128Legacy))
		}
		l, err := parseLink(msgs[0].Data)
		if err != nil {
			t.Fatal(err)
		}
		if l.CipherSuite != macsec.GCMAES128 {
			t.Errorf("%s: decoded %v, want GCM-AES-128", k, l.CipherSuite)
		}
	}
}

func TestParseDumpFixtures(t *testing.T) {
	for _, k := range fixtureKernels {
		for _, fs := range fixtureSuites {
			t.Run(k+"/"+fs.name, func(t *testing.T) {
				states, intr, err := parseDump(loadMessages(t, k, fs.name+"-dump.bin"))
				if err != nil {
					t.Fatal(err)
				}
				if intr || len(states) != 1 {
					t.Fatalf("interrupted=%v, %d SecYs; want 1", intr, len(states))
				}
				st := states[0]
				want := fxLinkConfig(fs.suite, fs.encrypt).Settings
				if st.Settings != want {
					t.Errorf("settings\n got %+v\nwant %+v", st.Settings, want)
				}
				if !st.Operational {
					t.Error("not operational although the encoding SA is active")
				}
				xpn := fs.suite.XPN()
				ssci := func(v uint32) uint32 {
					if xpn {
						return v
					}
					return 0
				}
				tx := fxTxSAs(fs.suite)
				if len(st.TxSAs) != len(tx) {
					t.Fatalf("%d TX SAs, want %d", len(st.TxSAs), len(tx))
				}
				for i, w := range tx {
					g := st.TxSAs[i]
					if g.AN != w.AN || g.Active != w.Active || g.NextPN != w.PN || g.KeyID != w.KeyID || g.SSCI != ssci(w.SSCI) {
						t.Errorf("TX SA %d: got %+v, want AN %d active %v PN %#x key %x SSCI %d", i, g, w.AN, w.Active, w.PN, w.KeyID, ssci(w.SSCI))
					}
				}
				if len(st.RxSCs) != 1 || st.RxSCs[0].SCI != fxPeerSCI || !st.RxSCs[0].Active {
					t.Fatalf("RX SCs %+v, want one active %v", st.RxSCs, fxPeerSCI)
				}
				rx := fxRxSAs(fs.suite)
				sas := st.RxSCs[0].SAs
				if len(sas) != len(rx) {
					t.Fatalf("%d RX SAs, want %d", len(sas), len(rx))
				}
				for i, w := range rx {
					g := sas[i]
					if g.AN != w.AN || g.Active != w.Active || g.NextPN != w.PN || g.KeyID != w.KeyID || g.SSCI != ssci(w.SSCI) {
						t.Errorf("RX SA %d: got %+v, want AN %d active %v PN %#x key %x SSCI %d", i, g, w.AN, w.Active, w.PN, w.KeyID, ssci(w.SSCI))
					}
				}
				compareIPMacsec(t, &st, loadText(t, k, fs.name+"-ipmacsec.txt"))
			})
		}
	}
}

// TestParseTrafficDump checks the counters after pings (recorded in the
// lab) against iproute2's and against what 3 pings and an ARP exchange
// must have moved.
func TestParseTrafficDump(t *testing.T) {
	for _, k := range fixtureKernels {
		t.Run(k, func(t *testing.T) {
			states, _, err := parseDump(loadMessages(t, k, "traffic-dump.bin"))
			if err != nil {
				t.Fatal(err)
			}
			if len(states) != 1 {
				t.Fatalf("%d SecYs, want 1", len(states))
			}
			st := states[0]
			compareIPMacsec(t, &st, loadText(t, k, "traffic-ipmacsec.txt"))
			tx := st.TxSA(0)
			if tx == nil || tx.Stats.OutPktsEncrypted < 4 || tx.NextPN != tx.Stats.OutPktsEncrypted+1 {
				t.Errorf("TX SA 0 %+v: want >= 4 encrypted packets and next PN = packets + 1", tx)
			}
			if st.TxSCStats.OutOctetsEncrypted == 0 || st.TxSCStats.OutPktsEncrypted != tx.Stats.OutPktsEncrypted {
				t.Errorf("TX SC stats %+v disagree with the SA's", st.TxSCStats)
			}
			if len(st.RxSCs) != 1 {
				t.Fatalf("RX SCs %+v", st.RxSCs)
			}
			rx := st.RxSCs[0].RxSA(0)
			if rx == nil || rx.Stats.InPktsOK < 4 || st.RxSCs[0].Stats.InPktsOK != rx.Stats.InPktsOK || st.RxSCs[0].Stats.InOctetsDecrypted == 0 {
				t.Errorf("RX SC %+v: want >= 4 packets OK, decrypted octets", st.RxSCs[0])
			}
		})
	}
}
