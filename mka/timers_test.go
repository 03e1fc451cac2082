package mka

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/macsecd/macsecd/macsec/secytest"
)

// Non-default timers of these tests: a point-to-point link tuned for
// faster failure detection.
const (
	fastHello   = time.Second
	fastBounded = 250 * time.Millisecond
	fastLife    = 3 * time.Second
)

func fastConfig(i int) Config {
	c := baseConfig(i)
	c.HelloTime, c.BoundedHelloTime, c.LifeTime = fastHello, fastBounded, fastLife
	return c
}

func TestTimerDefaultsAndValidation(t *testing.T) {
	nop := TransportFunc(func([]byte) error { return nil })
	newKaY := func(hello, bounded, life time.Duration) (*KaY, error) {
		c := baseConfig(0)
		c.HelloTime, c.BoundedHelloTime, c.LifeTime = hello, bounded, life
		return New(c, secytest.New(c.SCI), nop, zeroReader{}, nil)
	}
	for _, tc := range []struct {
		name                 string
		hello, bounded, life time.Duration
		want                 [3]time.Duration
	}{
		{"defaults", 0, 0, 0, [3]time.Duration{2 * time.Second, 500 * time.Millisecond, 6 * time.Second}},
		{"fast", fastHello, fastBounded, fastLife, [3]time.Duration{fastHello, fastBounded, fastLife}},
		{"slow WAN", 10 * time.Second, 0, 30 * time.Second, [3]time.Duration{10 * time.Second, 500 * time.Millisecond, 30 * time.Second}},
		{"bounded follows a short hello", 300 * time.Millisecond, 0, 0, [3]time.Duration{300 * time.Millisecond, 300 * time.Millisecond, 6 * time.Second}},
		{"life just over twice hello", 2999 * time.Millisecond, 0, 0, [3]time.Duration{2999 * time.Millisecond, 500 * time.Millisecond, 6 * time.Second}},
		{"bounded equal to hello", time.Second, time.Second, 2001 * time.Millisecond, [3]time.Duration{time.Second, time.Second, 2001 * time.Millisecond}},
	} {
		k, err := newKaY(tc.hello, tc.bounded, tc.life)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := [3]time.Duration{k.cfg.HelloTime, k.cfg.BoundedHelloTime, k.cfg.LifeTime}; got != tc.want {
			t.Errorf("%s: timers %v, want %v", tc.name, got, tc.want)
		}
	}
	for _, tc := range []struct {
		name                 string
		hello, bounded, life time.Duration
		timer, reason        string
	}{
		{"negative hello", -time.Second, 0, 0, "HelloTime", "Hello Time -1s is not positive"},
		{"negative bounded", 0, -time.Millisecond, 0, "BoundedHelloTime", "Bounded Hello Time -1ms is not positive"},
		{"negative life", 0, 0, -time.Second, "LifeTime", "Life Time -1s is not more than twice the Hello Time 2s"},
		{"bounded above hello", time.Second, 2 * time.Second, 0, "BoundedHelloTime", "Bounded Hello Time 2s is longer than the Hello Time 1s"},
		{"default bounded above hello is fine, explicit is not", 100 * time.Millisecond, 500 * time.Millisecond, 0, "BoundedHelloTime", "longer than the Hello Time 100ms"},
		{"life below twice hello", time.Second, 0, 1999 * time.Millisecond, "LifeTime", "Life Time 1.999s is not more than twice the Hello Time 1s"},
		{"life exactly twice hello", 3 * time.Second, 0, 0, "LifeTime", "Life Time 6s is not more than twice the Hello Time 3s: a single lost MKPDU"},
		{"default life with slow hello", 4 * time.Second, 0, 0, "LifeTime", "Life Time 6s is not more than twice the Hello Time 4s"},
		{"life equal to hello", 2 * time.Second, 0, 2 * time.Second, "LifeTime", "two or more"},
	} {
		_, err := newKaY(tc.hello, tc.bounded, tc.life)
		var te *TimerError
		if !errors.As(err, &te) {
			t.Errorf("%s: error %v, want a *TimerError", tc.name, err)
			continue
		}
		if te.Timer != tc.timer || !strings.Contains(te.Reason, tc.reason) {
			t.Errorf("%s: %v, want timer %s and reason containing %q", tc.name, err, tc.timer, tc.reason)
		}
		if !strings.HasPrefix(err.Error(), "mka: config: "+tc.timer+": ") {
			t.Errorf("%s: error %q does not name the field", tc.name, err)
		}
	}
}

// sendLog records when each node sent an MKPDU (virtual time), through
// the simulation's drop hook (one call per receiver; a two-node LAN has
// one receiver per MKPDU).
func sendLog(n *simNet) map[*simNode][]time.Time {
	log := map[*simNode][]time.Time{}
	prev := n.drop
	n.drop = func(from, to *simNode, frame []byte) bool {
		log[from] = append(log[from], n.now)
		return prev != nil && prev(from, to, frame)
	}
	return log
}

