//go:build vmlab

package interop

import (
	"bytes"
	"encoding/binary"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/mka/mkpdu"
	"github.com/macsecd/macsecd/testenv"
)

// CAKs and CKNs of the scenarios: 128- and 256-bit CAKs, CKNs of 1, 16 and
// 32 octets (the shortest, a common and the longest length 802.1X allows).
var (
	cak128 = fromHex("0123456789abcdef0123456789abcdef")
	cak256 = fromHex("135bd758b0ee5c11c55ff6ab19fdb199135bd758b0ee5c11c55ff6ab19fdb199")
	ckn1   = fromHex("a5")
	ckn16  = fromHex("96437a93ccf10d9dfe347846cce52c7d")
	ckn32  = fromHex("6162636465666768696a6b6c6d6e6f707172737475767778797a303132333435")
)

// Key server priorities: the lower value wins. wpaDefault is wpa_supplicant
// 2.10's default mka_priority; it still lets wpa_supplicant become key
// server, which is why "wpa_supplicant as key server" uses an explicit 1.
const (
	wpaDefault = 255
	ourServer  = 16  // macsecd wins against wpa_supplicant's default
	ourMember  = 200 // macsecd loses against wpaServer
	wpaServer  = 1
)

// floodResult is what a background ping flood reports when it ends.
type floodResult struct {
	sent, recv int
	err        error
}

// flood runs a ping flood from h to dst in the background.
func flood(h *testenv.Host, dst string, count int, interval string) <-chan floodResult {
	done := make(chan floodResult, 1)
	go func() {
		var r floodResult
		r.sent, r.recv, r.err = pingRun(h, dst, count, interval)
		done <- r
	}()
	return done
}

// securedWithWPA starts macsecd on a with p and wpa_supplicant on b with w,
// waits until both secured the link, addresses the secured interfaces and
// returns macsecd, the wpa_supplicant process and the name of its macsec
// link.
func securedWithWPA(t *testing.T, pr *pair, p port, w testenv.WPASupplicant) (*node, *exec.Cmd, string) {
	t.Helper()
	n := p.start(t, pr.a)
	wpa := w.Start(t, pr.b, "eth0")
	n.waitSecured(120 * time.Second)
	dev := macsecLink(t, pr.b, 60*time.Second)
	address(t, pr.a, "macsec0", addrA)
	address(t, pr.b, dev, addrB)
	return n, wpa, dev
}

// checkAgreement asserts that macsecd and the kernel SAs wpa_supplicant
// installed on b use the same SAK (by key identifier), and who is key
// server.
func checkAgreement(t *testing.T, pr *pair, n *node, ks string, ksPriority int) {
	t.Helper()
	st := n.status()
	if !st.Secured || st.MKA == nil || st.CurrentSA == nil || st.CipherSuite != "GCM-AES-128" {
		t.Fatalf("macsecd status: %+v", st)
	}
	if len(st.MKA.LivePeers) != 1 || st.MKA.LivePeers[0].SCI != sciB {
		t.Errorf("live peers %+v, want wpa_supplicant %s", st.MKA.LivePeers, sciB)
	}
	if k := st.MKA.KeyServer; k == nil || k.SCI != ks || int(k.Priority) != ksPriority || k.Self != (ks == sciA) {
		t.Errorf("key server %+v, want %s priority %d", k, ks, ksPriority)
	}
	if len(st.RxSCs) != 1 || st.RxSCs[0].SCI != sciB || st.Counters.InPktsOK == 0 || st.Counters.OutPktsEncrypted == 0 {
		t.Errorf("receive SCs %+v, counters %+v", st.RxSCs, st.Counters)
	}
	// wpa_supplicant's transmit SA and its receive SA for us carry the key
	// identifier macsecd uses: one SAK, agreed between implementations.
	if out, id := kernelKeyIDs(t, pr.b), wpaKeyID(st.CurrentSA.KeyID); strings.Count(out, id) < 2 {
		t.Errorf("wpa_supplicant's kernel SAs do not both use key %s (%s as wpa_supplicant writes it):\n%s", st.CurrentSA.KeyID, id, out)
	}
}

