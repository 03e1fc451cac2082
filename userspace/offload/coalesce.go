package offload

import (
	"bytes"
	"encoding/binary"
)

// MaxFrame is the largest frame a Coalescer builds: an IP packet of at most
// 65535 octets behind an Ethernet header and a VLAN tag.
const MaxFrame = 18 + 65535

// maxFlows is how many flows a Coalescer keeps open at once; a batch holds
// at most 128 frames, and bulk transfers are few.
const maxFlows = 8

// maxUDPSegs bounds the datagrams of one UDP super-frame, as the kernel
// bounds those of a UDP_SEGMENT send (UDP_MAX_SEGMENTS).
const maxUDPSegs = 64

// Writer receives finished frames, virtio-net header first (a TAP queue).
type Writer interface {
	Write(b []byte) (int, error)
}

// Coalescer merges consecutive in-order TCP segments of a flow into one
// super-frame with a GSO virtio-net header, as the kernel's GRO would, and
// writes everything else through unchanged. One Coalescer serves one
// worker; its buffers are allocated once.
//
// With UDP set (the TAP has USO, kernel 6.2 and later) it also merges
// consecutive datagrams of a UDP flow that have the same length (the last
// may be shorter) into one USO super-frame: the kernel splits it again
// before any socket sees it, but the TAP is written once per train of
// small datagrams instead of once per datagram.
//
// Only segments that authenticated as coming from a peer SecY are offered
// (the caller's job), so their checksums, written by the peer's stack or
// its Split, are trusted: the super-frame goes up as CHECKSUM_PARTIAL.
type Coalescer struct {
	// UDP enables merging UDP datagrams (see above).
	UDP   bool
	w     Writer
	flows [maxFlows]groFlow
	// one is the buffer for frames written alone.
	one []byte

	// Frames and Writes count frames offered and writes made, so that
	// tests and benchmarks see the coalescing ratio; Errors counts failed
	// writes (the TAP refused a frame).
	Frames, Writes, Errors uint64
	// LastErr is the last write error.
	LastErr error
}

type groFlow struct {
	active  bool
	udp     bool   // a UDP flow; else TCP
	buf     []byte // virtio-net header, then the frame being built
	n       int    // octets of buf in use
	v6      bool
	ipOff   int
	l4Off   int
	hdrLen  int // Ethernet+IP+TCP header length of the frame being built
	mss     int // payload length of the first segment
	segs    int
	nextSeq uint32
}

// NewCoalescer returns a Coalescer that writes to w.
func NewCoalescer(w Writer) *Coalescer {
	c := &Coalescer{w: w, one: make([]byte, VnetHdrLen+MaxFrame)}
	for i := range c.flows {
		c.flows[i].buf = make([]byte, VnetHdrLen+MaxFrame)
	}
	return c
}

// l4Offsets locates the transport header of a frame that carries proto
// in IPv4 without options or fragments, or in IPv6 without extension
// headers: the IP header's offset, the transport header's, and where the
// IP packet ends (before any Ethernet padding, within the frame).
func l4Offsets(frame []byte, proto uint8) (v6 bool, ipOff, l4Off, ipEnd int, ok bool) {
	ipOff, v6, ok = l3Offset(frame)
	if !ok {
		return
	}
	if v6 {
		if frame[ipOff+6] != proto {
			return v6, 0, 0, 0, false
		}
		l4Off = ipOff + 40
		ipEnd = l4Off + int(binary.BigEndian.Uint16(frame[ipOff+4:]))
	} else {
		if frame[ipOff] != 0x45 || frame[ipOff+9] != proto ||
			binary.BigEndian.Uint16(frame[ipOff+6:])&0x3fff != 0 { // MF or fragment offset
			return v6, 0, 0, 0, false
		}
		l4Off = ipOff + 20
		ipEnd = ipOff + int(binary.BigEndian.Uint16(frame[ipOff+2:]))
	}
	return v6, ipOff, l4Off, ipEnd, ipEnd <= len(frame)
}

// tcpInfo is what Add needs to know about a segment.
type tcpInfo struct {
	pktInfo
	seq   uint32
	flags uint8
}

