package mka

import (
	"bytes"
	"container/heap"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/macsec/secytest"
	"github.com/macsecd/macsecd/mka/keys"
	"github.com/macsecd/macsecd/mka/mkpdu"
)

// The simulation: KaYs on a virtual LAN with a virtual clock. Frames are
// delivered after 1 ms plus optional jitter (which reorders them), each
// copy dropped with probability loss. Everything is seeded: a failing run
// repeats exactly.

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type delivery struct {
	at    time.Time
	seq   int
	to    *simNode
	frame []byte
}

type simNet struct {
	t      testing.TB
	now    time.Time
	rng    *rand.Rand
	loss   float64
	jitter time.Duration
	nodes  []*simNode
	queue  deliveries // min-heap on (at, seq)
	seq    int
	// drop, if set, drops a frame from one node to another.
	drop func(from, to *simNode, frame []byte) bool
}

type simNode struct {
	net  *simNet
	name string
	cfg  Config
	k    *KaY
	rec  *secytest.Recorder
	up   bool
	sent [][]byte  // every MKPDU sent, for replay tests
	next time.Time // cached NextTick
	keys map[macsec.KeyID][]byte
}

func newSimNet(t testing.TB, seed uint64) *simNet {
	return &simNet{t: t, now: t0, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

var (
	testCKN  = []byte{0x96, 0x43, 0x7a, 0x93, 0xcc, 0xf1, 0x0d, 0x9d, 0xfe, 0x34, 0x78, 0x46, 0xcc, 0xe5, 0x2c, 0x7d}
	testCAK  = []byte{0x13, 0x5b, 0xd7, 0x58, 0xb0, 0xee, 0x5c, 0x11, 0xc5, 0x5f, 0xf6, 0xab, 0x19, 0xfd, 0xb1, 0x99}
	otherCAK = []byte{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10}
)

// baseConfig is the configuration of node i: SCI 02:00:00:00:00:i+1/1.
func baseConfig(i int) Config {
	return Config{
		SCI:      macsec.SCIFromUint64(0x0200000000000001 | uint64(i+1)<<16),
		Keys:     []Key{{CKN: testCKN, CAK: testCAK}},
		Priority: 16,
	}
}

// add starts a node with cfg.
func (n *simNet) add(name string, cfg Config) *simNode {
	n.t.Helper()
	nd := &simNode{net: n, name: name, cfg: cfg}
	n.nodes = append(n.nodes, nd)
	nd.boot()
	return nd
}

// boot (re)starts the node: a fresh SecY and KaY, as after a reboot.
func (nd *simNode) boot() {
	n := nd.net
	nd.up = true
	nd.rec = secytest.New(nd.cfg.SCI)
	nd.keys = map[macsec.KeyID][]byte{}
	nd.rec.OnKey = func(op secytest.Op, sci macsec.SCI, an macsec.AN, key *macsec.SAK) {
		if prev, ok := nd.keys[key.ID]; ok && !bytes.Equal(prev, key.Key) {
			n.t.Errorf("%s: key %s installed with two different values", nd.name, key.ID)
		}
		nd.keys[key.ID] = slices.Clone(key.Key)
	}
	rnd := rand.NewChaCha8([32]byte{byte(len(n.nodes)), 0xAA, byte(n.rng.Uint32())})
	k, err := New(nd.cfg, nd.rec, TransportFunc(nd.send), rnd, nil)
	if err != nil {
		n.t.Fatalf("New(%s): %v", nd.name, err)
	}
	nd.k = k
}

func (nd *simNode) send(frame []byte) error {
	n := nd.net
	nd.sent = append(nd.sent, slices.Clone(frame))
	for _, to := range n.nodes {
		if to == nd || !to.up {
			continue
		}
		if n.loss > 0 && n.rng.Float64() < n.loss {
			continue
		}
		if n.drop != nil && n.drop(nd, to, frame) {
			continue
		}
		d := time.Millisecond
		if n.jitter > 0 {
			d += time.Duration(n.rng.Int64N(int64(n.jitter)))
		}
		n.seq++
		heap.Push(&n.queue, delivery{at: n.now.Add(d), seq: n.seq, to: to, frame: slices.Clone(frame)})
	}
	return nil
}

// run advances virtual time by d, delivering frames and ticking nodes.
func (n *simNet) run(d time.Duration) { n.runUntil(n.now.Add(d), nil) }

// runUntil advances virtual time to end, or until cond holds (checked
// after every event); it reports whether cond held.
func (n *simNet) runUntil(end time.Time, cond func() bool) bool {
	// Each node's NextTick, refreshed whenever the node handles an event
	// (recomputing it for every node at every event costs O(n²)).
	for _, nd := range n.nodes {
		nd.next = nd.k.NextTick()
	}
	for {
		if cond != nil && cond() {
			return true
		}
		next := end
		if len(n.queue) > 0 && n.queue[0].at.Before(next) {
			next = n.queue[0].at
		}
		for _, nd := range n.nodes {
			if !nd.up {
				continue
			}
			t := nd.next
			if t.IsZero() || !t.After(n.now) {
				t = n.now
			}
			if t.Before(next) {
				next = t
			}
		}
		if next.After(end) {
			n.now = end
			return cond != nil && cond()
		}
		prev := n.now
		n.now = next
		// Deliver due frames in (time, sequence) order.
		var due []delivery
		for len(n.queue) > 0 && !n.queue[0].at.After(n.now) {
			due = append(due, heap.Pop(&n.queue).(delivery))
		}
		for _, q := range due {
			if q.to.up {
				_ = q.to.k.HandleFrame(n.now, q.frame)
				q.to.next = q.to.k.NextTick()
			}
		}
		progress := len(due) > 0
		for _, nd := range n.nodes {
			if nd.up && (nd.next.IsZero() || !nd.next.After(n.now)) {
				nd.k.Tick(n.now)
				nd.next = nd.k.NextTick()
				progress = progress || nd.next.After(n.now)
			}
		}
		// Guarantee progress if a node keeps asking for a tick now.
		if !progress && n.now.Equal(prev) {
			if n.now = n.now.Add(time.Millisecond); n.now.After(end) {
				n.now = end
				return cond != nil && cond()
			}
		}
	}
}

func (nd *simNode) down() { nd.up = false }

type deliveries []delivery

func (d deliveries) Len() int { return len(d) }
func (d deliveries) Less(i, j int) bool {
	if c := d[i].at.Compare(d[j].at); c != 0 {
		return c < 0
	}
	return d[i].seq < d[j].seq
}
func (d deliveries) Swap(i, j int) { d[i], d[j] = d[j], d[i] }
func (d *deliveries) Push(x any)   { *d = append(*d, x.(delivery)) }
func (d *deliveries) Pop() any {
	old := *d
	x := old[len(old)-1]
	*d = old[:len(old)-1]
	return x
}

// txKey is the key identifier of the node's encoding SA.
func (nd *simNode) txKey() (macsec.KeyID, bool) { return nd.rec.TxKeyID() }

// secured reports whether every up node transmits with one key and
// receives with it from every other up node, and the keys installed
// under that identifier are equal on all of them.
func (n *simNet) secured() bool {
	var id macsec.KeyID
	var key []byte
	up := n.upNodes()
	for i, nd := range up {
		tid, ok := nd.txKey()
		if !ok || !nd.k.secured {
			return false
		}
		if i == 0 {
			id, key = tid, nd.keys[tid]
		} else if tid != id || !bytes.Equal(nd.keys[tid], key) {
			return false
		}
		rx := nd.rec.RxKeyIDs()
		for _, other := range up {
			if other == nd {
				continue
			}
			ids, ok := rx[other.cfg.SCI]
			if !ok || !slices.Contains(ids[:], id) {
				return false
			}
		}
		if len(rx) != len(up)-1 {
			return false
		}
	}
	return len(up) > 1
}

func (n *simNet) upNodes() []*simNode {
	var up []*simNode
	for _, nd := range n.nodes {
		if nd.up {
			up = append(up, nd)
		}
	}
	return up
}

// checkCalls fails the test if any SecY call failed (the Recorder rejects
// sequences a SecY would refuse) or, under must-secure, if the controlled
// port was ever enabled while frames could pass unprotected.
func checkCalls(t testing.TB, nd *simNode) {
	t.Helper()
	for i, c := range nd.rec.Calls() {
		if c.Err != nil {
			t.Errorf("%s: SecY call %d failed: %v", nd.name, i, c)
		}
		if nd.cfg.Policy == MustSecure && c.PortEnabled && (!c.ProtectFrames || c.Validate != macsec.ValidateStrict || !c.Encoding) {
			t.Errorf("%s: must-secure exposed after call %d %v: protect=%t validate=%s encoding=%t", nd.name, i, c, c.ProtectFrames, c.Validate, c.Encoding)
		}
	}
	if st := nd.k.Status(); st.Counters.SecYErrors != 0 {
		t.Errorf("%s: %d SecY errors", nd.name, st.Counters.SecYErrors)
	}
}

// ops renders calls compactly, leaving out TxNextPN polls.
func ops(calls []secytest.Call) []string {
	var s []string
	for _, c := range calls {
		if c.Op == secytest.OpTxNextPN {
			continue
		}
		s = append(s, c.String())
	}
	return s
}

func dumpCalls(nd *simNode) string {
	var b bytes.Buffer
	for i, c := range nd.rec.Calls() {
		if c.Op != secytest.OpTxNextPN {
			fmt.Fprintf(&b, "  %3d %v\n", i, c)
		}
	}
	return b.String()
}

func keyServerOf(nd *simNode) string {
	st := nd.k.Status()
	if st.KeyServer == nil {
		return ""
	}
	return st.KeyServer.SCI
}

// mkaKI returns the MKA key identifier for a SecY key identifier.
func mkaKI(id macsec.KeyID) mkpdu.KI {
	var ki mkpdu.KI
	copy(ki.MI[:], id[:12])
	ki.KN = uint32(id[12])<<24 | uint32(id[13])<<16 | uint32(id[14])<<8 | uint32(id[15])
	return ki
}

func keysICK(cak, ckn []byte) ([]byte, error) { return keys.ICK(cak, ckn) }