// TestWPASupplicant secures a veth between macsecd (kernel backend) and
// wpa_supplicant 2.10 (-D macsec_linux, pre-shared CAK), with either as
// key server, and covers 128- and 256-bit CAKs and CKNs of 1, 16 and 32
// octets so that every pairing of key server, CAK length and CKN length
// occurs. GCM-AES-128 only: Debian's wpa_supplicant 2.10 cannot select
// another suite.
//
// The cases run one after another, not in parallel: tearing down one
// case's namespaces holds the kernel's rtnl lock for seconds under qemu
// TCG, and both MKA implementations read the SecY's next PN through
// rtnetlink before each MKPDU, so a parallel case's peers fall silent for
// longer than the MKA Life Time and rightly declare each other gone.
func TestWPASupplicant(t *testing.T) {
	labKernel(t)
	for _, tc := range []struct {
		name     string
		wpaKS    bool
		cak, ckn []byte
	}{
		{"macsecd-ks/cak128/ckn1", false, cak128, ckn1},
		{"macsecd-ks/cak256/ckn16", false, cak256, ckn16},
		{"macsecd-ks/cak128/ckn32", false, cak128, ckn32},
		{"wpa-ks/cak256/ckn1", true, cak256, ckn1},
		{"wpa-ks/cak128/ckn16", true, cak128, ckn16},
		{"wpa-ks/cak256/ckn32", true, cak256, ckn32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr := newPair(t)
			p := port{Backend: "kernel", Priority: ourServer, CAK: tc.cak, CKN: tc.ckn}
			w := testenv.WPASupplicant{CAK: tc.cak, CKN: tc.ckn, Priority: wpaDefault}
			ks, ksPrio := sciA, ourServer
			if tc.wpaKS {
				p.Priority, w.Priority = ourMember, wpaServer
				ks, ksPrio = sciB, wpaServer
			}
			n, _, _ := securedWithWPA(t, pr, p, w)
			bothWays(t, pr, 10)
			checkAgreement(t, pr, n, ks, ksPrio)
		})
	}
}

// TestWPASupplicantUserspace runs macsecd's userspace data plane (TAP and
// AF_PACKET, Go GCM-AES) against wpa_supplicant's kernel SecY: two data
// planes, two MKA implementations, one set of keys.
func TestWPASupplicantUserspace(t *testing.T) {
	labKernel(t)
	pr := newPair(t)
	n, _, _ := securedWithWPA(t, pr,
		port{Backend: "userspace", Priority: ourServer, CAK: cak128, CKN: ckn16},
		testenv.WPASupplicant{CAK: cak128, CKN: ckn16, Priority: wpaDefault})
	bothWays(t, pr, 10)
	checkAgreement(t, pr, n, sciA, ourServer)
	if st := n.status(); st.Backend != "userspace" {
		t.Errorf("backend %q (%s), want userspace", st.Backend, st.BackendReason)
	}
}