// pktInfo is where a frame's headers and payload are.
type pktInfo struct {
	v6           bool
	ipOff, l4Off int
	hdrLen       int // up to the payload
	payload      int
}

// parseTCP reports whether frame is a TCP segment the coalescer may merge:
// IPv4 without options or fragments, or IPv6 without extension headers;
// TCP with payload and only ACK and PSH set.
func parseTCP(frame []byte) (tcpInfo, bool) {
	var t tcpInfo
	var ipEnd int
	var ok bool
	t.v6, t.ipOff, t.l4Off, ipEnd, ok = l4Offsets(frame, protoTCP)
	if !ok || t.l4Off+20 > ipEnd {
		return t, false
	}
	t.hdrLen = t.l4Off + int(frame[t.l4Off+12]>>4)*4
	if t.hdrLen < t.l4Off+20 || t.hdrLen >= ipEnd {
		return t, false
	}
	t.flags = frame[t.l4Off+13]
	if t.flags&^(tcpFlagPSH|0x10) != 0 || t.flags&0x10 == 0 {
		return t, false
	}
	t.payload = ipEnd - t.hdrLen
	t.seq = binary.BigEndian.Uint32(frame[t.l4Off+4:])
	// Trailing Ethernet padding is not part of the segment.
	return t, true
}

// sameFlowHeaders reports whether seg may extend f: same addresses, ports,
// ACK number, IP TOS/TTL (IPv4) or traffic class/hop limit (IPv6), and
// identical TCP options.
func (f *groFlow) sameFlow(frame []byte, t *tcpInfo) bool {
	if f.udp || f.v6 != t.v6 || f.ipOff != t.ipOff || f.hdrLen != t.hdrLen {
		return false
	}
	h := f.buf[VnetHdrLen:]
	// MAC addresses and EtherType.
	if !bytes.Equal(h[:t.ipOff], frame[:t.ipOff]) {
		return false
	}
	ip, sip := h[t.ipOff:], frame[t.ipOff:]
	if t.v6 {
		// Version/traffic class/flow label, next header, hop limit, addresses.
		if !bytes.Equal(ip[0:4], sip[0:4]) || !bytes.Equal(ip[6:40], sip[6:40]) {
			return false
		}
	} else {
		// TOS, TTL, protocol, addresses.
		if ip[1] != sip[1] || ip[8] != sip[8] || !bytes.Equal(ip[12:20], sip[12:20]) {
			return false
		}
	}
	tcp, stcp := h[t.l4Off:t.hdrLen], frame[t.l4Off:t.hdrLen]
	// Ports, ACK number, data offset, options.
	return bytes.Equal(tcp[0:4], stcp[0:4]) && bytes.Equal(tcp[8:13], stcp[8:13]) &&
		bytes.Equal(tcp[20:], stcp[20:])
}

// Add offers one Ethernet frame, buf[start:]. Frames that cannot be merged
// are written at once, after any open super-frame of the same flow so that
// the flow stays in order; with start >= VnetHdrLen their virtio-net
// header is written in place in front of the frame instead of copying it.
func (c *Coalescer) Add(buf []byte, start int) {
	c.Frames++
	frame := buf[start:]
	t, ok := parseTCP(frame)
	if !ok {
		if c.UDP {
			if u, ok := parseUDP(frame); ok {
				c.addUDP(frame[:u.hdrLen+u.payload], &u)
				return
			}
		}
		c.flushMatching(frame)
		c.writeOne(buf, start)
		return
	}
	seg := frame[:t.hdrLen+t.payload]
	f, open := c.flowFor(func(f *groFlow) bool { return f.sameFlow(seg, &t) })
	if open {
		if t.seq == f.nextSeq && t.payload <= f.mss && f.n+t.payload <= len(f.buf) &&
			f.n-VnetHdrLen-f.ipOff+t.payload <= 65535 {
			copy(f.buf[f.n:], seg[t.hdrLen:])
			f.n += t.payload
			f.segs++
			f.nextSeq += uint32(t.payload)
			if t.flags&tcpFlagPSH != 0 {
				f.buf[VnetHdrLen+f.l4Off+13] |= tcpFlagPSH
			}
			// A short segment or PSH ends what GRO would merge.
			if t.payload < f.mss || t.flags&tcpFlagPSH != 0 {
				c.flush(f)
			}
			return
		}
		// Out of order or a different size: what is built goes first.
		c.flush(f)
	}
	f.active, f.udp = true, false
	f.v6, f.ipOff, f.l4Off, f.hdrLen = t.v6, t.ipOff, t.l4Off, t.hdrLen
	f.mss, f.segs = t.payload, 1
	f.nextSeq = t.seq + uint32(t.payload)
	f.n = VnetHdrLen + copy(f.buf[VnetHdrLen:], seg)
	if t.flags&tcpFlagPSH != 0 {
		c.flush(f)
	}
}

