package afpacket_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/macsecd/macsecd/testenv"
	"github.com/macsecd/macsecd/userspace/afpacket"
)

// etherTypeTest is a local experimental EtherType: nothing else on the
// veth sends it.
const etherTypeTest = 0x88b5

// pair is a veth between two namespaces with a socket on each end.
type pair struct {
	a, b     *testenv.Host
	ifA, ifB *net.Interface
}

func newPair(t *testing.T) *pair {
	testenv.RequireRoot(t)
	lab := testenv.New(t)
	p := &pair{a: lab.Host("a"), b: lab.Host("b")}
	lab.Veth(p.a, "eth0", p.b, "eth0")
	for _, h := range []struct {
		host *testenv.Host
		ifi  **net.Interface
	}{{p.a, &p.ifA}, {p.b, &p.ifB}} {
		if err := h.host.Do(func() (err error) {
			*h.ifi, err = net.InterfaceByName("eth0")
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func (p *pair) listen(t *testing.T, h *testenv.Host, ifi *net.Interface, cfg afpacket.Config) *afpacket.Conn {
	t.Helper()
	var c *afpacket.Conn
	if err := h.Do(func() (err error) {
		c, err = afpacket.Listen(ifi, cfg)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// testFrame is frame number i, of size octets, from src.
func testFrame(src net.HardwareAddr, i, size int) []byte {
	f := make([]byte, size)
	copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(f[6:], src)
	binary.BigEndian.PutUint16(f[12:], etherTypeTest)
	binary.BigEndian.PutUint32(f[14:], uint32(i))
	for j := 18; j < size; j++ {
		f[j] = byte(i + j)
	}
	return f
}

// receive collects the test frames arriving on c until want of them came
// or the deadline passed.
func receive(t *testing.T, c *afpacket.Conn, want int, within time.Duration) [][]byte {
	t.Helper()
	bufs := make([][]byte, 64)
	sizes := make([]int, 64)
	for i := range bufs {
		bufs[i] = make([]byte, 2048)
	}
	var got [][]byte
	deadline := time.Now().Add(within)
	for len(got) < want && time.Now().Before(deadline) {
		n, err := c.TryRecv(bufs, sizes)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			time.Sleep(time.Millisecond)
		}
		for i := 0; i < n; i++ {
			f := bufs[i][:sizes[i]]
			if len(f) >= 18 && binary.BigEndian.Uint16(f[12:]) == etherTypeTest {
				got = append(got, bytes.Clone(f))
			}
		}
	}
	return got
}

// TestTxRing sends frames built in the ring's slots (the zero-copy path),
// frames put from elsewhere (copied), and more frames than the ring has
// slots, and checks that the peer receives each one intact and in order.
func TestTxRing(t *testing.T) {
	p := newPair(t)
	tx := p.listen(t, p.a, p.ifA, afpacket.Config{TxRingFrames: 16, TxRingFrameSize: 1600})
	rx := p.listen(t, p.b, p.ifB, afpacket.Config{BufferBytes: 4 << 20})
	if !tx.TxRing() {
		t.Fatal("TxRing() false with TxRingFrames set")
	}
	const total = 100 // more than six times round the ring
	var want [][]byte
	slots := make([][]byte, 8)
	for i := 0; i < total; {
		k := tx.TxSlots(slots, 0)
		if k == 0 {
			if err := tx.TxWait(0); err != nil {
				t.Fatal(err)
			}
			continue
		}
		added := 0
		for j := 0; j < k && i < total; j++ {
			f := testFrame(p.ifA.HardwareAddr, i, 60+i*14)
			if i%3 == 0 {
				// Built in place, at an offset as Protect leaves it.
				f = slots[j][16 : 16+copy(slots[j][16:], f)]
			}
			if !tx.TxPut(f) {
				t.Fatalf("TxPut refused frame %d (%d octets)", i, len(f))
			}
			want = append(want, f)
			added++
			i++
		}
		// Copy now: the slots are reused after the send.
		for j := len(want) - added; j < len(want); j++ {
			want[j] = bytes.Clone(want[j])
		}
		if n, err := tx.TxSend(); err != nil || n != added {
			t.Fatalf("TxSend: %d, %v; want %d, nil", n, err, added)
		}
	}
	got := receive(t, rx, total, 5*time.Second)
	if len(got) != total {
		t.Fatalf("received %d frames, want %d", len(got), total)
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("frame %d: got % x\nwant % x", i, got[i][:min(32, len(got[i]))], want[i][:min(32, len(want[i]))])
		}
	}
	if tx.TxPut(make([]byte, 1601)) {
		t.Error("TxPut took a frame larger than a slot")
	}
}

// TestTxRingParentDown checks that frames queued while the interface is
// down are reported unsent and discarded, not sent late when it comes
// back, and that the ring works again afterwards.
func TestTxRingParentDown(t *testing.T) {
	p := newPair(t)
	tx := p.listen(t, p.a, p.ifA, afpacket.Config{TxRingFrames: 16, TxRingFrameSize: 1600})
	rx := p.listen(t, p.b, p.ifB, afpacket.Config{BufferBytes: 4 << 20})
	setLink := func(up bool) {
		t.Helper()
		l, err := p.a.Netlink().LinkByName("eth0")
		if err == nil {
			if up {
				err = p.a.Netlink().LinkSetUp(l)
			} else {
				err = p.a.Netlink().LinkSetDown(l)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	put := func(from, n int) {
		t.Helper()
		slots := make([][]byte, n)
		if k := tx.TxSlots(slots, 0); k != n {
			t.Fatalf("%d free slots, want %d", k, n)
		}
		for i := 0; i < n; i++ {
			tx.TxPut(testFrame(p.ifA.HardwareAddr, from+i, 100))
		}
	}
	setLink(false)
	put(0, 5)
	n, err := tx.TxSend()
	if !errors.Is(err, unix.ENETDOWN) || n != 0 {
		t.Fatalf("TxSend with the link down: %d, %v; want 0, ENETDOWN", n, err)
	}
	setLink(true)
	// Both ends must be up for the veth to carry frames.
	deadline := time.Now().Add(5 * time.Second)
	for {
		put(100, 3)
		if n, err = tx.TxSend(); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || n != 3 {
		t.Fatalf("TxSend after link up: %d, %v; want 3, nil", n, err)
	}
	got := receive(t, rx, 4, time.Second)
	if len(got) != 3 {
		t.Fatalf("received %d frames, want the 3 sent after link up", len(got))
	}
	for i, f := range got {
		if id := binary.BigEndian.Uint32(f[14:]); id != uint32(100+i) {
			t.Errorf("frame %d is number %d, want %d (a discarded frame was sent)", i, id, 100+i)
		}
	}
}
