// Package afpacket moves batches of Ethernet frames through an AF_PACKET
// socket on the wire-side (parent) interface with recvmmsg(2) and
// sendmmsg(2): a system call costs about a microsecond, so the data plane
// pays it once per batch of up to 128 frames instead of once per frame.
//
// The sockets are opened here with golang.org/x/sys/unix rather than
// mdlayher/packet, because that package registers its descriptors with the
// Go runtime's poller, and a socket in an epoll set takes an epoll
// callback for every received frame and every freed sent frame (see
// package fdwait). A worker calls without waiting and sleeps in poll(2)
// only when there is nothing to do. Close is in two steps: Interrupt wakes
// the workers, Close releases the descriptor once they are gone.
package afpacket

import (
	"errors"
	"fmt"
	"net"
	"unsafe"

	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"

	"github.com/macsecd/macsecd/userspace/internal/fdwait"
)

// MaxBatch is the largest batch one call moves.
const MaxBatch = 128

// ErrClosed is returned after Interrupt or Close.
var ErrClosed = errors.New("afpacket: socket closed")

// Config tunes a socket.
type Config struct {
	// FanoutGroup, when non-zero, joins the socket to a PACKET_FANOUT group
	// (hash mode): the kernel spreads received flows over the sockets of
	// the group, one per worker.
	FanoutGroup uint16
	// Promiscuous receives frames addressed to any unicast MAC (needed when
	// the secured interface has a MAC other than the parent's).
	Promiscuous bool
	// BufferBytes sets SO_RCVBUF and SO_SNDBUF (forced, as root) so that
	// bursts between two batches are not dropped. Zero keeps the default.
	BufferBytes int
	// RingFrames, when non-zero, receives through a memory-mapped ring of
	// that many slots of RingFrameSize octets (RingFrame, RingRelease,
	// RingWait) instead of Recv.
	RingFrames    int
	RingFrameSize int
	// TxRingFrames, when non-zero, sends through a memory-mapped ring of
	// that many slots, each with room for a frame area of TxRingFrameSize
	// octets (TxSlots, TxPut, TxSend, TxWait) instead of Send.
	TxRingFrames    int
	TxRingFrameSize int
}

// Conn is one AF_PACKET socket bound to an interface, receiving every
// EtherType. A Conn is used by one goroutine for receiving and one for
// sending at a time.
type Conn struct {
	fd      int
	rwait   *fdwait.Waiter
	wwait   *fdwait.Waiter
	closed  bool
	ring    *ring   // receive ring, or nil
	tx      *txRing // transmit ring, or nil
	mapping []byte  // both rings' memory

	rmsgs [MaxBatch]unix.Mmsghdr
	riovs [MaxBatch]unix.Iovec
	smsgs [MaxBatch]unix.Mmsghdr
	siovs [MaxBatch]unix.Iovec

	// Drops counts frames the driver refused for lack of queue space.
	// Written by the sending goroutine only.
	Drops uint64
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Listen opens a socket on ifi.
func Listen(ifi *net.Interface, cfg Config) (*Conn, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("afpacket: socket on %s: %w", ifi.Name, err)
	}
	c := &Conn{fd: fd}
	fail := func(op string, err error) (*Conn, error) {
		if c.mapping != nil {
			unix.Munmap(c.mapping)
		}
		unix.Close(fd)
		return nil, fmt.Errorf("afpacket: %s: %s: %w", ifi.Name, op, err)
	}
	type opt struct {
		name       string
		level, opt int
		val        int
	}
	opts := []opt{
		// Our own transmissions are not input.
		{"PACKET_IGNORE_OUTGOING", unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1},
		// Frames go straight to the driver: the qdisc would only add a lock
		// and a queue in front of a socket that already batches. (The
		// netdev egress hook still runs: the backend's isolation chain
		// there passes MACsec and EAPOL by EtherType.)
		{"PACKET_QDISC_BYPASS", unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1},
	}
	if cfg.BufferBytes > 0 {
		opts = append(opts,
			opt{"SO_RCVBUFFORCE", unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, cfg.BufferBytes},
			opt{"SO_SNDBUFFORCE", unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, cfg.BufferBytes})
	}
	for _, o := range opts {
		if err := unix.SetsockoptInt(fd, o.level, o.opt, o.val); err != nil {
			return fail("setsockopt "+o.name, err)
		}
	}
	if cfg.RingFrames > 0 || cfg.TxRingFrames > 0 {
		// A receive slot holds the ring header, the reserve and the frame;
		// a transmit slot the header and the frame area.
		if err := c.setupRings(cfg.RingFrames, 32+20+ringReserve+16+cfg.RingFrameSize,
			cfg.TxRingFrames, txDataOff+cfg.TxRingFrameSize); err != nil {
			return fail("rings", err)
		}
	}
	// Bound to ETH_P_ALL only now, with the options in place.
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
		return fail("bind", err)
	}
	if cfg.FanoutGroup != 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_FANOUT, int(cfg.FanoutGroup)|unix.PACKET_FANOUT_HASH<<16); err != nil {
			return fail("setsockopt PACKET_FANOUT", err)
		}
	}
	// Multicast frames (IPv6 neighbour discovery and the like) are
	// protected like any other and must reach us even on NICs that filter.
	if err := c.membership(ifi.Index, unix.PACKET_MR_ALLMULTI); err != nil {
		return fail("allmulti", err)
	}
	if cfg.Promiscuous {
		if err := c.membership(ifi.Index, unix.PACKET_MR_PROMISC); err != nil {
			return fail("promiscuous", err)
		}
	}
	if c.rwait, err = fdwait.New(); err != nil {
		return fail("eventfd", err)
	}
	if c.wwait, err = fdwait.New(); err != nil {
		c.rwait.Close()
		return fail("eventfd", err)
	}
	for i := range c.rmsgs {
		c.rmsgs[i].Hdr.Iov = &c.riovs[i]
		c.rmsgs[i].Hdr.Iovlen = 1
		c.smsgs[i].Hdr.Iov = &c.siovs[i]
		c.smsgs[i].Hdr.Iovlen = 1
	}
	return c, nil
}

