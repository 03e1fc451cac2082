package afpacket

import (
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// txRing is the transmit ring. Slots are filled in ring order from put;
// the kernel sends from its own head, which trails put by the slots queued
// and not yet sent, and hands each slot back (TP_STATUS_AVAILABLE) when
// the socket buffer built on it is freed.
type txRing struct {
	ring
	queued int // slots put since the last TxSend
}

// txBusyRetries bounds how often TxSend retries when the driver's queue is
// full (ENOBUFS) before it drops what is left.
const txBusyRetries = 64

// TxRing reports whether the Conn sends through a ring (Config.TxRingFrames).
func (c *Conn) TxRing() bool { return c.tx != nil }

// area is slot i's frame area: where a frame may be built.
func (t *txRing) area(i int) []byte {
	off := t.offset(i)
	return t.mem[off+txDataOff : off+t.frameSize : off+t.frameSize]
}

// TxSlots stores in dst the frame areas of free slots in ring order,
// starting skip slots after those already put, stopping at the first slot
// the kernel still holds or after len(dst), and returns how many it
// stored. A frame built inside an area is put without a copy.
func (c *Conn) TxSlots(dst [][]byte, skip int) int {
	t := c.tx
	n := 0
	for n < len(dst) && t.queued+skip+n < t.frames {
		i := t.queued + skip + n
		if atomic.LoadUint32(t.status(i)) != unix.TP_STATUS_AVAILABLE {
			break
		}
		dst[n] = t.area(i)
		n++
	}
	return n
}

// TxPut queues frame in the next slot, which TxSlots must have reported
// free. A frame that lies in that slot's area stays where it is; any
// other is copied there. It reports false, queuing nothing, when the frame
// does not fit a slot.
func (c *Conn) TxPut(frame []byte) bool {
	t := c.tx
	area := t.area(t.queued)
	if len(frame) > cap(area) {
		return false
	}
	off := t.offset(t.queued)
	base := uintptr(unsafe.Pointer(unsafe.SliceData(t.mem))) + uintptr(off)
	p := uintptr(unsafe.Pointer(unsafe.SliceData(frame)))
	var mac int
	if p >= base+txDataOff && p+uintptr(len(frame)) <= base+uintptr(t.frameSize) {
		mac = int(p - base)
	} else {
		mac = txDataOff
		copy(area, frame)
	}
	h := (*unix.Tpacket2Hdr)(unsafe.Pointer(&t.mem[off]))
	h.Len = uint32(len(frame))
	h.Mac = uint16(mac)
	atomic.StoreUint32(&h.Status, unix.TP_STATUS_SEND_REQUEST)
	t.queued++
	return true
}

// TxSend has the kernel send the frames put since the last call and
// returns how many it took. Frames the driver had no room for after
// retries are dropped and counted in Drops. On an error (the parent down,
// the socket interrupted) the frames not sent are discarded.
func (c *Conn) TxSend() (int, error) {
	t := c.tx
	if t.queued == 0 {
		return 0, nil
	}
	queued := t.queued
	busy := 0
	for {
		if c.wwait.Interrupted() {
			return queued - t.discard(), ErrClosed
		}
		_, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(c.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
		pending := t.pending()
		if pending == 0 {
			t.advance()
			return queued, nil
		}
		switch e {
		case 0, unix.EINTR:
		case unix.EAGAIN:
			// Socket buffer full: wait for sent frames to be freed.
			if err := c.wwait.Wait(c.fd, unix.POLLOUT); err != nil {
				return queued - t.discard(), mapErr(err)
			}
		case unix.ENOBUFS:
			// With PACKET_QDISC_BYPASS the driver's queue is full; the
			// kernel left the frame queued.
			if busy++; busy > txBusyRetries {
				n := t.discard()
				c.Drops += uint64(n)
				return queued, nil
			}
			unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
		default:
			return queued - t.discard(), e
		}
	}
}

// pending counts the queued slots the kernel has not taken yet: they are
// the last ones put.
func (t *txRing) pending() int {
	n := 0
	for n < t.queued && atomic.LoadUint32(t.status(t.queued-1-n)) == unix.TP_STATUS_SEND_REQUEST {
		n++
	}
	return n
}

// advance moves put's base past the queued slots once all are taken.
func (t *txRing) advance() {
	t.cur = (t.cur + t.queued) % t.frames
	t.queued = 0
}

// discard takes back the slots the kernel has not sent, so that the next
// put reuses them where the kernel's head waits, and returns how many.
func (t *txRing) discard() int {
	n := t.pending()
	for i := 0; i < n; i++ {
		atomic.StoreUint32(t.status(t.queued-1-i), unix.TP_STATUS_AVAILABLE)
	}
	t.queued -= n
	t.advance()
	return n
}

// TxWait sleeps until the slot skip slots after those put is free, or
// Interrupt.
func (c *Conn) TxWait(skip int) error {
	t := c.tx
	st := t.status((t.queued + skip) % t.frames)
	for atomic.LoadUint32(st) != unix.TP_STATUS_AVAILABLE {
		// POLLOUT also means room in the socket buffer, which may come
		// before the slot is free: then sleep briefly and look again.
		if err := c.wwait.Wait(c.fd, unix.POLLOUT); err != nil {
			return mapErr(err)
		}
		if atomic.LoadUint32(st) == unix.TP_STATUS_AVAILABLE {
			break
		}
		if err := c.sockErr(); err != nil {
			return err
		}
		time.Sleep(20 * time.Microsecond)
	}
	return nil
}
