package macsec

import "encoding/binary"

// TCI bits of the SecTAG (802.1AE-2018 9.4, 9.5): the upper six bits of the
// TCI/AN octet. The low two bits carry the AN.
const (
	TCIVersion = 0x80 // V: version, always 0
	TCIES      = 0x40 // ES: end station, SCI implied by source MAC, port 1
	TCISC      = 0x20 // SC: SCI present in the SecTAG
	TCISCB     = 0x10 // SCB: single copy broadcast (EPON)
	TCIE       = 0x08 // E: encryption
	TCIC       = 0x04 // C: changed text (user data encrypted)

	tciANMask = 0x03
)

// Lengths of the parts of a MACsec frame, in octets.
const (
	// SecTAGLen is the SecTAG without an SCI: MACsec EtherType, TCI/AN,
	// SL and the 32-bit PN.
	SecTAGLen = 8
	// SecTAGLenSCI is the SecTAG with the explicit SCI.
	SecTAGLenSCI = SecTAGLen + 8
	// Headroom is the room that Protect needs in front of a clear frame
	// for the longest SecTAG.
	Headroom = SecTAGLenSCI
	// Tailroom is the room that Protect needs after a clear frame for the
	// ICV.
	Tailroom = ICVLen
	// Overhead is the most that protection adds to a frame.
	Overhead = Headroom + Tailroom

	// shortLenLimit: SL is set when the secure data is shorter than this
	// (802.1AE-2018 9.7).
	shortLenLimit = 48
	// macHeaderLen is DA + SA: the octets in front of the SecTAG in a
	// frame without a clear tag.
	macHeaderLen = 12
	// ethHeaderLen is DA + SA + EtherType, the shortest frame that says
	// whether it is a MACsec frame.
	ethHeaderLen = 14
	// minFrameLen is the minimum Ethernet frame without FCS; shorter
	// frames are padded up to it by the transmitting MAC.
	minFrameLen = 60
)

// PortES is the port identifier of the SCI that an ES (end station) SecTAG
// implies: the source MAC address with port 1 (802.1AE-2018 9.9).
const PortES = 1

// SecTAG is the decoded MAC Security TAG (802.1AE-2018 9.3). It is a plain
// value: parsing and marshalling allocate nothing.
type SecTAG struct {
	// TCI holds the TCI bits (TCIVersion ... TCIC); the AN bits are in AN.
	TCI uint8
	AN  AN
	// SL is the short length: the number of octets of secure data when it
	// is under 48, else 0.
	SL uint8
	// PN is the packet number as carried on the wire: the whole PN, or the
	// low 32 bits of an XPN.
	PN uint32
	// SCI is meaningful only when TCI has TCISC.
	SCI SCI
}

// HasSCI reports whether the SecTAG carries an explicit SCI.
func (t *SecTAG) HasSCI() bool { return t.TCI&TCISC != 0 }

// Len is the encoded length in octets, including the MACsec EtherType.
func (t *SecTAG) Len() int {
	if t.HasSCI() {
		return SecTAGLenSCI
	}
	return SecTAGLen
}

// MarshalTo encodes the SecTAG, starting with the MACsec EtherType, into b,
// which must hold Len octets, and returns the number of octets written.
func (t *SecTAG) MarshalTo(b []byte) int {
	n := t.Len()
	_ = b[n-1]
	binary.BigEndian.PutUint16(b[0:2], EtherType)
	b[2] = t.TCI&^tciANMask | uint8(t.AN)&tciANMask
	b[3] = t.SL
	binary.BigEndian.PutUint32(b[4:8], t.PN)
	if n == SecTAGLenSCI {
		copy(b[8:16], t.SCI[:])
	}
	return n
}

// Errors of SecTAG decoding. They say which rule of 802.1AE-2018 9.12 the
// frame broke; all of them match ErrBadTag with errors.Is, and Validate
// counts them as InPktsBadTag.
var (
	ErrTruncated error = &tagError{"macsec: frame too short for its SecTAG and ICV"}
	ErrNotMACsec error = &tagError{"macsec: not a MACsec EtherType"}
	ErrVersion   error = &tagError{"macsec: SecTAG version bit set"}
	ErrTCI       error = &tagError{"macsec: SecTAG TCI: SC set together with ES or SCB"}
	ErrCWithoutE error = &tagError{"macsec: SecTAG TCI: C set without E"}
	ErrReserved  error = &tagError{"macsec: SecTAG SL reserved bits set"}
	ErrShortLen  error = &tagError{"macsec: SecTAG SL does not match the secure data length"}
	ErrZeroPN    error = &tagError{"macsec: SecTAG PN is zero"}
)

