package mka

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/macsecd/macsecd/crypto/keywrap"
	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/macsec/secytest"
	"github.com/macsecd/macsecd/mka/keys"
	"github.com/macsecd/macsecd/mka/mkpdu"
)

// statusSansCounters is the part of Status that a dropped frame must not
// change.
func statusSansCounters(k *KaY) Status {
	st := k.Status()
	st.Counters = Counters{}
	return st
}

func TestBadMKPDUsChangeNothing(t *testing.T) {
	n := newSimNet(t, 10)
	a, b := n.add("a", baseConfig(0)), n.add("b", baseConfig(1))
	if !n.runUntil(t0.Add(5*time.Second), n.secured) {
		t.Fatal("not secured")
	}
	n.run(3 * time.Second)
	old := b.sent[0] // b's first MKPDU: a stale MN now
	last := b.sent[len(b.sent)-1]

	// An MKPDU under another CKN, well formed and with a valid ICV for
	// that CAK.
	f, err := mkpdu.Parse(last)
	if err != nil {
		t.Fatal(err)
	}
	f.PDU.Basic.CKN = []byte("unknown-ckn")
	f.PDU.Basic.MN += 100
	ick, _ := keysICK(otherCAK, f.PDU.Basic.CKN)
	unknown, err := f.Marshal(ick)
	if err != nil {
		t.Fatal(err)
	}
	forged := append([]byte(nil), last...)
	forged[len(forged)-1] ^= 1
	// A forged MKPDU with a higher MN, that would otherwise be accepted.
	f2, _ := mkpdu.Parse(last)
	f2.PDU.Basic.MN += 1000
	f2.PDU.Basic.Priority = 0
	forgedMN, _ := f2.Marshal(otherCAK)

	cases := []struct {
		name    string
		frame   []byte
		counter func(Counters) uint64
	}{
		{"replayed", last, func(c Counters) uint64 { return c.Stale }},
		{"stale", old, func(c Counters) uint64 { return c.Stale }},
		{"truncated", last[:len(last)-7], func(c Counters) uint64 { return c.Malformed + c.BadICV }},
		{"truncated header", last[:20], func(c Counters) uint64 { return c.Malformed }},
		{"forged ICV", forged, func(c Counters) uint64 { return c.BadICV }},
		{"forged with other key", forgedMN, func(c Counters) uint64 { return c.BadICV }},
		{"unknown CKN", unknown, func(c Counters) uint64 { return c.UnknownCKN }},
	}
	for _, tc := range cases {
		before := statusSansCounters(a.k)
		cnt := tc.counter(a.k.Status().Counters)
		calls, sent := len(a.rec.Calls()), len(a.sent)
		err := a.k.HandleFrame(n.now, tc.frame)
		if err == nil {
			t.Errorf("%s: HandleFrame accepted it", tc.name)
		}
		if after := statusSansCounters(a.k); !reflect.DeepEqual(before, after) {
			t.Errorf("%s changed state:\nbefore %+v\nafter  %+v", tc.name, before, after)
		}
		if got := tc.counter(a.k.Status().Counters); got != cnt+1 {
			t.Errorf("%s: counter %d -> %d, want +1 (err %v)", tc.name, cnt, got, err)
		}
		if len(a.rec.Calls()) != calls || len(a.sent) != sent {
			t.Errorf("%s: SecY calls or MKPDUs sent in response", tc.name)
		}
	}
	n.run(10 * time.Second)
	if !n.secured() {
		t.Error("link not secured after the bad MKPDUs")
	}
	checkCalls(t, a)
}

// transitions returns, for each SAK taken into use, the ANs in the order
// of the calls that install and retire it, so tests can check the order.
func checkRekeyOrder(t *testing.T, nd *simNode) (rekeys int) {
	t.Helper()
	calls := nd.rec.Calls()
	enc := -1
	rxReady := map[macsec.AN]int{} // AN -> receive SAs enabled with its key
	for i, c := range calls {
		switch c.Op {
		case secytest.OpCreateRxSA, secytest.OpCreateTxSA:
			if enc >= 0 && c.AN == macsec.AN(enc) {
				t.Errorf("%s: call %d %v installs on the encoding AN", nd.name, i, c)
			}
			if c.PN != 1 {
				t.Errorf("%s: call %d %v: a fresh SAK starts at PN 1", nd.name, i, c)
			}
		case secytest.OpEnableRxSA:
			rxReady[c.AN]++
		case secytest.OpEnableTxSA:
			if rxReady[c.AN] == 0 {
				t.Errorf("%s: call %d enables transmit on AN %d before any receive SA", nd.name, i, c.AN)
			}
			if enc >= 0 {
				rekeys++
			}
			enc = int(c.AN)
		case secytest.OpDeleteRxSA:
			rxReady[c.AN]--
		}
	}
	return rekeys
}

