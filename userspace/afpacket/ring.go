package afpacket

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The receive ring (PACKET_RX_RING, TPACKET_V2): the kernel copies each
// received frame into a slot of memory shared with the process and flips
// the slot's status word; the worker reads frames in place and hands slots
// back by flipping the word again. There is no system call while frames
// are waiting, and none of recvmmsg's per-message work (socket buffer
// queueing, message header and iovec copies, the copy out).

// ringReserve is extra room the kernel leaves in front of each frame
// (PACKET_RESERVE): with it, a slot has room for a virtio-net header in
// front of a frame that reaches the TAP unchanged.
const ringReserve = 16

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

// setupRing maps a receive ring of n slots of frameSize octets; called
// before bind.
func (c *Conn) setupRing(n, frameSize int) error {
	if err := unix.SetsockoptInt(c.fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V2); err != nil {
		return fmt.Errorf("setsockopt PACKET_VERSION: %w", err)
	}
	if err := unix.SetsockoptInt(c.fd, unix.SOL_PACKET, unix.PACKET_RESERVE, ringReserve); err != nil {
		return fmt.Errorf("setsockopt PACKET_RESERVE: %w", err)
	}
	frameSize = (frameSize + 15) &^ 15
	page := unix.Getpagesize()
	// Blocks hold whole frames; make a block a page multiple that fits
	// several.
	block := page
	for block < frameSize*8 {
		block += page
	}
	perBlock := block / frameSize
	blocks := (n + perBlock - 1) / perBlock
	req := unix.TpacketReq{
		Block_size: uint32(block),
		Block_nr:   uint32(blocks),
		Frame_size: uint32(frameSize),
		Frame_nr:   uint32(blocks * perBlock),
	}
	if err := unix.SetsockoptTpacketReq(c.fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return fmt.Errorf("setsockopt PACKET_RX_RING: %w", err)
	}
	mem, err := unix.Mmap(c.fd, 0, block*blocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("mmap receive ring: %w", err)
	}
	c.ring = &ring{mem: mem, frameSize: frameSize, blockSize: block, perBlock: perBlock, frames: int(req.Frame_nr)}
	return nil
}

func (r *ring) status(i int) *uint32 {
	return (*uint32)(unsafe.Pointer(&r.mem[r.offset(i)]))
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