// ParseSecTAG decodes a SecTAG that starts at b[0] with the MACsec
// EtherType. It checks only the tag itself (V, ES/SCB with SC, C without
// E, the reserved SL bits); the length rules need the whole frame and are
// checked by ParseFrame.
func ParseSecTAG(b []byte) (SecTAG, error) {
	var t SecTAG
	_, err := t.parse(b)
	return t, err
}

// parse decodes the SecTAG at b[0] into t and returns its length. It is
// the receive hot path: one pass, no copies of the frame.
func (t *SecTAG) parse(b []byte) (int, error) {
	if len(b) < SecTAGLen {
		return 0, ErrTruncated
	}
	if binary.BigEndian.Uint16(b) != EtherType {
		return 0, ErrNotMACsec
	}
	tci := b[2]
	t.TCI = tci &^ tciANMask
	t.AN = AN(tci & tciANMask)
	t.SL = b[3]
	t.PN = binary.BigEndian.Uint32(b[4:8])
	switch {
	case tci&TCIVersion != 0:
		return 0, ErrVersion
	case tci&TCISC != 0 && tci&(TCIES|TCISCB) != 0:
		return 0, ErrTCI
	case tci&(TCIE|TCIC) == TCIC:
		return 0, ErrCWithoutE
	case t.SL&^0x3f != 0:
		// SL is a 6-bit field; the two high bits are reserved and must
		// be zero (9.7).
		return 0, ErrReserved
	}
	if tci&TCISC == 0 {
		return SecTAGLen, nil
	}
	if len(b) < SecTAGLenSCI {
		return 0, ErrTruncated
	}
	t.SCI = SCI(b[8:16])
	return SecTAGLenSCI, nil
}

// Frame is the layout of a received MACsec frame as ParseFrame found it.
// Offsets index the frame passed to ParseFrame.
type Frame struct {
	Tag SecTAG
	// TagOffset is where the SecTAG (its EtherType) starts: 12 for a
	// frame whose SecTAG follows the MAC addresses. A clear VLAN tag in
	// front of the SecTAG would make it 16; ParseFrame takes the offset
	// as a parameter so that such a layout can be added without changing
	// the rest of the receive path.
	TagOffset int
	// DataOffset is where the secure data (the user data, encrypted or
	// not) starts.
	DataOffset int
	// ICVOffset is where the ICV starts; the ICV runs to the frame end.
	ICVOffset int
}

// SecureDataLen is the number of octets between the SecTAG and the ICV.
func (f *Frame) SecureDataLen() int { return f.ICVOffset - f.DataOffset }

// ParseFrame decodes the SecTAG of frame at tagOffset (12 for a frame
// without a clear tag) and checks the frame-level rules of 802.1AE-2018
// 9.12: room for the ICV, SL equal to the secure data length when set (a
// frame of minimum size may carry padding after the ICV, which Frame then
// excludes) and secure data of at least 48 octets when SL is zero, and a nonzero PN
// unless xpn (an XPN's low half may be zero).
func ParseFrame(frame []byte, tagOffset int, xpn bool) (Frame, error) {
	var f Frame
	err := f.parse(frame, tagOffset, xpn)
	return f, err
}

func (f *Frame) parse(frame []byte, tagOffset int, xpn bool) error {
	f.TagOffset = tagOffset
	if tagOffset < 0 || len(frame) < tagOffset {
		return ErrTruncated
	}
	tagLen, err := f.Tag.parse(frame[tagOffset:])
	if err != nil {
		return err
	}
	f.DataOffset = tagOffset + tagLen
	f.ICVOffset = len(frame) - ICVLen
	n := f.ICVOffset - f.DataOffset
	if n < 0 {
		return ErrTruncated
	}
	if sl := int(f.Tag.SL); sl != 0 {
		// A frame under the Ethernet minimum arrives padded after the
		// ICV; SL exists so that the receiver can remove the padding
		// (9.7). Padding is accepted only up to the minimum frame size.
		if sl > n || sl < n && len(frame) > minFrameLen {
			return ErrShortLen
		}
		f.ICVOffset = f.DataOffset + sl
	} else if n < shortLenLimit {
		return ErrShortLen
	}
	if f.Tag.PN == 0 && !xpn {
		return ErrZeroPN
	}
	return nil
}

// shortLen is the SL value for secure data of n octets.
func shortLen(n int) uint8 {
	if n < shortLenLimit {
		return uint8(n)
	}
	return 0
}