func TestPNExhaustionRekeys(t *testing.T) {
	for _, who := range []string{"key server", "peer"} {
		t.Run(who, func(t *testing.T) {
			n := newSimNet(t, 11)
			a, b := n.add("a", baseConfig(0)), n.add("b", baseConfig(1))
			if !n.runUntil(t0.Add(5*time.Second), n.secured) {
				t.Fatal("not secured")
			}
			n.run(5 * time.Second)
			first, _ := a.txKey()
			nd := a
			if who == "peer" {
				nd = b
			}
			an, _ := nd.rec.EncodingSA()
			a.rec.Reset()
			b.rec.Reset()
			if err := nd.rec.SetTxNextPN(an, DefaultPNExhaustion); err != nil {
				t.Fatal(err)
			}
			if !n.runUntil(n.now.Add(10*time.Second), func() bool {
				id, _ := a.txKey()
				return id != first && n.secured()
			}) {
				t.Fatalf("no rekey on PN exhaustion\n%s", dumpCalls(a))
			}
			n.run(5 * time.Second)
			st := a.k.Status()
			if st.LastRekeyReason != "pn-exhaustion" || st.RekeyCount != 2 || st.Previous != nil {
				t.Errorf("status after exhaustion: %+v", st)
			}
			// The exact switch-over on both sides: receive SA on the
			// next AN, transmit SA, take it into use, then retire AN 0.
			second, _ := a.txKey()
			for _, x := range []*simNode{a, b} {
				peer := b.cfg.SCI.String()
				if x == b {
					peer = a.cfg.SCI.String()
				}
				want := []string{
					"CreateRxSA(" + peer + " an=1 pn=1 ki=" + second.String() + ")",
					"EnableRxSA(" + peer + " an=1)",
					"CreateTxSA(an=1 pn=1 ki=" + second.String() + ")",
					"EnableTxSA(an=1)",
					"DisableTxSA(an=0)",
					"DeleteTxSA(an=0)",
					"DisableRxSA(" + peer + " an=0)",
					"DeleteRxSA(" + peer + " an=0)",
				}
				if got := ops(x.rec.Calls()); !slices.Equal(got, want) {
					t.Errorf("%s's rekey calls:\n%s\nwant:\n%s", x.name, strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			}
			for _, x := range []*simNode{a, b} {
				checkCalls(t, x)
				if r := checkRekeyOrder(t, x); r != 0 {
					t.Errorf("%s: unexpected switch-overs after the one checked", x.name)
				}
				if got, _ := x.rec.EncodingSA(); got != 1 {
					t.Errorf("%s: encoding AN %d after the rekey, want 1", x.name, got)
				}
			}
		})
	}
}

func TestIntervalRekeyRotatesANs(t *testing.T) {
	n := newSimNet(t, 12)
	cfgA, cfgB, cfgC := baseConfig(0), baseConfig(1), baseConfig(2)
	cfgA.RekeyInterval = 30 * time.Second
	nodes := []*simNode{n.add("a", cfgA), n.add("b", cfgB), n.add("c", cfgC)}
	if !n.runUntil(t0.Add(5*time.Second), n.secured) {
		t.Fatal("not secured")
	}
	atSecure := nodes[0].k.Status().RekeyCount
	for _, nd := range nodes {
		nd.rec.Reset()
	}
	n.run(151 * time.Second)
	st := nodes[0].k.Status()
	if st.RekeyCount-atSecure != 5 || st.LastRekeyReason != "interval" {
		t.Errorf("after 150 s with a 30 s interval: %d rekeys (last %q), want 5 (interval)", st.RekeyCount-atSecure, st.LastRekeyReason)
	}
	for _, nd := range nodes {
		checkCalls(t, nd)
		var ans []macsec.AN
		for _, c := range nd.rec.Calls() {
			if c.Op == secytest.OpEnableTxSA {
				ans = append(ans, c.AN)
			}
		}
		if len(ans) != 5 {
			t.Errorf("%s: transmit ANs %v, want 5 switch-overs", nd.name, ans)
		}
		for i := 1; i < len(ans); i++ {
			if ans[i] != (ans[i-1]+1)%4 {
				t.Errorf("%s: transmit ANs %v do not rotate", nd.name, ans)
			}
		}
	}
	if !n.secured() {
		t.Error("not secured at the end")
	}
}

func TestRekeyCommand(t *testing.T) {
	n := newSimNet(t, 13)
	a, b := n.add("a", baseConfig(0)), n.add("b", baseConfig(1))
	if !n.runUntil(t0.Add(5*time.Second), n.secured) {
		t.Fatal("not secured")
	}
	if err := b.k.Rekey(n.now, ""); !errors.Is(err, ErrNotKeyServer) {
		t.Errorf("Rekey on the non key server: %v", err)
	}
	if err := a.k.Rekey(n.now, ""); err != nil {
		t.Fatal(err)
	}
	n.run(5 * time.Second)
	if st := a.k.Status(); st.RekeyCount != 2 || st.LastRekeyReason != "command" || st.Current.KeyNumber != 2 || st.Previous != nil {
		t.Errorf("after Rekey: %+v", st)
	}
	checkCalls(t, a)
	checkCalls(t, b)
}

func TestMustSecureNeverExposed(t *testing.T) {
	n := newSimNet(t, 14)
	n.jitter = 2 * time.Millisecond
	var nodes []*simNode
	for i := range 4 {
		cfg := baseConfig(i)
		cfg.Policy = MustSecure
		cfg.RekeyInterval = 20 * time.Second
		nodes = append(nodes, n.add(string(rune('a'+i)), cfg))
	}
	if !n.runUntil(t0.Add(5*time.Second), n.secured) {
		t.Fatal("not secured")
	}
	n.run(45 * time.Second) // two interval rekeys
	nodes[0].down()         // key server leaves: new key server, new SAK
	n.run(15 * time.Second)
	nodes[0].boot() // and returns after a restart
	n.run(20 * time.Second)
	if !n.secured() {
		for _, nd := range nodes {
			t.Logf("%s: %+v\n%s", nd.name, nd.k.Status(), dumpCalls(nd))
		}
		t.Fatal("not secured at the end")
	}
	nodes[3].down() // everyone but b leaves: b must close the port
	nodes[2].down()
	nodes[0].down()
	n.run(10 * time.Second)
	for _, nd := range nodes {
		checkCalls(t, nd)
		if nd.up && nd.rec.PortEnabled() {
			t.Errorf("%s: controlled port enabled with no peer left under must-secure", nd.name)
		}
	}
	// The port was enabled only once a transmit SA was in use.
	for _, c := range nodes[1].rec.Calls() {
		if c.Op == secytest.OpSetControlledPort && c.Enabled && !c.Encoding {
			t.Errorf("b enabled the controlled port without an encoding SA")
		}
	}
}

func TestKeyChainRollover(t *testing.T) {
	n := newSimNet(t, 15)
	k1 := Key{CKN: []byte("ckn-1"), CAK: testCAK, End: t0.Add(90 * time.Second)}
	k2 := Key{CKN: []byte("ckn-2"), CAK: otherCAK, Start: t0.Add(60 * time.Second)}
	var nodes []*simNode
	for i := range 3 {
		cfg := baseConfig(i)
		cfg.Policy = MustSecure
		cfg.Keys = []Key{k1, k2}
		nodes = append(nodes, n.add(string(rune('a'+i)), cfg))
	}
	if !n.runUntil(t0.Add(5*time.Second), n.secured) {
		t.Fatal("not secured")
	}
	first, _ := nodes[0].txKey()
	n.run(35 * time.Second) // 40 s: the ckn-2 participants have started
	if st := nodes[1].k.Status(); len(st.Participants) != 2 || st.Principal != "636b6e2d31" {
		t.Fatalf("at 40 s: %+v", st)
	}
	n.run(60 * time.Second) // 100 s: ckn-1 has ended
	for _, nd := range nodes {
		st := nd.k.Status()
		if len(st.Participants) != 1 || st.Principal != "636b6e2d32" || !st.Secured || st.Previous != nil {
			t.Errorf("%s at 100 s: %+v", nd.name, st)
		}
		checkCalls(t, nd)
		// No frame lost: once secured, an encoding SA existed after
		// every call.
		secured := false
		for i, c := range nd.rec.Calls() {
			if secured && !c.Encoding {
				t.Errorf("%s: no encoding SA after call %d %v", nd.name, i, c)
			}
			secured = secured || c.Encoding
		}
		if checkRekeyOrder(t, nd) != 1 {
			t.Errorf("%s: want one switch-over", nd.name)
		}
	}
	if !n.secured() {
		t.Fatal("not secured after rollover")
	}
	if id, _ := nodes[0].txKey(); id == first {
		t.Error("still on the first SAK")
	}
	if st := nodes[0].k.Status(); st.LastRekeyReason != "key-chain-rollover" {
		t.Errorf("last rekey reason %q", st.LastRekeyReason)
	}
}

func TestFallbackCAK(t *testing.T) {
	n := newSimNet(t, 16)
	fb := &Key{CKN: []byte("fallback"), CAK: otherCAK}
	cfgA, cfgB := baseConfig(0), baseConfig(1)
	cfgA.Fallback, cfgB.Fallback = fb, fb
	cfgB.Keys = []Key{{CKN: testCKN, CAK: otherCAK}} // primary CAKs differ
	a, b := n.add("a", cfgA), n.add("b", cfgB)
	if !n.runUntil(t0.Add(10*time.Second), n.secured) {
		t.Fatal("not secured with the fallback CAK")
	}
	for _, nd := range []*simNode{a, b} {
		st := nd.k.Status()
		if st.Principal != "66616c6c6261636b" {
			t.Errorf("%s: principal %q, want the fallback", nd.name, st.Principal)
		}
		checkCalls(t, nd)
	}
}

func TestXPN(t *testing.T) {
	n := newSimNet(t, 17)
	cfgA, cfgB := baseConfig(0), baseConfig(1)
	cfgA.CipherSuite, cfgB.CipherSuite = macsec.GCMAESXPN256, macsec.GCMAESXPN256
	a, b := n.add("a", cfgA), n.add("b", cfgB)
	if !n.runUntil(t0.Add(5*time.Second), n.secured) {
		t.Fatalf("not secured\n%s", dumpCalls(a))
	}
	for _, nd := range []*simNode{a, b} {
		checkCalls(t, nd)
		if p := nd.rec.Policy(); p.CipherSuite != macsec.GCMAESXPN256 {
			t.Errorf("%s: suite %s", nd.name, p.CipherSuite)
		}
		for _, c := range nd.rec.Calls() {
			var want uint32
			switch c.Op {
			case secytest.OpCreateTxSA:
				want = ssciWant(nd.cfg.SCI, a, b)
			case secytest.OpCreateRxSA:
				want = ssciWant(c.SCI, a, b)
			default:
				continue
			}
			if c.SSCI != want {
				t.Errorf("%s: %v SSCI %d, want %d", nd.name, c, c.SSCI, want)
			}
		}
	}
	// The key server announces its SSCI (1: lowest SCI) in its Live
	// Peer List header.
	if f, err := mkpdu.Parse(a.sent[len(a.sent)-1]); err != nil || f.PDU.KeyServerSSCI != 1 {
		t.Errorf("key server's MKPDU: Key Server SSCI %v (err %v), want 1", f.PDU.KeyServerSSCI, err)
	}
	if f, _ := mkpdu.Parse(b.sent[len(b.sent)-1]); f.PDU.KeyServerSSCI != 0 {
		t.Errorf("b (not key server) sent Key Server SSCI %d", f.PDU.KeyServerSSCI)
	}
	// Exhaustion uses the 64-bit threshold.
	an, _ := a.rec.EncodingSA()
	_ = a.rec.SetTxNextPN(an, DefaultPNExhaustion)
	n.run(5 * time.Second)
	if a.k.Status().RekeyCount != 1 {
		t.Error("rekeyed at the 32-bit threshold under XPN")
	}
}

func ssciWant(sci macsec.SCI, a, b *simNode) uint32 {
	if sci == a.cfg.SCI { // a has the lower SCI
		return 1
	}
	return 2
}

func TestXPNSalt(t *testing.T) {
	ki := mkpdu.KI{MI: mkpdu.MI{0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b}, KN: 0xA1B2C3D4}
	want := macsec.Salt{0x10 ^ 0xC3, 0x11 ^ 0xD4, 0x12 ^ 0xA1, 0x13 ^ 0xB2, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b}
	if got := xpnSalt(ki); got != want {
		t.Errorf("xpnSalt = %x, want %x", got, want)
	}
}

func TestSuiteFromAnnouncements(t *testing.T) {
	n := newSimNet(t, 18)
	cfgA, cfgB := baseConfig(0), baseConfig(1)
	cfgA.CipherSuite = macsec.GCMAES256 // key server prefers 256
	a, b := n.add("a", cfgA), n.add("b", cfgB)
	if !n.runUntil(t0.Add(5*time.Second), n.secured) {
		t.Fatal("not secured")
	}
	// b announces every suite, so a's choice stands and b follows it.
	for _, nd := range []*simNode{a, b} {
		if p := nd.rec.Policy(); p.CipherSuite != macsec.GCMAES256 {
			t.Errorf("%s: suite %s, want GCM-AES-256", nd.name, p.CipherSuite)
		}
		checkCalls(t, nd)
	}
	// A peer announcing only GCM-AES-128 makes the key server pick it.
	p := a.k.principal
	p.live[0].suites = []mkpdu.CipherSuiteCap{{Capability: 3, ID: macsec.GCMAES128}}
	if got := a.k.chooseSuite(p); got != macsec.GCMAES128 {
		t.Errorf("chooseSuite = %s, want GCM-AES-128", got)
	}
}

func TestVersionAndWireOptions(t *testing.T) {
	n := newSimNet(t, 19)
	cfgA, cfgB := baseConfig(0), baseConfig(1)
	cfgA.MKAVersion = 1
	cfgA.AlwaysICVIndicator = true
	cfgA.EtherType, cfgB.EtherType = mkpdu.EtherTypeWANEAPOL, mkpdu.EtherTypeWANEAPOL
	cfgA.Destination = mkpdu.BridgeGroupAddress
	a, b := n.add("a", cfgA), n.add("b", cfgB)
	if !n.runUntil(t0.Add(5*time.Second), n.secured) {
		t.Fatal("not secured")
	}
	f, err := mkpdu.Parse(a.sent[len(a.sent)-1])
	if err != nil {
		t.Fatal(err)
	}
	if f.PDU.Basic.Version != 1 || !f.PDU.ICVIndicator || f.EtherType != mkpdu.EtherTypeWANEAPOL ||
		f.Dst.String() != mkpdu.BridgeGroupAddress.String() || f.PDU.Announcement != nil || f.PDU.XPN != nil {
		t.Errorf("a's MKPDU: version %d icv-indicator %t ethertype %#x dst %s announcement %v",
			f.PDU.Basic.Version, f.PDU.ICVIndicator, f.EtherType, f.Dst, f.PDU.Announcement)
	}
	g, _ := mkpdu.Parse(b.sent[len(b.sent)-1])
	if g.PDU.Basic.Version != 3 || g.PDU.Announcement == nil {
		t.Errorf("b's MKPDU: version %d announcement %v", g.PDU.Basic.Version, g.PDU.Announcement)
	}
	// A frame with the default EtherType is not ours.
	frame := append([]byte(nil), b.sent[len(b.sent)-1]...)
	frame[12], frame[13] = 0x88, 0x8E
	if err := a.k.HandleFrame(n.now, frame); err == nil {
		t.Error("accepted an MKPDU with the wrong EtherType")
	}
}

// TestShouldSecureTeardown: when the last peer leaves under should-secure,
// traffic is let through in the clear before the SAs go, so that nothing
// is dropped, and the receive SC goes last.
func TestShouldSecureTeardown(t *testing.T) {
	n := newSimNet(t, 20)
	a, b := n.add("a", baseConfig(0)), n.add("b", baseConfig(1))
	if !n.runUntil(t0.Add(5*time.Second), n.secured) {
		t.Fatal("not secured")
	}
	id, _ := a.txKey()
	a.rec.Reset()
	b.down()
	n.run(LifeTime + 3*time.Second)
	peer := b.cfg.SCI.String()
	want := []string{
		"SetPolicy(GCM-AES-128 integrity-only protect=false validate=check)",
		"DisableTxSA(an=0)",
		"DeleteTxSA(an=0)",
		"DisableRxSA(" + peer + " an=0)",
		"DeleteRxSA(" + peer + " an=0)",
		"DeleteRxSC(" + peer + ")",
	}
	if got := ops(a.rec.Calls()); !slices.Equal(got, want) {
		t.Errorf("teardown calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	st := a.k.Status()
	if st.Secured || !st.ControlledPort || st.Current != nil || len(a.keys[id]) == 0 {
		t.Errorf("after teardown: %+v", st)
	}
	checkCalls(t, a)
}

// TestConfidentialityFollowsCapability: the key server's confidentiality
// offset is limited by the least capable desiring member, and members
// follow the key server's choice.
func TestConfidentialityFollowsCapability(t *testing.T) {
	for _, tc := range []struct {
		peerCap uint8
		want    macsec.Confidentiality
	}{
		{CapabilityConfidentialityAll, macsec.ConfidentialityOffset30},
		{CapabilityConfidentiality, macsec.ConfidentialityOffset0},
		{CapabilityIntegrity, macsec.IntegrityOnly},
	} {
		n := newSimNet(t, 21)
		cfgA, cfgB := baseConfig(0), baseConfig(1)
		cfgA.Confidentiality = macsec.ConfidentialityOffset30
		cfgB.Capability = tc.peerCap
		a, b := n.add("a", cfgA), n.add("b", cfgB)
		if !n.runUntil(t0.Add(5*time.Second), n.secured) {
			t.Fatalf("capability %d: not secured", tc.peerCap)
		}
		for _, nd := range []*simNode{a, b} {
			if got := nd.rec.Policy().Confidentiality; got != tc.want {
				t.Errorf("capability %d: %s uses %s, want %s", tc.peerCap, nd.name, got, tc.want)
			}
			checkCalls(t, nd)
		}
	}
}

// TestDistributedSAKOnANInUse: a key server (here a forged but validly
// signed MKPDU from it) distributing a new SAK on the AN of the SA in use
// must not make a member overwrite that SA.
func TestDistributedSAKOnANInUse(t *testing.T) {
	n := newSimNet(t, 22)
	a, b := n.add("a", baseConfig(0)), n.add("b", baseConfig(1))
	if !n.runUntil(t0.Add(5*time.Second), n.secured) {
		t.Fatal("not secured")
	}
	an, _ := b.rec.EncodingSA()
	f, err := mkpdu.Parse(a.sent[len(a.sent)-1])
	if err != nil {
		t.Fatal(err)
	}
	kek, _ := keys.KEK(testCAK, testCKN)
	wrapped, err := keywrap.Wrap(kek, make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	f.PDU.Basic.MN += 10
	f.PDU.DistSAK = &mkpdu.DistSAK{AN: uint8(an), KeyNumber: 99, WrappedSAK: wrapped}
	ick, _ := keys.ICK(testCAK, testCKN)
	frame, err := f.Marshal(ick)
	if err != nil {
		t.Fatal(err)
	}
	b.rec.Reset()
	bad := b.k.Status().Counters.BadSAK
	if err := b.k.HandleFrame(n.now, frame); err != nil {
		t.Fatal(err)
	}
	if got := b.k.Status().Counters.BadSAK; got != bad+1 {
		t.Errorf("BadSAK %d -> %d, want +1", bad, got)
	}
	for _, c := range b.rec.Calls() {
		if c.Op != secytest.OpTxNextPN {
			t.Errorf("SecY call on a SAK for the AN in use: %v", c)
		}
	}
	if got, _ := b.rec.EncodingSA(); got != an {
		t.Errorf("encoding AN changed to %d", got)
	}
	n.run(5 * time.Second)
	if !n.secured() {
		t.Error("not secured afterwards")
	}
}
