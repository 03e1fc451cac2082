package userspace_test

import (
	"strings"
	"testing"
	"time"

	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/userspace"
)

// TestFaults takes the link through the failures an operator meets: the
// peer disappears and comes back with new SAs (installed the way MKA
// rotates keys), the TAP is deleted, the parent goes down and up. The
// backend reports each state, recovers where it can, and the wire never
// carries a clear frame.
func TestFaults(t *testing.T) {
	cs := macsec.GCMAES128
	p := newPair(t, cs, strictPolicy(cs))
	// b's capture sees everything a sends (a's own taps do not see
	// frames sent with PACKET_QDISC_BYPASS); the faults happen on a.
	pcap := p.capture(t, p.b, "eth0")
	ping(t, p.a, p.ipB)

	// The peer disappears: nothing gets through, a keeps protecting.
	if err := p.bb.Close(); err != nil {
		t.Fatal(err)
	}
	noPing(t, p, "peer gone")

	// The peer returns with a new SAK on AN 1; a rotates to it as MKA
	// would: receive SA first, then the transmit SA, then the old SAs go.
	newA, newB := testKey(cs, 0xa1), testKey(cs, 0xb1)
	p.bb = p.start(t, p.b, p.tapB, p.ipB, newB, newA, p.sciA, 2, 1, 1)
	if err := p.a.Do(func() error {
		if err := installSAs(p.ba, cs, 1, newA, newB, p.sciB, 1, 2); err != nil {
			return err
		}
		for _, f := range []func() error{
			func() error { return p.ba.DisableRxSA(p.sciB, 0) },
			func() error { return p.ba.DeleteRxSA(p.sciB, 0) },
			func() error { return p.ba.DisableTxSA(0) },
			func() error { return p.ba.DeleteTxSA(0) },
		} {
			if err := f(); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ping(t, p.a, p.ipB)

	// An operator deletes a's TAP: the backend reports it, recreates it
	// and puts back the operator's addresses and static routes.
	for _, cmd := range [][]string{
		{"ip", "addr", "add", "fd00:77::1/64", "dev", p.tapA, "nodad"},
		{"ip", "route", "add", "10.99.0.0/24", "via", p.ipB, "dev", p.tapA},
	} {
		if out, err := p.a.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", cmd, err, out)
		}
	}
	time.Sleep(600 * time.Millisecond) // the supervisor looks every 200 ms
	if out, err := p.a.Command("ip", "link", "del", p.tapA).CombinedOutput(); err != nil {
		t.Fatalf("ip link del: %v\n%s", err, out)
	}
	st := waitState(t, p.ba, "TAP recreated", func(s userspace.State) bool { return s.TAPRecreated == 1 && s.TAPPresent })
	if !strings.Contains(st.LastError, "TAP") {
		t.Errorf("LastError %q does not name the TAP", st.LastError)
	}
	if st.TAPRestored != 3 {
		t.Errorf("TAPRestored %d, want 3 (two addresses and a route)", st.TAPRestored)
	}
	for _, c := range []struct{ args, want string }{
		{"-4 addr show dev " + p.tapA, p.ipA + "/24"},
		{"-6 addr show dev " + p.tapA, "fd00:77::1/64"},
		{"route show 10.99.0.0/24", "via " + p.ipB + " dev " + p.tapA},
	} {
		out, err := p.a.Command("ip", strings.Fields(c.args)...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), c.want) {
			t.Errorf("ip %s after recreation: %v\n%s\nwant %q", c.args, err, out, c.want)
		}
	}
	ping(t, p.a, p.ipB)

	// The parent goes down and up.
	if out, err := p.a.Command("ip", "link", "set", "eth0", "down").CombinedOutput(); err != nil {
		t.Fatalf("ip link set down: %v\n%s", err, out)
	}
	waitState(t, p.ba, "parent down", func(s userspace.State) bool { return !s.ParentUp && s.ParentDownEvents >= 1 })
	noPing(t, p, "parent down")
	if out, err := p.a.Command("ip", "link", "set", "eth0", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link set up: %v\n%s", err, out)
	}
	waitState(t, p.ba, "parent up", func(s userspace.State) bool { return s.ParentUp })
	ping(t, p.a, p.ipB)
	ping(t, p.b, p.ipA)

	assertOnlyMACsec(t, pcap.stop(t))
}

func noPing(t *testing.T, p *pair, why string) {
	t.Helper()
	if out, err := p.a.Command("ping", "-c", "2", "-i", "0.2", "-W", "1", p.ipB).CombinedOutput(); err == nil {
		t.Fatalf("%s: ping succeeded:\n%s", why, out)
	}
}

func waitState(t *testing.T, be *userspace.Backend, what string, ok func(userspace.State) bool) userspace.State {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := be.State()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: state not reached: %+v", what, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
