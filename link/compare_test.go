package link

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"testing"

	"github.com/macsecd/macsecd/macsec"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Comparisons shared by the host tests (on recorded fixtures) and the VM
// lab tests (on the live kernel).

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// compareIPMacsec holds a decoded State against `ip -s macsec show`.
func compareIPMacsec(t *testing.T, st *State, text string) {
	t.Helper()
	ip, err := parseIPMacsec(text)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want string
	}{
		{"TXSC", ip.txSCI, st.SCI.String()},
		{"encoding SA", fmt.Sprint(ip.encodingSA), fmt.Sprint(st.EncodingSA)},
		{"cipher", ip.cipher, st.CipherSuite.String()},
		{"ICV length", fmt.Sprint(ip.icvLen), fmt.Sprint(st.ICVLen)},
		{"protect", ip.flags["protect"], onOff(st.Protect)},
		{"validate", ip.flags["validate"], st.Validate.String()},
		{"encrypt", ip.flags["encrypt"], onOff(st.Encrypt)},
		{"send_sci", ip.flags["send_sci"], onOff(st.IncludeSCI)},
		{"end_station", ip.flags["end_station"], onOff(st.ES)},
		{"scb", ip.flags["scb"], onOff(st.SCB)},
		{"replay", ip.flags["replay"], onOff(st.ReplayProtect)},
		{"window", ip.flags["window"], fmt.Sprint(st.Window)},
		{"offload", ip.offload, st.Offload.String()},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: ip says %q, we decoded %q", c.name, c.got, c.want)
		}
	}
	if !maps.Equal(ip.secyStats, statsMap(st.SecYStats)) {
		t.Errorf("SecY stats: ip %v, ours %v", ip.secyStats, statsMap(st.SecYStats))
	}
	if !maps.Equal(ip.txscStats, statsMap(st.TxSCStats)) {
		t.Errorf("TX SC stats: ip %v, ours %v", ip.txscStats, statsMap(st.TxSCStats))
	}
	xpn := st.CipherSuite.XPN()
	sameSA := func(what string, ipsa *ipSA, an macsec.AN, active bool, pn uint64, keyID macsec.KeyID, ssci uint32, stats map[string]uint64) {
		t.Helper()
		wantSSCI := ""
		if xpn {
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], ssci) // the octets of the IV
			wantSSCI = hex.EncodeToString(b[:])
		}
		// iproute2 6.1 prints the PN as a u32, also for XPN.
		if ipsa.an != int(an) || ipsa.active != active || ipsa.pn != uint64(uint32(pn)) || ipsa.keyID != keyID.String() || ipsa.ssci != wantSSCI {
			t.Errorf("%s: ip says %+v; we decoded AN %d active %v PN %#x key %v SSCI %q", what, *ipsa, an, active, pn, keyID, wantSSCI)
		}
		if !maps.Equal(ipsa.stats, stats) {
			t.Errorf("%s stats: ip %v, ours %v", what, ipsa.stats, stats)
		}
	}
	if len(ip.txSAs) != len(st.TxSAs) {
		t.Fatalf("ip shows %d TX SAs, we decoded %d", len(ip.txSAs), len(st.TxSAs))
	}
	for i, sa := range st.TxSAs {
		sameSA(fmt.Sprintf("TX SA %d", sa.AN), ip.txSAs[i], sa.AN, sa.Active, sa.NextPN, sa.KeyID, sa.SSCI, statsMap(sa.Stats))
	}
	if len(ip.rxSCs) != len(st.RxSCs) {
		t.Fatalf("ip shows %d RX SCs, we decoded %d", len(ip.rxSCs), len(st.RxSCs))
	}
	for i, sc := range st.RxSCs {
		isc := ip.rxSCs[i]
		if isc.sci != sc.SCI.String() || isc.active != sc.Active {
			t.Errorf("RX SC: ip %s %v, ours %v %v", isc.sci, isc.active, sc.SCI, sc.Active)
		}
		if !maps.Equal(isc.stats, statsMap(sc.Stats)) {
			t.Errorf("RX SC stats: ip %v, ours %v", isc.stats, statsMap(sc.Stats))
		}
		if len(isc.sas) != len(sc.SAs) {
			t.Fatalf("ip shows %d RX SAs, we decoded %d", len(isc.sas), len(sc.SAs))
		}
		for j, sa := range sc.SAs {
			sameSA(fmt.Sprintf("RX SA %d", sa.AN), isc.sas[j], sa.AN, sa.Active, sa.NextPN, sa.KeyID, sa.SSCI, statsMap(sa.Stats))
		}
	}
}

// infoData returns the IFLA_INFO_DATA attributes of an RTM_NEWLINK body
// by type.
func infoData(t *testing.T, body []byte) map[uint16][]byte {
	t.Helper()
	top := attrsByType(t, body[ifinfoLen:])
	info := attrsByType(t, top[unix.IFLA_LINKINFO])
	return attrsByType(t, info[unix.IFLA_INFO_DATA])
}

func attrsByType(t *testing.T, b []byte) map[uint16][]byte {
	t.Helper()
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		t.Fatal(err)
	}
	m := map[uint16][]byte{}
	for ad.Next() {
		m[ad.Type()] = ad.Bytes()
	}
	if err := ad.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}
