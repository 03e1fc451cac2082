package eapol

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/mka/mkpdu"
	"github.com/macsecd/macsecd/testenv"
)

// tsharkFrames returns MKPDUs that together use every parameter set and
// every encoding variant the codec has, as a key server would send them.
func tsharkFrames() []*mkpdu.Frame {
	miA := mkpdu.MI{0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac}
	miB := mkpdu.MI{0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc}
	miC := mkpdu.MI{0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc}
	basic := func(version uint8, mn uint32, ckn []byte) mkpdu.Basic {
		return mkpdu.Basic{Version: version, Priority: 16, KeyServer: true, MACsecDesired: true, MACsecCapability: 3,
			SCI: macsec.MakeSCI(macA, 1), MI: miA, MN: mn, AlgAgility: mkpdu.AlgAgility8021X, CKN: ckn}
	}
	ckn := []byte{0x96, 0x43, 0x7a, 0x93, 0xcc, 0xf1, 0x0d, 0x9d, 0xfe, 0x34, 0x78, 0x46, 0xcc, 0xe5, 0x2c, 0x7d}
	frame := func(p mkpdu.MKPDU) *mkpdu.Frame {
		return &mkpdu.Frame{Dst: mkpdu.PAEGroupAddress, Src: macA, EtherType: mkpdu.EtherTypeEAPOL, EAPOLVersion: 3, PDU: p}
	}
	return []*mkpdu.Frame{
		// 1: a first Hello, MKA version 1, 5-octet CKN (padded).
		frame(mkpdu.MKPDU{Basic: basic(1, 1, ckn[:5])}),
		// 2: peers, SAK use, the GCM-AES-128 short Distributed SAK, the
		// cipher suites announcement.
		frame(mkpdu.MKPDU{
			Basic:          basic(3, 2, ckn),
			LivePeers:      []mkpdu.PeerEntry{{MI: miB, MN: 7}, {MI: miC, MN: 0x01020304}},
			PotentialPeers: []mkpdu.PeerEntry{{MI: mkpdu.MI{0xdd, 1}, MN: 1}},
			SAKUse: &mkpdu.SAKUse{LatestKI: mkpdu.KI{MI: miA, KN: 2}, LatestAN: 1, LatestTx: true, LatestRx: true, LatestLowestPN: 0x1000,
				OldKI: mkpdu.KI{MI: miA, KN: 1}, OldAN: 0, OldRx: true, OldLowestPN: 0x2000, DelayProtect: true},
			DistSAK: &mkpdu.DistSAK{AN: 1, ConfidentialityOffset: 1, KeyNumber: 2, WrappedSAK: bytes.Repeat([]byte{0x5a}, 24)},
			Announcement: &mkpdu.Announcement{CipherSuites: []mkpdu.CipherSuiteCap{
				{Capability: 3, ID: macsec.GCMAES128}, {Capability: 3, ID: macsec.GCMAES256},
				{Capability: 2, ID: macsec.GCMAESXPN128}, {Capability: 2, ID: macsec.GCMAESXPN256}}},
		}),
		// 3: XPN suite with its ID and a 256-bit wrapped key, the Key
		// Server SSCI, the XPN set, Distributed CAK, KMD, an unknown set
		// and the ICV Indicator.
		frame(mkpdu.MKPDU{
			Basic:         basic(3, 3, ckn),
			LivePeers:     []mkpdu.PeerEntry{{MI: miB, MN: 8}},
			KeyServerSSCI: 1,
			SAKUse:        &mkpdu.SAKUse{LatestKI: mkpdu.KI{MI: miA, KN: 3}, LatestAN: 2, LatestRx: true, LatestLowestPN: 1},
			DistSAK:       &mkpdu.DistSAK{AN: 2, ConfidentialityOffset: 1, KeyNumber: 3, CipherSuite: macsec.GCMAESXPN256, WrappedSAK: bytes.Repeat([]byte{0x6b}, 40)},
			DistCAK:       &mkpdu.DistCAK{WrappedCAK: bytes.Repeat([]byte{0xca}, 24), CKN: []byte{1, 2, 3, 4, 5, 6, 7, 8}},
			// Wireshark 4.0 does not skip the padding after a KMD, so the
			// name here is a multiple of 4 octets long.
			KMD:          &mkpdu.KMD{Name: []byte("lab.example")[:8]},
			XPN:          &mkpdu.XPN{SuspensionTime: 5, LatestLowestPNHigh: 1, OldLowestPNHigh: 0},
			Unknown:      []mkpdu.RawSet{{Type: 99, Body: []byte{1, 2, 3, 4, 5}}},
			ICVIndicator: true,
		}),
		// 4: a participant that does not want MACsec: empty SAK Use and the
		// empty Distributed SAK (plain text), MKA version 2.
		frame(mkpdu.MKPDU{
			Basic:     basic(2, 4, ckn),
			LivePeers: []mkpdu.PeerEntry{{MI: miB, MN: 9}},
			SAKUse:    &mkpdu.SAKUse{PlainTx: true, PlainRx: true, Empty: true},
			DistSAK:   &mkpdu.DistSAK{},
		}),
	}
}