// flowFor returns the open flow that match accepts (open true), or else
// the slot for a new flow: a free one, or the first, flushed, when all
// are busy with other flows.
func (c *Coalescer) flowFor(match func(*groFlow) bool) (f *groFlow, open bool) {
	var free *groFlow
	for i := range c.flows {
		f := &c.flows[i]
		if !f.active {
			if free == nil {
				free = f
			}
			continue
		}
		if match(f) {
			return f, true
		}
	}
	if free == nil {
		free = &c.flows[0]
		c.flush(free)
	}
	return free, false
}

// flushMatching flushes an open flow whose addresses match a frame that is
// about to be written alone (a FIN, a pure ACK), keeping flow order.
func (c *Coalescer) flushMatching(frame []byte) {
	ipOff, v6, ok := l3Offset(frame)
	if !ok {
		return
	}
	for i := range c.flows {
		f := &c.flows[i]
		if !f.active || f.v6 != v6 || f.ipOff != ipOff {
			continue
		}
		h := f.buf[VnetHdrLen+ipOff:]
		s := frame[ipOff:]
		if v6 && bytes.Equal(h[8:40], s[8:40]) || !v6 && bytes.Equal(h[12:20], s[12:20]) {
			c.flush(f)
		}
	}
}

// Flush writes every open super-frame; the worker calls it at the end of
// each received batch so that nothing waits for a next batch.
func (c *Coalescer) Flush() {
	for i := range c.flows {
		if c.flows[i].active {
			c.flush(&c.flows[i])
		}
	}
}

func (c *Coalescer) flush(f *groFlow) {
	f.active = false
	b := f.buf[:f.n]
	h := VnetHdr{}
	if f.segs > 1 {
		f.finish(b[VnetHdrLen:], &h)
	}
	h.Encode(b)
	c.write(b)
}

// finish makes the headers of a merged flow those of one GSO super-frame:
// IP length (and IPv4 header checksum) of the whole, the UDP length, and
// the transport checksum field holding the pseudo-header sum. That is
// CHECKSUM_PARTIAL: the kernel finishes it (or nobody, for local
// delivery), and for USO adjusts it for each datagram it cuts.
func (f *groFlow) finish(frame []byte, h *VnetHdr) {
	ip := frame[f.ipOff:]
	l4Len := len(frame) - f.l4Off
	proto, csumOff := uint8(protoTCP), 16
	h.GSOType = GSOTCPv4
	if f.udp {
		proto, csumOff = protoUDP, 6
		h.GSOType = GSOUDPL4
		binary.BigEndian.PutUint16(frame[f.l4Off+4:], uint16(l4Len))
	}
	var ps uint64
	if f.v6 {
		if !f.udp {
			h.GSOType = GSOTCPv6
		}
		binary.BigEndian.PutUint16(ip[4:], uint16(l4Len))
		ps = pseudoSum(ip[8:24], ip[24:40], proto, l4Len)
	} else {
		binary.BigEndian.PutUint16(ip[2:], uint16(len(frame)-f.ipOff))
		ip[10], ip[11] = 0, 0
		binary.BigEndian.PutUint16(ip[10:], Checksum(ip[:20]))
		ps = pseudoSum(ip[12:16], ip[16:20], proto, l4Len)
	}
	binary.BigEndian.PutUint16(frame[f.l4Off+csumOff:], fold(ps))
	h.Flags = FlagNeedsCsum
	h.HdrLen = uint16(f.hdrLen)
	h.GSOSize = uint16(f.mss)
	h.CsumStart = uint16(f.l4Off)
	h.CsumOffset = uint16(csumOff)
}

