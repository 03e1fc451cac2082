// Package afpacket moves batches of Ethernet frames through an AF_PACKET
// socket on the wire-side (parent) interface with recvmmsg(2) and
// sendmmsg(2): a system call costs about a microsecond, so the data plane
// pays it once per batch of up to 128 frames instead of once per frame.
//
// mdlayher/packet opens and binds the socket; the batched calls run on its
// raw descriptor through the runtime poller, so a worker waiting for frames
// parks and Close wakes it.
package afpacket

import (
	"fmt"
	"net"
	"syscall"
	"unsafe"

	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"
)

// MaxBatch is the largest batch one call moves.
const MaxBatch = 128

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
}

// Conn is one AF_PACKET socket bound to an interface, receiving every
// EtherType. A Conn is used by one goroutine for receiving and one for
// sending at a time.
type Conn struct {
	c  *packet.Conn
	rc syscall.RawConn

	rmsgs [MaxBatch]unix.Mmsghdr
	riovs [MaxBatch]unix.Iovec
	smsgs [MaxBatch]unix.Mmsghdr
	siovs [MaxBatch]unix.Iovec

	// State of the call in progress, read by the prebuilt closures so that
	// no closure is allocated per batch.
	rcount, scount int
	rn, sn         int
	rerr, serr     error
	recvFn, sendFn func(fd uintptr) bool
	tryRecvFn      func(fd uintptr) bool

	// Drops counts frames the driver refused for lack of queue space.
	// Written by the sending goroutine only.
	Drops uint64
}

// Listen opens a socket on ifi.
func Listen(ifi *net.Interface, cfg Config) (*Conn, error) {
	pc, err := packet.Listen(ifi, packet.Raw, unix.ETH_P_ALL, nil)
	if err != nil {
		return nil, fmt.Errorf("afpacket: listen on %s: %w", ifi.Name, err)
	}
	rc, err := pc.SyscallConn()
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("afpacket: %s: raw conn: %w", ifi.Name, err)
	}
	c := &Conn{c: pc, rc: rc}
	c.recvFn = c.doRecv
	c.tryRecvFn = c.doTryRecv
	c.sendFn = c.doSend
	for i := range c.rmsgs {
		c.rmsgs[i].Hdr.Iov = &c.riovs[i]
		c.rmsgs[i].Hdr.Iovlen = 1
		c.smsgs[i].Hdr.Iov = &c.siovs[i]
		c.smsgs[i].Hdr.Iovlen = 1
	}
	opts := []struct {
		name  string
		level int
		opt   int
		val   int
	}{
		// Our own transmissions are not input.
		{"PACKET_IGNORE_OUTGOING", unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1},
		// Frames go straight to the driver: the qdisc would only add a lock
		// and a queue in front of a socket that already batches.
		{"PACKET_QDISC_BYPASS", unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1},
	}
	if cfg.BufferBytes > 0 {
		opts = append(opts,
			struct {
				name  string
				level int
				opt   int
				val   int
			}{"SO_RCVBUFFORCE", unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, cfg.BufferBytes},
			struct {
				name  string
				level int
				opt   int
				val   int
			}{"SO_SNDBUFFORCE", unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, cfg.BufferBytes})
	}
	if cfg.FanoutGroup != 0 {
		opts = append(opts, struct {
			name  string
			level int
			opt   int
			val   int
		}{"PACKET_FANOUT", unix.SOL_PACKET, unix.PACKET_FANOUT, int(cfg.FanoutGroup) | unix.PACKET_FANOUT_HASH<<16})
	}
	for _, o := range opts {
		var serr error
		if err := rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), o.level, o.opt, o.val) }); err != nil {
			serr = err
		}
		if serr != nil {
			pc.Close()
			return nil, fmt.Errorf("afpacket: %s: setsockopt %s: %w", ifi.Name, o.name, serr)
		}
	}
	// Multicast frames (IPv6 neighbour discovery, LLDP-like groups) are
	// protected like any other and must reach us even on NICs that filter.
	if err := c.membership(ifi.Index, unix.PACKET_MR_ALLMULTI); err != nil {
		pc.Close()
		return nil, fmt.Errorf("afpacket: %s: allmulti: %w", ifi.Name, err)
	}
	if cfg.Promiscuous {
		if err := pc.SetPromiscuous(true); err != nil {
			pc.Close()
			return nil, fmt.Errorf("afpacket: %s: promiscuous: %w", ifi.Name, err)
		}
	}
	return c, nil
}