// tsharkFields are the fields compared, in -e order.
var tsharkFields = []string{
	"frame.number", "_ws.expert", "_ws.malformed", "eapol.version", "eapol.type", "eapol.len",
	"mka.version_id", "mka.ks_prio", "mka.key_server", "mka.macsec_desired", "mka.macsec_capability",
	"mka.sci", "mka.actor_mi", "mka.actor_mn", "mka.algo_agility", "mka.cak_name",
	"mka.peer_mi", "mka.peer_mn", "mka.key_server_ssci",
	"mka.latest_key_an", "mka.latest_key_tx", "mka.latest_key_rx", "mka.old_key_an", "mka.old_key_tx", "mka.old_key_rx",
	"mka.plain_tx", "mka.plain_rx", "mka.delay_protect",
	"mka.latest_key_server_mi", "mka.latest_key_number", "mka.latest_lowest_acceptable_pn",
	"mka.old_key_server_mi", "mka.old_key_number", "mka.old_lowest_acceptable_pn",
	"mka.distributed_an", "mka.confidentiality_offset", "mka.key_number", "mka.macsec_cipher_suite", "mka.aes_key_wrap_sak",
	"mka.aes_key_wrap_cak", "mka.kmd", "mka.suspension_time", "mka.unknown_param_set", "mka.icv_indicator", "mka.icv",
}

// expected renders what tshark must show for a frame, in tshark's -T
// fields notation: hex octets, booleans as 1/0, cipher suites in decimal,
// several occurrences joined by ",".
func expected(f *mkpdu.Frame, wire []byte) map[string]string {
	h := func(b []byte) string { return hex.EncodeToString(b) }
	u32 := func(v uint32) string { return fmt.Sprintf("%08x", v) }
	bo := func(v bool) string {
		if v {
			return "1"
		}
		return "0"
	}
	p := &f.PDU
	m := map[string]string{
		"_ws.expert": "", "_ws.malformed": "",
		"eapol.version": "3", "eapol.type": "5", "eapol.len": strconv.Itoa(len(wire) - 18),
		"mka.version_id": strconv.Itoa(int(p.Basic.Version)), "mka.ks_prio": strconv.Itoa(int(p.Basic.Priority)),
		"mka.key_server": bo(p.Basic.KeyServer), "mka.macsec_desired": bo(p.Basic.MACsecDesired),
		"mka.macsec_capability": strconv.Itoa(int(p.Basic.MACsecCapability)),
		"mka.sci":               h(p.Basic.SCI[:]), "mka.actor_mi": h(p.Basic.MI[:]), "mka.actor_mn": u32(p.Basic.MN),
		"mka.algo_agility": fmt.Sprintf("0x%08x", p.Basic.AlgAgility), "mka.cak_name": h(p.Basic.CKN),
		"mka.icv": h(p.ICV[:]),
	}
	var mis, mns []string
	for _, l := range [][]mkpdu.PeerEntry{p.LivePeers, p.PotentialPeers} {
		for _, e := range l {
			mis, mns = append(mis, h(e.MI[:])), append(mns, u32(e.MN))
		}
	}
	m["mka.peer_mi"], m["mka.peer_mn"] = strings.Join(mis, ","), strings.Join(mns, ",")
	if p.LivePeers != nil && p.Basic.Version == 3 {
		m["mka.key_server_ssci"] = fmt.Sprintf("0x%02x", p.KeyServerSSCI)
	}
	var lpn []string
	if u := p.SAKUse; u != nil {
		m["mka.latest_key_an"], m["mka.latest_key_tx"], m["mka.latest_key_rx"] = strconv.Itoa(int(u.LatestAN)), bo(u.LatestTx), bo(u.LatestRx)
		m["mka.old_key_an"], m["mka.old_key_tx"], m["mka.old_key_rx"] = strconv.Itoa(int(u.OldAN)), bo(u.OldTx), bo(u.OldRx)
		m["mka.plain_tx"], m["mka.plain_rx"], m["mka.delay_protect"] = bo(u.PlainTx), bo(u.PlainRx), bo(u.DelayProtect)
		if !u.Empty {
			m["mka.latest_key_server_mi"], m["mka.latest_key_number"] = h(u.LatestKI.MI[:]), u32(u.LatestKI.KN)
			m["mka.old_key_server_mi"], m["mka.old_key_number"] = h(u.OldKI.MI[:]), u32(u.OldKI.KN)
			m["mka.old_lowest_acceptable_pn"] = u32(u.OldLowestPN)
			lpn = append(lpn, u32(u.LatestLowestPN))
		}
	}
	if x := p.XPN; x != nil {
		// The dissector reuses the SAK Use PN fields for the XPN set.
		m["mka.suspension_time"] = strconv.Itoa(int(x.SuspensionTime))
		lpn = append(lpn, u32(x.LatestLowestPNHigh))
		if m["mka.old_lowest_acceptable_pn"] != "" {
			m["mka.old_lowest_acceptable_pn"] += ","
		}
		m["mka.old_lowest_acceptable_pn"] += u32(x.OldLowestPNHigh)
	}
	m["mka.latest_lowest_acceptable_pn"] = strings.Join(lpn, ",")
	var suites []string // Distributed SAK first, then the announcement, as on the wire
	if d := p.DistSAK; d != nil {
		m["mka.distributed_an"], m["mka.confidentiality_offset"] = strconv.Itoa(int(d.AN)), strconv.Itoa(int(d.ConfidentialityOffset))
		if d.WrappedSAK != nil {
			m["mka.key_number"], m["mka.aes_key_wrap_sak"] = u32(d.KeyNumber), h(d.WrappedSAK)
		}
		if d.CipherSuite != 0 {
			suites = append(suites, strconv.FormatUint(uint64(d.CipherSuite), 10))
		}
	}
	if a := p.Announcement; a != nil {
		for _, c := range a.CipherSuites {
			suites = append(suites, strconv.FormatUint(uint64(c.ID), 10))
		}
	}
	m["mka.macsec_cipher_suite"] = strings.Join(suites, ",")
	if c := p.DistCAK; c != nil {
		m["mka.aes_key_wrap_cak"] = h(c.WrappedCAK)
		m["mka.cak_name"] += "," + h(c.CKN)
	}
	if k := p.KMD; k != nil {
		m["mka.kmd"] = h(k.Name)
	}
	var unk []string
	for _, r := range p.Unknown {
		unk = append(unk, h(r.Body))
	}
	m["mka.unknown_param_set"] = strings.Join(unk, ",")
	if p.ICVIndicator {
		m["mka.icv_indicator"] = "1" // an FT_NONE field prints 1 when present
	}
	return m
}