// gaps returns the intervals between the sends at or after from.
func gaps(sends []time.Time, from time.Time) []time.Duration {
	var g []time.Duration
	var last time.Time
	for _, s := range sends {
		if s.Before(from) {
			continue
		}
		if !last.IsZero() {
			g = append(g, s.Sub(last))
		}
		last = s
	}
	return g
}

// checkPeriod checks that every interval between the sends at or after
// from is want.
func checkPeriod(t *testing.T, what string, sends []time.Time, from time.Time, want time.Duration) {
	t.Helper()
	for i, d := range gaps(sends, from) {
		if d != want {
			t.Errorf("%s: interval %d is %v, want %v", what, i, d, want)
		}
	}
}

// securedPair starts a and b with ca and cb on a fresh LAN, waits until
// they are secured and then past the bounded hellos of the first SAK.
func securedPair(t *testing.T, seed uint64, ca, cb Config) (*simNet, map[*simNode][]time.Time, *simNode, *simNode) {
	t.Helper()
	n := newSimNet(t, seed)
	sends := sendLog(n)
	a, b := n.add("a", ca), n.add("b", cb)
	if !n.runUntil(t0.Add(10*time.Second), n.secured) {
		t.Fatal("not secured")
	}
	n.run(5 * time.Second)
	return n, sends, a, b
}

// checkRemoval runs until a has no peer left and checks that this is
// between life and life plus hello after last, b's last MKPDU.
func checkRemoval(t *testing.T, n *simNet, a *simNode, last time.Time, life, hello time.Duration) {
	t.Helper()
	if !n.runUntil(n.now.Add(10*time.Second), func() bool { return len(a.k.Status().Participants[0].Peers) == 0 }) {
		t.Fatal("b still a peer 10 s after it fell silent")
	}
	if d := n.now.Sub(last); d < life || d > life+hello {
		t.Errorf("b removed %v after its last MKPDU, want %v to %v", d, life, life+hello)
	}
}

// In steady state MKPDUs leave at the configured Hello Time, not the
// default.
func TestConfiguredHelloPeriod(t *testing.T) {
	n, sends, a, b := securedPair(t, 21, fastConfig(0), fastConfig(1))
	from := n.now
	n.run(20 * time.Second)
	for _, nd := range []*simNode{a, b} {
		g := gaps(sends[nd], from)
		if len(g) < 19 || len(g) > 21 {
			t.Errorf("%s: %d MKPDU intervals in 20 s, want 20 at a Hello Time of %v", nd.name, len(g), fastHello)
		}
		checkPeriod(t, nd.name, sends[nd], from, fastHello)
		if st := nd.k.Status(); !st.Secured || st.RekeyCount > 1 {
			t.Errorf("%s: steady state lost: %+v", nd.name, st)
		}
		checkCalls(t, nd)
	}
}

// While a SAK is being taken into use, the key server sends at the
// configured Bounded Hello Time; afterwards it returns to the Hello Time.
func TestConfiguredBoundedHello(t *testing.T) {
	n, sends, a, b := securedPair(t, 22, fastConfig(0), fastConfig(1))
	if keyServerOf(b) != a.cfg.SCI.String() {
		t.Fatalf("key server %q, want a", keyServerOf(b))
	}
	// b goes deaf for less than a Life Time: a's new SAK is not reported
	// as received, so a keeps distributing it at the bounded hello.
	deaf := true
	prev := n.drop
	n.drop = func(from, to *simNode, frame []byte) bool {
		return prev(from, to, frame) || (deaf && to == b)
	}
	oldKey, _ := a.txKey()
	if err := a.k.Rekey(n.now, "test"); err != nil {
		t.Fatal(err)
	}
	start := n.now
	n.run(2 * time.Second)
	g := gaps(sends[a], start)
	if len(g) < 2*int(time.Second/fastBounded)-1 {
		t.Errorf("a sent %d MKPDUs in 2 s while distributing, want one per %v", len(g)+1, fastBounded)
	}
	for i, d := range g {
		if d > fastBounded {
			t.Errorf("interval %d while the SAK is distributed: %v, want at most %v", i, d, fastBounded)
		}
	}
	deaf = false
	if !n.runUntil(n.now.Add(5*time.Second), func() bool {
		id, _ := a.txKey()
		st := a.k.Status()
		return id != oldKey && n.secured() && st.Previous == nil
	}) {
		t.Fatalf("new SAK not taken into use\n%s", dumpCalls(a))
	}
	n.run(2 * time.Second) // the retirement's own MKPDUs
	from := n.now
	n.run(5 * time.Second)
	checkPeriod(t, "after the key change", sends[a], from, fastHello)
	for _, nd := range []*simNode{a, b} {
		checkCalls(t, nd)
	}
}

