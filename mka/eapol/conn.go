// Package eapol sends and receives EAPOL frames (IEEE 802.1X-2020 11) on an
// Ethernet interface through an AF_PACKET socket (mdlayher/packet): the
// transport of MKA.
//
// A Conn reads and writes whole Ethernet frames, so the MKA code sees the
// destination address a frame was sent to and computes the MKPDU ICV over
// exactly the octets on the wire. The kernel filters by EtherType with a
// BPF program installed before the socket is bound, so no other traffic is
// ever copied to user space; the program also drops copies of frames this
// host transmits (PACKET_OUTGOING), so a participant never hears itself.
package eapol

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
)

// MaxFrameLen is a receive buffer size that holds any EAPOL frame on a
// standard Ethernet interface (1500 octets of payload, header, one VLAN
// tag). Longer frames are truncated to the buffer by ReadFrame.
const MaxFrameLen = 1522

// Conn is an EAPOL endpoint on one interface for one EtherType.
// ReadFrame may run concurrently with WriteFrame.
type Conn struct {
	c         *packet.Conn
	ifi       *net.Interface
	etherType uint16
	groups    []net.HardwareAddr
}

// filter accepts frames of the given EtherType that this host did not send.
// The kernel hands outgoing copies only to taps of every protocol, but the
// program is also what a socket sees between socket(2) and bind(2), so it
// states the whole contract.
func filter(etherType uint16) ([]bpf.RawInstruction, error) {
	const packetOutgoing = 4 // linux/if_packet.h PACKET_OUTGOING
	return bpf.Assemble([]bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtType},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: packetOutgoing, SkipTrue: 3},
		bpf.LoadAbsolute{Off: 12, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: uint32(etherType), SkipTrue: 1},
		bpf.RetConstant{Val: 0x40000},
		bpf.RetConstant{Val: 0},
	})
}

// Listen opens a Conn on the interface ifname for etherType (0x888E, or
// 0x876F on WAN links) and joins the multicast groups among groups (the
// PAE, bridge and LLDP group addresses). Unicast and broadcast entries need
// no membership and are accepted for convenience, so a caller can pass the
// destination it sends to.
func Listen(ifname string, etherType uint16, groups []net.HardwareAddr) (*Conn, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("eapol: listen on %s: %w", ifname, err)
	}
	prog, err := filter(etherType)
	if err != nil {
		return nil, fmt.Errorf("eapol: listen on %s: assemble filter: %w", ifname, err)
	}
	c, err := packet.Listen(ifi, packet.Raw, int(etherType), &packet.Config{Filter: prog})
	if err != nil {
		return nil, fmt.Errorf("eapol: listen on %s: %w", ifname, err)
	}
	conn := &Conn{c: c, ifi: ifi, etherType: etherType}
	for _, g := range groups {
		if len(g) != 6 {
			c.Close()
			return nil, fmt.Errorf("eapol: listen on %s: group address %q is not 6 octets", ifname, g)
		}
		if g[0]&1 == 0 || isBroadcast(g) {
			continue
		}
		if err := c.JoinGroup(g); err != nil {
			c.Close()
			return nil, fmt.Errorf("eapol: listen on %s: join %s: %w", ifname, g, err)
		}
		conn.groups = append(conn.groups, append(net.HardwareAddr(nil), g...))
	}
	return conn, nil
}

func isBroadcast(a net.HardwareAddr) bool {
	for _, b := range a {
		if b != 0xff {
			return false
		}
	}
	return true
}

// ReadFrame reads one Ethernet frame (destination MAC first) into buf and
// returns its length. Use a buffer of MaxFrameLen octets.
func (c *Conn) ReadFrame(buf []byte) (int, error) {
	n, _, err := c.c.ReadFrom(buf)
	if err != nil {
		return 0, fmt.Errorf("eapol: read on %s: %w", c.ifi.Name, err)
	}
	return n, nil
}

// WriteFrame transmits a whole Ethernet frame, which must start with the
// destination and source MAC addresses and carry the Conn's EtherType.
func (c *Conn) WriteFrame(frame []byte) error {
	if len(frame) < 14 {
		return fmt.Errorf("eapol: write on %s: frame of %d octets has no Ethernet header", c.ifi.Name, len(frame))
	}
	if et := uint16(frame[12])<<8 | uint16(frame[13]); et != c.etherType {
		return fmt.Errorf("eapol: write on %s: frame EtherType %#04x, conn is for %#04x", c.ifi.Name, et, c.etherType)
	}
	if _, err := c.c.WriteTo(frame, &packet.Addr{HardwareAddr: net.HardwareAddr(frame[:6])}); err != nil {
		return fmt.Errorf("eapol: write on %s: %w", c.ifi.Name, err)
	}
	return nil
}

// Send is WriteFrame; it makes a Conn an mka.Transport.
func (c *Conn) Send(frame []byte) error { return c.WriteFrame(frame) }

// SetReadDeadline sets the deadline for ReadFrame; a read past it fails
// with an error for which IsTimeout is true. The zero time means none.
func (c *Conn) SetReadDeadline(t time.Time) error {
	if err := c.c.SetReadDeadline(t); err != nil {
		return fmt.Errorf("eapol: set read deadline on %s: %w", c.ifi.Name, err)
	}
	return nil
}

// IsTimeout reports whether err is a read deadline expiry.
func IsTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// HardwareAddr returns the interface's MAC address, the source address of
// the frames the caller builds.
func (c *Conn) HardwareAddr() net.HardwareAddr { return c.ifi.HardwareAddr }

// Interface returns the interface the Conn is bound to.
func (c *Conn) Interface() *net.Interface { return c.ifi }

// Close leaves the joined groups and closes the socket; a blocked
// ReadFrame returns an error.
func (c *Conn) Close() error {
	for _, g := range c.groups {
		c.c.LeaveGroup(g) // closing the socket drops memberships anyway
	}
	if err := c.c.Close(); err != nil {
		return fmt.Errorf("eapol: close on %s: %w", c.ifi.Name, err)
	}
	return nil
}