// TestTshark sends MKPDUs covering every parameter set across a veth, lets
// tcpdump capture them and has tshark's independent MKA dissector decode
// them: no malformed packet, no expert warning, and the decoded fields
// equal what was sent.
func TestTshark(t *testing.T) {
	testenv.RequireRoot(t)
	for _, tool := range []string{"tshark", "tcpdump"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (Debian package %s; CI installs it): %v", tool, tool, err)
		}
	}
	lab := testenv.New(t)
	a, b := lab.Host("a"), lab.Host("b")
	lab.VethMAC(a, "eth0", macA, b, "eth0", macB)
	ca := listen(t, a, mkpdu.EtherTypeEAPOL)
	cb := listen(t, b, mkpdu.EtherTypeEAPOL, mkpdu.PAEGroupAddress)

	pcap := filepath.Join(t.TempDir(), "mka.pcap")
	dump := b.Capture(t, "eth0", pcap, "ether", "proto", "0x888e")

	frames := tsharkFrames()
	wires := make([][]byte, len(frames))
	var err error
	for i, f := range frames {
		if wires[i], err = f.Marshal(ick); err != nil {
			t.Fatal(err)
		}
		if err := ca.WriteFrame(wires[i]); err != nil {
			t.Fatal(err)
		}
		if got := read(t, cb, 2*time.Second); !bytes.Equal(got, wires[i]) {
			t.Fatalf("frame %d not received intact", i+1)
		}
	}
	captured, err := dump.Frames()
	if err != nil {
		t.Fatal(err)
	}
	if len(captured) != len(frames) {
		t.Fatalf("tcpdump captured %d frames, want %d", len(captured), len(frames))
	}

	// Expert summary: no error (malformed), warning or note section.
	out, err := exec.Command("tshark", "-n", "-r", pcap, "-q", "-z", "expert").CombinedOutput()
	if err != nil {
		t.Fatalf("tshark -z expert: %v\n%s", err, out)
	}
	for _, sev := range []string{"Errors (", "Warns (", "Notes (", "Malformed"} {
		if strings.Contains(string(out), sev) {
			t.Errorf("tshark expert info reports %s:\n%s", sev, out)
		}
	}

	args := []string{"-n", "-r", pcap, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,", "-E", "separator=/t"}
	for _, f := range tsharkFields {
		args = append(args, "-e", f)
	}
	out, err = exec.Command("tshark", args...).Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) != len(frames) {
		t.Fatalf("tshark decoded %d frames, want %d:\n%s", len(lines), len(frames), out)
	}
	for i, line := range lines {
		got := strings.Split(line, "\t")
		if len(got) != len(tsharkFields) {
			t.Fatalf("frame %d: %d fields, want %d", i+1, len(got), len(tsharkFields))
		}
		want := expected(frames[i], wires[i])
		for j, name := range tsharkFields {
			if name == "frame.number" {
				continue
			}
			g := strings.ToLower(strings.ReplaceAll(got[j], ":", ""))
			if w := want[name]; g != w {
				t.Errorf("frame %d: %s = %q, want %q", i+1, name, got[j], w)
			}
		}
	}
}