func (c *Conn) membership(ifindex int, typ uint16) error {
	mreq := unix.PacketMreq{Ifindex: int32(ifindex), Type: typ}
	return unix.SetsockoptPacketMreq(c.fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq)
}

// Interrupt wakes the goroutines waiting in Recv or Send; their calls and
// all later ones return ErrClosed.
func (c *Conn) Interrupt() {
	c.rwait.Interrupt()
	c.wwait.Interrupt()
}

// Close interrupts and closes the socket; no goroutine may be using it.
func (c *Conn) Close() error {
	c.Interrupt()
	if c.closed {
		return nil
	}
	c.closed = true
	c.rwait.Close()
	c.wwait.Close()
	if c.mapping != nil {
		unix.Munmap(c.mapping)
	}
	return unix.Close(c.fd)
}

// Recv waits for at least one frame and receives up to len(bufs) frames
// (at most MaxBatch), storing their lengths in sizes. A frame longer than
// its buffer is reported with its full length, larger than the buffer:
// callers drop it.
func (c *Conn) Recv(bufs [][]byte, sizes []int) (int, error) {
	return c.recv(bufs, sizes, true)
}

// TryRecv is Recv without waiting: it returns 0, nil when no frame is
// queued.
func (c *Conn) TryRecv(bufs [][]byte, sizes []int) (int, error) {
	return c.recv(bufs, sizes, false)
}

func (c *Conn) recv(bufs [][]byte, sizes []int, wait bool) (int, error) {
	n := min(len(bufs), len(sizes), MaxBatch)
	for i := 0; i < n; i++ {
		c.riovs[i].Base = &bufs[i][0]
		c.riovs[i].SetLen(len(bufs[i]))
		c.rmsgs[i].Len = 0
		c.rmsgs[i].Hdr.Flags = 0
	}
	for {
		if c.rwait.Interrupted() {
			return 0, ErrClosed
		}
		r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(c.fd), uintptr(unsafe.Pointer(&c.rmsgs[0])), uintptr(n), unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			for i := 0; i < int(r); i++ {
				sizes[i] = int(c.rmsgs[i].Len)
				if c.rmsgs[i].Hdr.Flags&unix.MSG_TRUNC != 0 {
					sizes[i] = len(bufs[i]) + 1
				}
			}
			return int(r), nil
		case unix.EAGAIN:
			if !wait {
				return 0, nil
			}
			if err := c.rwait.Wait(c.fd, unix.POLLIN); err != nil {
				return 0, mapErr(err)
			}
		case unix.EINTR:
		default:
			return 0, e
		}
	}
}

// Send transmits the frames in bufs, waiting for socket buffer space when
// needed, and returns how many were sent. Frames the driver drops for lack
// of queue space count as sent (and in Drops): the network may lose frames.
func (c *Conn) Send(bufs [][]byte) (int, error) {
	total := 0
	for total < len(bufs) {
		n := min(len(bufs)-total, MaxBatch)
		for i := 0; i < n; i++ {
			b := bufs[total+i]
			c.siovs[i].Base = &b[0]
			c.siovs[i].SetLen(len(b))
		}
		sent := 0
		for sent < n {
			if c.wwait.Interrupted() {
				return total + sent, ErrClosed
			}
			r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(c.fd), uintptr(unsafe.Pointer(&c.smsgs[sent])), uintptr(n-sent), unix.MSG_DONTWAIT, 0, 0)
			switch e {
			case 0:
				sent += int(r)
			case unix.EAGAIN:
				// Socket buffer full: wait for room.
				if err := c.wwait.Wait(c.fd, unix.POLLOUT); err != nil {
					return total + sent, mapErr(err)
				}
			case unix.ENOBUFS:
				// With PACKET_QDISC_BYPASS the driver dropped the frame.
				c.Drops++
				sent++
			case unix.EINTR:
			default:
				// A frame the parent refuses (down, too long): the rest of
				// the batch would fail the same way.
				return total + sent, e
			}
		}
		total += n
	}
	return total, nil
}

func mapErr(err error) error {
	if err == fdwait.ErrInterrupted {
		return ErrClosed
	}
	return err
}

// BypassQdisc sets PACKET_QDISC_BYPASS on another packet socket of the
// parent (the EAPOL socket), so that its frames, like a Conn's, go straight
// to the driver.
func BypassQdisc(pc *packet.Conn) error {
	rc, err := pc.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1)
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("setsockopt PACKET_QDISC_BYPASS: %w", serr)
	}
	return nil
}