// writeOne writes a frame that is not merged.
func (c *Coalescer) writeOne(buf []byte, start int) {
	var h VnetHdr
	if start >= VnetHdrLen {
		h.Encode(buf[start-VnetHdrLen:])
		c.write(buf[start-VnetHdrLen:])
		return
	}
	frame := buf[start:]
	if len(frame) > MaxFrame {
		c.Errors++
		return
	}
	h.Encode(c.one)
	n := VnetHdrLen + copy(c.one[VnetHdrLen:], frame)
	c.write(c.one[:n])
}

func (c *Coalescer) write(b []byte) {
	c.Writes++
	if _, err := c.w.Write(b); err != nil {
		c.Errors++
		c.LastErr = err
	}
}

// parseUDP reports whether frame is a UDP datagram the coalescer may
// merge: IPv4 without options or fragments and with a checksum, or IPv6
// without extension headers; a UDP length that matches the IP length.
func parseUDP(frame []byte) (pktInfo, bool) {
	var u pktInfo
	var ipEnd int
	var ok bool
	u.v6, u.ipOff, u.l4Off, ipEnd, ok = l4Offsets(frame, protoUDP)
	if !ok {
		return u, false
	}
	u.hdrLen = u.l4Off + 8
	if u.hdrLen >= ipEnd ||
		int(binary.BigEndian.Uint16(frame[u.l4Off+4:])) != ipEnd-u.l4Off {
		return u, false
	}
	// An IPv4 datagram sent without a checksum would come out of the
	// kernel's segmentation with one: leave it as it is.
	if !u.v6 && binary.BigEndian.Uint16(frame[u.l4Off+6:]) == 0 {
		return u, false
	}
	u.payload = ipEnd - u.hdrLen
	return u, true
}

// sameUDPFlow reports whether datagram d may extend f: same addresses,
// ports, IPv4 TOS, TTL and DF or IPv6 traffic class, flow label and hop
// limit.
func (f *groFlow) sameUDPFlow(d []byte, u *pktInfo) bool {
	if !f.udp || f.v6 != u.v6 || f.ipOff != u.ipOff {
		return false
	}
	h := f.buf[VnetHdrLen:]
	if !bytes.Equal(h[:u.ipOff], d[:u.ipOff]) {
		return false
	}
	ip, dip := h[u.ipOff:], d[u.ipOff:]
	if u.v6 {
		if !bytes.Equal(ip[0:4], dip[0:4]) || !bytes.Equal(ip[6:40], dip[6:40]) {
			return false
		}
	} else if ip[1] != dip[1] || ip[6]&0x40 != dip[6]&0x40 || ip[8] != dip[8] || !bytes.Equal(ip[12:20], dip[12:20]) {
		return false
	}
	return bytes.Equal(h[u.l4Off:u.l4Off+4], d[u.l4Off:u.l4Off+4])
}

// addUDP merges datagram d into its flow's super-frame or starts one.
func (c *Coalescer) addUDP(d []byte, u *pktInfo) {
	f, open := c.flowFor(func(f *groFlow) bool { return f.sameUDPFlow(d, u) })
	if open {
		if u.payload <= f.mss && f.segs < maxUDPSegs && f.n+u.payload <= len(f.buf) &&
			f.n-VnetHdrLen-f.ipOff+u.payload <= 65535 {
			copy(f.buf[f.n:], d[u.hdrLen:])
			f.n += u.payload
			f.segs++
			// Only the last datagram of a super-frame may be shorter.
			if u.payload < f.mss {
				c.flush(f)
			}
			return
		}
		c.flush(f)
	}
	f.active, f.udp = true, true
	f.v6, f.ipOff, f.l4Off, f.hdrLen = u.v6, u.ipOff, u.l4Off, u.hdrLen
	f.mss, f.segs = u.payload, 1
	f.n = VnetHdrLen + copy(f.buf[VnetHdrLen:], d)
}