func (c *Conn) membership(ifindex int, typ uint16) error {
	mreq := unix.PacketMreq{Ifindex: int32(ifindex), Type: typ}
	var serr error
	if err := c.rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptPacketMreq(int(fd), unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq)
	}); err != nil {
		return err
	}
	return serr
}

// Close closes the socket, waking a blocked Recv.
func (c *Conn) Close() error { return c.c.Close() }

// Recv waits for at least one frame and receives up to len(bufs) frames
// (at most MaxBatch), storing their lengths in sizes. A frame longer than
// its buffer is reported with its full length, larger than the buffer:
// callers drop it.
func (c *Conn) Recv(bufs [][]byte, sizes []int) (int, error) {
	return c.recv(bufs, sizes, c.recvFn)
}

// TryRecv is Recv without waiting: it returns 0, nil when no frame is
// queued.
func (c *Conn) TryRecv(bufs [][]byte, sizes []int) (int, error) {
	return c.recv(bufs, sizes, c.tryRecvFn)
}

func (c *Conn) recv(bufs [][]byte, sizes []int, fn func(uintptr) bool) (int, error) {
	n := min(len(bufs), len(sizes), MaxBatch)
	for i := 0; i < n; i++ {
		c.riovs[i].Base = &bufs[i][0]
		c.riovs[i].SetLen(len(bufs[i]))
		c.rmsgs[i].Len = 0
	}
	c.rcount = n
	if err := c.rc.Read(fn); err != nil {
		return 0, err
	}
	for i := 0; i < c.rn; i++ {
		sizes[i] = int(c.rmsgs[i].Len)
		if c.rmsgs[i].Hdr.Flags&unix.MSG_TRUNC != 0 {
			sizes[i] = len(bufs[i]) + 1
		}
	}
	return c.rn, c.rerr
}

func (c *Conn) doRecv(fd uintptr) bool {
	n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&c.rmsgs[0])), uintptr(c.rcount), unix.MSG_DONTWAIT, 0, 0)
	if e == unix.EAGAIN {
		return false
	}
	c.rn, c.rerr = int(n), nil
	if e != 0 {
		c.rn, c.rerr = 0, e
	}
	return true
}

func (c *Conn) doTryRecv(fd uintptr) bool {
	if !c.doRecv(fd) {
		c.rn, c.rerr = 0, nil
	}
	return true
}

// Send transmits the frames in bufs (at most MaxBatch), waiting for socket
// buffer space when needed, and returns how many were sent.
func (c *Conn) Send(bufs [][]byte) (int, error) {
	total := 0
	for total < len(bufs) {
		n := min(len(bufs)-total, MaxBatch)
		for i := 0; i < n; i++ {
			b := bufs[total+i]
			c.siovs[i].Base = &b[0]
			c.siovs[i].SetLen(len(b))
		}
		c.scount = n
		if err := c.rc.Write(c.sendFn); err != nil {
			return total, err
		}
		if c.serr != nil {
			// A frame the driver refuses (too long, link down) would block
			// the batch forever: skip it and report the error.
			return total + c.sn, c.serr
		}
		total += c.sn
	}
	return total, nil
}

func (c *Conn) doSend(fd uintptr) bool {
	sent := 0
	for sent < c.scount {
		n, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&c.smsgs[sent])), uintptr(c.scount-sent), unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			sent += int(n)
			continue
		case unix.EAGAIN:
			// Socket buffer full: wait for room unless part of the batch is
			// already out (the caller comes back for the rest).
			if sent == 0 {
				return false
			}
		case unix.ENOBUFS:
			// With PACKET_QDISC_BYPASS the driver dropped the frame: the
			// network lost it, as it may; go on with the next one.
			c.Drops++
			sent++
			continue
		default:
			c.sn, c.serr = sent, e
			return true
		}
		break
	}
	c.sn, c.serr = sent, nil
	return true
}

// BypassQdisc sets PACKET_QDISC_BYPASS on another packet socket of the
// parent, so that its frames, like a Conn's, go straight to the driver.
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