// TestWPASupplicantPeerLoss kills wpa_supplicant: macsecd must drop it
// within the MKA Life Time (6 s) and, under must-secure, pass no traffic at
// all, clear or protected; a restarted wpa_supplicant secures the link
// again.
func TestWPASupplicantPeerLoss(t *testing.T) {
	labKernel(t)
	const lifeTime = 6 * time.Second
	pr := newPair(t)
	p := port{Backend: "kernel", Priority: ourServer, CAK: cak128, CKN: ckn16}
	w := testenv.WPASupplicant{CAK: cak128, CKN: ckn16, Priority: wpaDefault}
	n, wpa, dev := securedWithWPA(t, pr, p, w)
	bothWays(t, pr, 5)

	// SIGKILL: wpa_supplicant says nothing more, as after a crash.
	wire := pr.b.Capture(t, "eth0", outFile(t, "wire-"+t.Name()+".pcap"))
	killed := time.Now()
	if err := wpa.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	st := n.status()
	waitFor(t, 3*lifeTime, "peer gone", func() bool {
		st = n.status()
		return len(st.MKA.LivePeers) == 0
	})
	gone := time.Since(killed)
	// The MKA Life Time runs from the last MKPDU heard, which the capture
	// and macsecd's log both time on the guest's clock.
	lastHeard := lastFrameFrom(t, pr.mka.File, macB)
	lost := n.logTime(`msg="peer lost"`)
	t.Logf("wpa_supplicant's last MKPDU %v before SIGKILL; macsecd dropped it %v after that MKPDU (%v after SIGKILL)",
		killed.Sub(lastHeard).Round(time.Millisecond), lost.Sub(lastHeard).Round(time.Millisecond), gone.Round(10*time.Millisecond))
	// The slack is for a timer firing late in a loaded qemu guest; seen:
	// 6 ms to 70 ms.
	if d := lost.Sub(lastHeard); d < lifeTime || d > lifeTime+time.Second {
		t.Errorf("peer dropped %v after its last MKPDU; the MKA Life Time is %v", d, lifeTime)
	}
	if st.Secured || st.ControlledPort || st.State == "insecure" {
		t.Errorf("must-secure port after peer loss: secured %t, controlled port %t, state %s", st.Secured, st.ControlledPort, st.State)
	}
	// Nothing passes either way: b's kernel SecY still has the old SA, so
	// b -> a is protected traffic that a no longer accepts; a sends nothing.
	if _, r := ping(t, pr.a, addrB, 5, "0.2"); r != 0 {
		t.Errorf("a -> b: %d echoes answered with the peer gone under must-secure", r)
	}
	if _, r := ping(t, pr.b, addrA, 5, "0.2"); r != 0 {
		t.Errorf("b -> a: %d echoes answered with the peer gone under must-secure", r)
	}
	frames, err := wire.Frames()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		if len(f) < 14 || !bytes.Equal(f[6:12], macA) {
			continue
		}
		if et := binary.BigEndian.Uint16(f[12:]); et != mkpdu.EtherTypeEAPOL && et != macsec.EtherType {
			t.Errorf("a sent a frame that is neither an MKPDU nor MACsec while not secured: % x", f[:min(len(f), 34)])
		}
	}

	// wpa_supplicant killed by SIGKILL leaves its SecY behind, and the
	// kernel refuses a second SecY with the same SCI: remove it as an
	// operator (or a supervisor's ExecStartPre) would, then restart.
	pr.b.Run(t, "ip", "link", "del", dev)
	w.Start(t, pr.b, "eth0")
	n.waitSecured(120 * time.Second)
	dev = macsecLink(t, pr.b, 60*time.Second)
	address(t, pr.b, dev, addrB)
	bothWays(t, pr, 5)
	checkAgreement(t, pr, n, sciA, ourServer)
}

