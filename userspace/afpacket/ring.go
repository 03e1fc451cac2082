package afpacket

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The rings (PACKET_RX_RING, PACKET_TX_RING, TPACKET_V2) are memory shared
// with the kernel, one mapping for both, divided into slots that each start
// with a status word. On receive the kernel copies each frame into a slot
// and flips the word; the worker reads frames in place and hands slots back
// by flipping it again. On transmit the worker builds frames in slots,
// marks them, and one send(2) has the kernel send every marked slot,
// attaching the slot's memory to the socket buffer instead of copying it.
// Neither direction has recvmmsg's or sendmmsg's per-message work (message
// header and iovec copies, a copy of the frame, socket buffer queueing).

// ringReserve is extra room the kernel leaves in front of each received
// frame (PACKET_RESERVE): with it, a slot has room for a virtio-net header
// in front of a frame that reaches the TAP unchanged.
const ringReserve = 16

// txDataOff is where a transmit slot's frame area starts: the kernel reads
// frames at tp_mac (PACKET_TX_HAS_OFF), which may not point before
// TPACKET2_HDRLEN - sizeof(struct sockaddr_ll).
const txDataOff = 32

type ring struct {
	mem       []byte
	frameSize int
	blockSize int
	perBlock  int // frames per block; a block may end in unused octets
	frames    int
	cur       int
}

// offset is where slot i (counted from the cursor) starts in mem.
func (r *ring) offset(i int) int {
	idx := (r.cur + i) % r.frames
	return idx/r.perBlock*r.blockSize + idx%r.perBlock*r.frameSize
}

func (r *ring) status(i int) *uint32 {
	return (*uint32)(unsafe.Pointer(&r.mem[r.offset(i)]))
}

// geometry returns the request for a ring of at least n slots of
// frameSize octets: blocks are page multiples that hold several whole
// slots.
func geometry(n, frameSize int) unix.TpacketReq {
	frameSize = (frameSize + 15) &^ 15
	page := unix.Getpagesize()
	block := page
	for block < frameSize*8 {
		block += page
	}
	perBlock := block / frameSize
	blocks := (n + perBlock - 1) / perBlock
	return unix.TpacketReq{
		Block_size: uint32(block),
		Block_nr:   uint32(blocks),
		Frame_size: uint32(frameSize),
		Frame_nr:   uint32(blocks * perBlock),
	}
}

// mapSize is the length of a ring's part of the mapping.
func mapSize(q unix.TpacketReq) int { return int(q.Block_size) * int(q.Block_nr) }

func newRing(mem []byte, q unix.TpacketReq) *ring {
	return &ring{mem: mem, frameSize: int(q.Frame_size), blockSize: int(q.Block_size),
		perBlock: int(q.Block_size / q.Frame_size), frames: int(q.Frame_nr)}
}

// setupRings maps the receive ring (rxN slots of rxFrame octets) and the
// transmit ring (txN slots of txFrame octets), either of which may be
// absent (n == 0); called before bind.
func (c *Conn) setupRings(rxN, rxFrame, txN, txFrame int) error {
	type opt struct {
		name string
		opt  int
		val  int
		on   bool
	}
	for _, o := range []opt{
		{"PACKET_VERSION", unix.PACKET_VERSION, unix.TPACKET_V2, true},
		{"PACKET_RESERVE", unix.PACKET_RESERVE, ringReserve, rxN > 0},
		// Frames start where the worker built them, not at a fixed offset.
		{"PACKET_TX_HAS_OFF", unix.PACKET_TX_HAS_OFF, 1, txN > 0},
		// A slot the kernel cannot send is skipped rather than stopping
		// the ring.
		{"PACKET_LOSS", unix.PACKET_LOSS, 1, txN > 0},
	} {
		if !o.on {
			continue
		}
		if err := unix.SetsockoptInt(c.fd, unix.SOL_PACKET, o.opt, o.val); err != nil {
			return fmt.Errorf("setsockopt %s: %w", o.name, err)
		}
	}
	var rxq, txq unix.TpacketReq
	if rxN > 0 {
		rxq = geometry(rxN, rxFrame)
		if err := unix.SetsockoptTpacketReq(c.fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &rxq); err != nil {
			return fmt.Errorf("setsockopt PACKET_RX_RING: %w", err)
		}
	}
	if txN > 0 {
		txq = geometry(txN, txFrame)
		if err := unix.SetsockoptTpacketReq(c.fd, unix.SOL_PACKET, unix.PACKET_TX_RING, &txq); err != nil {
			return fmt.Errorf("setsockopt PACKET_TX_RING: %w", err)
		}
	}
	// The kernel maps the receive ring first, then the transmit ring.
	rxSize, txSize := mapSize(rxq), mapSize(txq)
	mem, err := unix.Mmap(c.fd, 0, rxSize+txSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("mmap rings: %w", err)
	}
	c.mapping = mem
	if rxN > 0 {
		c.ring = newRing(mem[:rxSize], rxq)
	}
	if txN > 0 {
		c.tx = &txRing{ring: *newRing(mem[rxSize:], txq)}
	}
	return nil
}

// Ring reports whether the Conn receives through a ring (Config.RingFrames).
func (c *Conn) Ring() bool { return c.ring != nil }

// RingFrame returns the i-th frame after the ring's cursor, in place: the
// frame is slot[start:], slot is writable and has at least 26 octets in
// front of start, and truncated says the frame was longer than a slot
// holds. ok is false when the kernel has not filled that slot yet.
func (c *Conn) RingFrame(i int) (slot []byte, start int, truncated, ok bool) {
	r := c.ring
	if i >= r.frames {
		return nil, 0, false, false
	}
	st := atomic.LoadUint32(r.status(i))
	if st&unix.TP_STATUS_USER == 0 {
		return nil, 0, false, false
	}
	off := r.offset(i)
	s := r.mem[off : off+r.frameSize : off+r.frameSize]
	h := (*unix.Tpacket2Hdr)(unsafe.Pointer(&s[0]))
	mac, snap := int(h.Mac), int(h.Snaplen)
	if mac+snap > len(s) {
		return s[:mac], mac, true, true
	}
	return s[:mac+snap], mac, h.Len != h.Snaplen || st&unix.TP_STATUS_COPY != 0, true
}

// RingRelease hands the first n frames after the cursor back to the kernel
// and advances the cursor past them.
func (c *Conn) RingRelease(n int) {
	r := c.ring
	for i := 0; i < n; i++ {
		atomic.StoreUint32(r.status(i), unix.TP_STATUS_KERNEL)
	}
	r.cur = (r.cur + n) % r.frames
}

// RingWait sleeps until the slot at the cursor is filled, or Interrupt.
func (c *Conn) RingWait() error {
	for {
		if _, _, _, ok := c.RingFrame(0); ok {
			return nil
		}
		if err := c.rwait.Wait(c.fd, unix.POLLIN); err != nil {
			return mapErr(err)
		}
		if _, _, _, ok := c.RingFrame(0); ok {
			return nil
		}
		// poll reports a socket error (parent down) as readable.
		if err := c.sockErr(); err != nil {
			return err
		}
	}
}

// sockErr returns and clears the socket's pending error.
func (c *Conn) sockErr() error {
	v, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return err
	}
	if v != 0 {
		return unix.Errno(v)
	}
	return nil
}
