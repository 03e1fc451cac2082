package link

import (
	"encoding/binary"
)

// encoder builds one netlink request in a buffer that the Conn owns, so
// that key octets pass only through memory this package zeroes after the
// send (mdlayher/netlink's AttributeEncoder and Message.MarshalBinary copy
// into buffers that are left to the garbage collector).
type encoder struct {
	b     []byte
	nests []int // offsets of the open nested attributes
}

const (
	nlmsgHdrLen = 16 // struct nlmsghdr
	genlHdrLen  = 4  // struct genlmsghdr
	ifinfoLen   = 16 // struct ifinfomsg
	nlaHdrLen   = 4  // struct nlattr
	nlaNested   = 0x8000
)

func align4(n int) int { return (n + 3) &^ 3 }

// put appends p. When the buffer must grow, the old array is zeroed after
// the copy, so no earlier part of a key is left behind for the garbage
// collector.
func (e *encoder) put(p ...byte) {
	if cap(e.b)-len(e.b) < len(p) {
		nb := make([]byte, len(e.b), 2*cap(e.b)+len(p)+256)
		copy(nb, e.b)
		clear(e.b[:cap(e.b)])
		e.b = nb
	}
	e.b = append(e.b, p...)
}

// reset starts a new message of the given type and flags; seq and pid are
// filled in by the sender.
func (e *encoder) reset(typ, flags uint16) {
	clear(e.b)
	e.b = e.b[:0]
	e.nests = e.nests[:0]
	var h [nlmsgHdrLen]byte
	binary.NativeEndian.PutUint16(h[4:], typ)
	binary.NativeEndian.PutUint16(h[6:], flags)
	e.put(h[:]...)
}

// genl appends a generic netlink header.
func (e *encoder) genl(cmd, version uint8) {
	e.put(cmd, version, 0, 0)
}

// ifinfo appends a struct ifinfomsg.
func (e *encoder) ifinfo(index int32, flags, change uint32) {
	var h [ifinfoLen]byte
	h[0] = 0 // AF_UNSPEC
	binary.NativeEndian.PutUint32(h[4:], uint32(index))
	binary.NativeEndian.PutUint32(h[8:], flags)
	binary.NativeEndian.PutUint32(h[12:], change)
	e.put(h[:]...)
}

func (e *encoder) attr(typ uint16, payload []byte) {
	var h [nlaHdrLen]byte
	binary.NativeEndian.PutUint16(h[0:], uint16(nlaHdrLen+len(payload)))
	binary.NativeEndian.PutUint16(h[2:], typ)
	e.put(h[:]...)
	e.put(payload...)
	e.pad()
}

func (e *encoder) pad() {
	for len(e.b)%4 != 0 {
		e.put(0)
	}
}

func (e *encoder) u8(typ uint16, v uint8) { e.attr(typ, []byte{v}) }

func (e *encoder) flag8(typ uint16, v bool) {
	var b uint8
	if v {
		b = 1
	}
	e.u8(typ, b)
}

func (e *encoder) u16be(typ uint16, v uint16) {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	e.attr(typ, b[:])
}

func (e *encoder) u32be(typ uint16, v uint32) {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	e.attr(typ, b[:])
}

func (e *encoder) u32(typ uint16, v uint32) {
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], v)
	e.attr(typ, b[:])
}

func (e *encoder) u64(typ uint16, v uint64) {
	var b [8]byte
	binary.NativeEndian.PutUint64(b[:], v)
	e.attr(typ, b[:])
}

// str appends a NUL-terminated string attribute.
func (e *encoder) str(typ uint16, s string) {
	var h [nlaHdrLen]byte
	binary.NativeEndian.PutUint16(h[0:], uint16(nlaHdrLen+len(s)+1))
	binary.NativeEndian.PutUint16(h[2:], typ)
	e.put(h[:]...)
	e.put([]byte(s)...)
	e.put(0)
	e.pad()
}

// begin opens a nested attribute; end closes the innermost one.
func (e *encoder) begin(typ uint16) {
	e.nests = append(e.nests, len(e.b))
	var h [nlaHdrLen]byte
	binary.NativeEndian.PutUint16(h[2:], typ|nlaNested)
	e.put(h[:]...)
}

func (e *encoder) end() {
	off := e.nests[len(e.nests)-1]
	e.nests = e.nests[:len(e.nests)-1]
	binary.NativeEndian.PutUint16(e.b[off:], uint16(len(e.b)-off))
}

// finish writes the total length, sequence number and port id.
func (e *encoder) finish(seq, pid uint32) []byte {
	binary.NativeEndian.PutUint32(e.b[0:], uint32(len(e.b)))
	binary.NativeEndian.PutUint32(e.b[8:], seq)
	binary.NativeEndian.PutUint32(e.b[12:], pid)
	return e.b
}

// zero overwrites the whole buffer, including capacity beyond the current
// message that an earlier, longer request may have used.
func (e *encoder) zero() {
	clear(e.b[:cap(e.b)])
	e.b = e.b[:0]
}