// TestWPASupplicantRekey has macsecd, as key server, replace the SAK by
// command and by its rekey interval while a ping flood runs through
// wpa_supplicant's kernel SecY: every echo must be answered.
func TestWPASupplicantRekey(t *testing.T) {
	labKernel(t)
	pr := newPair(t)
	n, _, _ := securedWithWPA(t, pr,
		port{Backend: "kernel", Priority: ourServer, CAK: cak128, CKN: ckn32, RekeyInterval: "6s"},
		testenv.WPASupplicant{CAK: cak128, CKN: ckn32, Priority: wpaDefault})
	bothWays(t, pr, 3)
	before := n.status()
	byCommand, byInterval := n.logCount(`reason="operator command"`), n.logCount(`msg="SAK distributed"[^\n]* reason="rekey interval"`)

	const count = 800 // 16 s at 50 echoes a second: spans two intervals
	done := flood(pr.a, addrB, count, "0.02")
	time.Sleep(3 * time.Second)
	if code, out := n.ctl("rekey", "lan"); code != 0 {
		t.Errorf("macsecctl rekey: exit %d: %s", code, out)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	sent, recv := r.sent, r.recv
	t.Logf("ping flood across rekeys: %d sent, %d answered", sent, recv)
	if sent != count || recv != sent {
		t.Errorf("ping flood across rekeys: %d of %d answered, want no loss", recv, sent)
	}
	if got := n.logCount(`msg="SAK distributed"[^\n]* reason="operator command"`) - byCommand; got < 1 {
		t.Errorf("%d SAKs distributed by command during the flood", got)
	}
	if got := n.logCount(`msg="SAK distributed"[^\n]* reason="rekey interval"`) - byInterval; got < 1 {
		t.Errorf("%d SAKs distributed by interval during the flood", got)
	}
	after := n.status()
	if after.CurrentSA == nil || after.CurrentSA.KeyID == before.CurrentSA.KeyID || after.MKA.RekeyCount < before.MKA.RekeyCount+2 {
		t.Errorf("rekeys: count %d -> %d, key %s -> %+v", before.MKA.RekeyCount, after.MKA.RekeyCount, before.CurrentSA.KeyID, after.CurrentSA)
	}
	checkAgreement(t, pr, n, sciA, ourServer)
}

// TestWPASupplicantPNExhaustion starts every transmit SA of macsecd (key
// server) near the PN exhaustion threshold, which is set close to the end
// of the 32-bit PN space; a ping flood through wpa_supplicant's kernel SecY
// drives the PN over it again and again. Each time macsecd must distribute
// a new SAK and switch to it before the PN runs out, without losing an
// echo; the capture shows the PNs and ANs actually sent.
func TestWPASupplicantPNExhaustion(t *testing.T) {
	labKernel(t)
	const (
		threshold = 0xfffff000 // 4096 frames before 2^32-1, the last PN
		initialPN = threshold - 300
		count     = 1000 // 20 s at 50 echoes a second: three SAs at least
	)
	pr := newPair(t)
	n, _, _ := securedWithWPA(t, pr,
		port{Backend: "kernel", Priority: ourServer, CAK: cak256, CKN: ckn16, InitialPN: initialPN, PNThreshold: threshold},
		testenv.WPASupplicant{CAK: cak256, CKN: ckn16, Priority: wpaDefault})
	bothWays(t, pr, 3)
	exhausted := n.logCount(`msg="SAK distributed"[^\n]* reason=pn-exhaustion`)

	wire := pr.b.Capture(t, "eth0", outFile(t, "wire-"+t.Name()+".pcap"), "ether", "src", macA.String(), "and", "ether", "proto", "0x88e5")
	r := <-flood(pr.a, addrB, count, "0.02")
	if r.err != nil {
		t.Fatal(r.err)
	}
	sent, recv := r.sent, r.recv
	t.Logf("ping flood across PN exhaustion: %d sent, %d answered", sent, recv)
	if sent != count || recv != sent {
		t.Errorf("ping flood across PN exhaustion: %d of %d answered, want no loss", recv, sent)
	}
	if got := n.logCount(`msg="SAK distributed"[^\n]* reason=pn-exhaustion`) - exhausted; got < 2 {
		t.Errorf("%d SAKs distributed for PN exhaustion during the flood, want 2 or more", got)
	}
	frames, err := wire.Frames()
	if err != nil {
		t.Fatal(err)
	}
	tags := macsecFrames(frames)
	var ans []uint8
	var maxPN uint32
	for _, tag := range tags {
		if tag.pn < initialPN {
			t.Fatalf("a sent PN %#x, below testing.initial_pn %#x", tag.pn, initialPN)
		}
		maxPN = max(maxPN, tag.pn)
		if len(ans) == 0 || ans[len(ans)-1] != tag.an {
			ans = append(ans, tag.an)
		}
	}
	t.Logf("%d MACsec frames from macsecd, highest PN %#x, ANs in order %v", len(tags), maxPN, ans)
	if len(tags) < count {
		t.Errorf("captured %d MACsec frames from macsecd, want at least %d", len(tags), count)
	}
	// The PN never came near running out: the switch to a new SA happened
	// within a few hellos of crossing the threshold.
	if maxPN >= threshold+0x800 {
		t.Errorf("highest PN sent %#x: the rekey came %d frames after the threshold %#x", maxPN, maxPN-threshold, threshold)
	}
	if len(ans) < 3 {
		t.Errorf("ANs used in order %v: want at least three SAs during the flood", ans)
	}
	for i := 1; i < len(ans); i++ {
		if ans[i] != (ans[i-1]+1)%4 {
			t.Errorf("ANs used in order %v: each new SA takes the next AN", ans)
			break
		}
	}
	checkAgreement(t, pr, n, sciA, ourServer)
}

// TestSuitesKernelUserspace covers the suites wpa_supplicant 2.10 cannot
// select, macsecd against macsecd: the kernel backend (key server) on a and
// the userspace backend on b. The XPN SAs start just below 2^32 so that the
// traffic carries the PN over the 32-bit boundary in both data planes.
func TestSuitesKernelUserspace(t *testing.T) {
	labKernel(t)
	for _, suite := range []string{"GCM-AES-256", "GCM-AES-XPN-128", "GCM-AES-XPN-256"} {
		t.Run(suite, func(t *testing.T) {
			pr := newPairCapture(t, "a") // b runs the userspace backend

			xpn := strings.Contains(suite, "XPN")
			var initial uint64
			if xpn {
				initial = 1<<32 - 8
			}
			na := port{Backend: "kernel", CipherSuite: suite, Priority: 10, CAK: cak256, CKN: ckn32, InitialPN: initial}.start(t, pr.a)
			nb := port{Backend: "userspace", CipherSuite: suite, Priority: 20, CAK: cak256, CKN: ckn32, InitialPN: initial}.start(t, pr.b)
			na.waitSecured(120 * time.Second)
			nb.waitSecured(120 * time.Second)
			address(t, pr.a, "macsec0", addrA)
			address(t, pr.b, "macsec0", addrB)
			bothWays(t, pr, 10)
			sa, sb := na.status(), nb.status()
			if sa.Backend != "kernel" || sb.Backend != "userspace" || sa.CipherSuite != suite || sb.CipherSuite != suite {
				t.Errorf("a: %s %s, b: %s %s; want kernel and userspace on %s", sa.Backend, sa.CipherSuite, sb.Backend, sb.CipherSuite, suite)
			}
			if sa.CurrentSA == nil || sb.CurrentSA == nil || sa.CurrentSA.KeyID != sb.CurrentSA.KeyID || !sa.MKA.KeyServer.Self {
				t.Fatalf("SAs: a %+v, b %+v", sa.CurrentSA, sb.CurrentSA)
			}
			if xpn {
				for _, s := range []struct {
					name string
					pn   uint64
				}{{"a (kernel)", sa.CurrentSA.NextPN}, {"b (userspace)", sb.CurrentSA.NextPN}} {
					if s.pn <= 1<<32 {
						t.Errorf("%s next PN %#x: traffic did not carry the XPN over 2^32", s.name, s.pn)
					}
				}
			}
			t.Logf("%s: a next PN %#x, b next PN %#x, a InPktsOK %d, b InPktsOK %d", suite,
				sa.CurrentSA.NextPN, sb.CurrentSA.NextPN, sa.Counters.InPktsOK, sb.Counters.InPktsOK)
			if sa.Counters.InPktsOK < 20 || sb.Counters.InPktsOK < 20 {
				t.Errorf("InPktsOK: a %d, b %d; want the echoes counted", sa.Counters.InPktsOK, sb.Counters.InPktsOK)
			}
		})
	}
}
