package userspace

import (
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mdlayher/packet"

	"github.com/macsecd/macsecd/userspace/afpacket"
)

// eapolQueue is how many received EAPOL frames wait for the reader; MKA
// sends one MKPDU per peer every 2 s, so a full queue means a flood, and
// further frames are dropped (counted) rather than buffered.
const eapolQueue = 64

// eapolFrameMax is the longest EAPOL frame kept: an MKPDU fits a 1500-octet
// MTU.
const eapolFrameMax = 1518

// FrameConn carries the EAPOL frames of the parent interface for the key
// agreement, with the method set of package eapol's Conn: the backend's
// own sockets receive every frame on the parent and pass EAPOL frames here,
// and WriteFrame sends on the parent directly, outside the Controlled
// Port (EAPOL is never protected).
type FrameConn struct {
	tx  *packet.Conn
	mac net.HardwareAddr

	frames chan []byte // received frames
	free   chan []byte // their buffers, recycled: no allocation per frame

	closeOnce sync.Once
	closed    chan struct{}

	mu       sync.Mutex
	deadline time.Time

	// Dropped counts frames dropped because the reader fell behind.
	Dropped atomic.Uint64
}

func newFrameConn(parent *net.Interface, mac net.HardwareAddr) (*FrameConn, error) {
	// Protocol 0: a send-only socket, so that the kernel queues nothing
	// to it.
	tx, err := packet.Listen(parent, packet.Raw, 0, nil)
	if err != nil {
		return nil, fmt.Errorf("userspace: EAPOL socket on %s: %w", parent.Name, err)
	}
	// Straight to the driver, like the data sockets.
	if err := afpacket.BypassQdisc(tx); err != nil {
		tx.Close()
		return nil, fmt.Errorf("userspace: EAPOL socket on %s: %w", parent.Name, err)
	}
	c := &FrameConn{
		tx:     tx,
		mac:    mac,
		frames: make(chan []byte, eapolQueue),
		free:   make(chan []byte, eapolQueue),
		closed: make(chan struct{}),
	}
	for i := 0; i < eapolQueue; i++ {
		c.free <- make([]byte, eapolFrameMax)
	}
	return c, nil
}

// deliver queues a received frame for ReadFrame, or drops it.
func (c *FrameConn) deliver(frame []byte) {
	select {
	case buf := <-c.free:
		n := copy(buf[:cap(buf)], frame)
		select {
		case c.frames <- buf[:n]:
		default:
			c.free <- buf
			c.Dropped.Add(1)
		}
	default:
		c.Dropped.Add(1)
	}
}

// ReadFrame waits for an EAPOL frame and copies the whole Ethernet frame
// into b, returning its length (truncated to len(b)). It returns an error
// wrapping net.ErrClosed after Close, and os.ErrDeadlineExceeded once a
// deadline set with SetReadDeadline has passed.
func (c *FrameConn) ReadFrame(b []byte) (int, error) {
	c.mu.Lock()
	dl := c.deadline
	c.mu.Unlock()
	var timeout <-chan time.Time
	if !dl.IsZero() {
		d := time.Until(dl)
		if d <= 0 {
			return 0, errDeadline
		}
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case buf := <-c.frames:
		n := copy(b, buf)
		c.free <- buf[:cap(buf)]
		return n, nil
	case <-c.closed:
		return 0, fmt.Errorf("userspace: EAPOL read: %w", net.ErrClosed)
	case <-timeout:
		return 0, errDeadline
	}
}

var errDeadline = fmt.Errorf("userspace: EAPOL read: %w", os.ErrDeadlineExceeded)

// SetReadDeadline sets the deadline of ReadFrame calls that start after
// it; the zero time waits forever.
func (c *FrameConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	return nil
}

// WriteFrame sends a whole Ethernet frame (an MKPDU) on the parent.
func (c *FrameConn) WriteFrame(frame []byte) error {
	if len(frame) < 14 {
		return fmt.Errorf("userspace: EAPOL write: frame of %d octets is shorter than an Ethernet header", len(frame))
	}
	dst := net.HardwareAddr(frame[:6])
	if _, err := c.tx.WriteTo(frame, &packet.Addr{HardwareAddr: dst}); err != nil {
		return fmt.Errorf("userspace: EAPOL write: %w", err)
	}
	return nil
}

// HardwareAddr is the SecY's MAC address, the source of MKPDUs.
func (c *FrameConn) HardwareAddr() net.HardwareAddr {
	return append(net.HardwareAddr(nil), c.mac...)
}

// Close wakes ReadFrame and closes the send socket. Backend.Close closes
// the FrameConn too.
func (c *FrameConn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		close(c.closed)
		err = c.tx.Close()
	})
	return err
}