// A peer that goes silent is removed between the configured Life Time and
// the Life Time plus one Hello Time after its last MKPDU, and the SAs go
// with it.
func TestConfiguredLifeTime(t *testing.T) {
	for _, pol := range []SecurePolicy{ShouldSecure, MustSecure} {
		ca, cb := fastConfig(0), fastConfig(1)
		ca.Policy, cb.Policy = pol, pol
		n, sends, a, b := securedPair(t, 23, ca, cb)
		n.run(500 * time.Millisecond) // b's last MKPDU falls between a's hellos
		b.down()
		checkRemoval(t, n, a, sends[b][len(sends[b])-1], fastLife, fastHello)
		st := a.k.Status()
		if st.Secured || st.Current != nil || st.KeyServer != nil {
			t.Errorf("%s: a still secured without its peer: %+v", pol, st)
		}
		if _, ok := a.rec.RxKeyIDs()[b.cfg.SCI]; ok {
			t.Errorf("%s: a kept a receive SC for b", pol)
		}
		checkCalls(t, a)
	}
}

// SetTimers retunes a secured KaY without disturbing it: no SecY call, no
// new SAK, the same peers; the new Hello Time and Life Time apply from then
// on. An invalid set changes nothing.
func TestSetTimersLive(t *testing.T) {
	n, sends, a, b := securedPair(t, 24, baseConfig(0), baseConfig(1))
	key, _ := a.txKey()
	before := map[*simNode]int{a: len(ops(a.rec.Calls())), b: len(ops(b.rec.Calls()))}
	var te *TimerError
	if err := a.k.SetTimers(n.now, time.Second, 0, 1500*time.Millisecond); !errors.As(err, &te) || te.Timer != "LifeTime" {
		t.Fatalf("SetTimers with a Life Time under twice the Hello Time: %v, want a LifeTime *TimerError", err)
	}
	from := n.now
	n.run(10 * time.Second)
	checkPeriod(t, "after a rejected SetTimers", sends[a], from, HelloTime)
	if got, want := a.k.Status().Timers, (Timers{HelloTime, BoundedHelloTime, LifeTime}); got != want {
		t.Errorf("timers after a rejected SetTimers: %+v, want %+v", got, want)
	}
	for _, nd := range []*simNode{a, b} {
		if err := nd.k.SetTimers(n.now, fastHello, fastBounded, fastLife); err != nil {
			t.Fatal(err)
		}
		if got, want := nd.k.Status().Timers, (Timers{fastHello, fastBounded, fastLife}); got != want {
			t.Errorf("%s: Status().Timers %+v, want %+v", nd.name, got, want)
		}
	}
	from = n.now
	n.run(10 * time.Second)
	for _, nd := range []*simNode{a, b} {
		if first := gaps(append([]time.Time{from}, sends[nd]...), from)[0]; first > fastHello {
			t.Errorf("%s: first MKPDU %v after SetTimers, want within the new Hello Time %v", nd.name, first, fastHello)
		}
		g := gaps(sends[nd], from)
		if len(g) < 8 {
			t.Errorf("%s: %d MKPDU intervals in 10 s after SetTimers, want about 10", nd.name, len(g))
		}
		for i, d := range g {
			if d > fastHello || (i > 0 && d != fastHello) {
				t.Errorf("%s: interval %d after SetTimers is %v, want %v", nd.name, i, d, fastHello)
			}
		}
		if got := len(ops(nd.rec.Calls())); got != before[nd] {
			t.Errorf("%s: SetTimers caused SecY calls: %v", nd.name, ops(nd.rec.Calls())[before[nd]:])
		}
		if id, _ := nd.txKey(); id != key || !n.secured() {
			t.Errorf("%s: key %s after SetTimers, want %s and secured", nd.name, id, key)
		}
		checkCalls(t, nd)
	}
	b.down()
	last := sends[b][len(sends[b])-1]
	checkRemoval(t, n, a, last, fastLife, fastHello)
}

// A Life Time shortened by SetTimers applies to a peer heard before the
// change: it expires the new Life Time after its last MKPDU.
func TestSetTimersShortensPeerLife(t *testing.T) {
	n, sends, a, b := securedPair(t, 25, baseConfig(0), baseConfig(1))
	b.down()
	last := sends[b][len(sends[b])-1]
	n.run(100 * time.Millisecond) // b's last MKPDU arrives under the old Life Time
	if err := a.k.SetTimers(n.now, fastHello, fastBounded, fastLife); err != nil {
		t.Fatal(err)
	}
	checkRemoval(t, n, a, last, fastLife, fastHello)
}
