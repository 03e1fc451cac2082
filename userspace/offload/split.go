package offload

import (
	"encoding/binary"
	"errors"
)

// Errors of Split; all are input errors the caller counts and drops.
var (
	ErrGSOType     = errors.New("offload: unsupported GSO type")
	ErrMalformed   = errors.New("offload: super-frame headers malformed")
	ErrTooManySegs = errors.New("offload: super-frame has more segments than buffers")
	ErrOutBuf      = errors.New("offload: segment does not fit its buffer")
)

const (
	etherTypeIPv4 = 0x0800
	etherTypeIPv6 = 0x86DD
	etherTypeVLAN = 0x8100
	protoTCP      = 6
	protoUDP      = 17
	tcpFlagFIN    = 0x01
	tcpFlagPSH    = 0x08
	tcpFlagCWR    = 0x80
)

// l3Offset returns the offset of the IP header in an Ethernet frame (after
// at most one VLAN tag) and the IP version.
func l3Offset(frame []byte) (off int, v6 bool, ok bool) {
	if len(frame) < 14 {
		return 0, false, false
	}
	et := binary.BigEndian.Uint16(frame[12:])
	off = 14
	if et == etherTypeVLAN {
		if len(frame) < 18 {
			return 0, false, false
		}
		et = binary.BigEndian.Uint16(frame[16:])
		off = 18
	}
	switch et {
	case etherTypeIPv4:
		return off, false, len(frame) >= off+20 && frame[off]>>4 == 4
	case etherTypeIPv6:
		return off, true, len(frame) >= off+40 && frame[off]>>4 == 6
	}
	return 0, false, false
}

// Split turns one frame read from a TAP (virtio-net header hdr, Ethernet
// frame in frame) into wire frames: each segment is written to
// outs[i][offset:] and its length stored in sizes[i]. A frame without GSO
// is copied to outs[0] with its partial checksum finished. It returns the
// number of frames written.
//
// The segments of a TCP super-frame carry consecutive sequence numbers,
// FIN and PSH only on the last, CWR only on the first, fresh IPv4
// identifiers and checksums, as the kernel's own software GSO would make
// them.
func Split(hdr VnetHdr, frame []byte, outs [][]byte, offset int, sizes []int) (int, error) {
	gso := hdr.GSOType &^ GSOECN
	if gso == GSONone {
		if len(outs) == 0 || len(sizes) == 0 {
			return 0, ErrTooManySegs
		}
		if offset+len(frame) > len(outs[0]) {
			return 0, ErrOutBuf
		}
		out := outs[0][offset : offset+len(frame)]
		copy(out, frame)
		if hdr.Flags&FlagNeedsCsum != 0 {
			if err := finishCsum(out, int(hdr.CsumStart), int(hdr.CsumOffset)); err != nil {
				return 0, err
			}
		}
		sizes[0] = len(frame)
		return 1, nil
	}
	ipOff, v6, ok := l3Offset(frame)
	if !ok || hdr.GSOSize == 0 || hdr.Flags&FlagNeedsCsum == 0 {
		return 0, ErrMalformed
	}
	l4Off := int(hdr.CsumStart)
	var proto uint8
	var l4Len int
	switch gso {
	case GSOTCPv4, GSOTCPv6:
		if (gso == GSOTCPv6) != v6 || l4Off+20 > len(frame) {
			return 0, ErrMalformed
		}
		proto, l4Len = protoTCP, int(frame[l4Off+12]>>4)*4
		if l4Len < 20 {
			return 0, ErrMalformed
		}
	case GSOUDPL4:
		proto, l4Len = protoUDP, 8
	default:
		return 0, ErrGSOType
	}
	// The kernel's hdr_len may cover more than the headers; the transport
	// header says where the payload starts.
	hdrLen := l4Off + l4Len
	if v6 {
		if l4Off != ipOff+40 || frame[ipOff+6] != proto {
			return 0, ErrMalformed
		}
	} else {
		ihl := int(frame[ipOff]&0x0f) * 4
		if ihl < 20 || l4Off != ipOff+ihl || frame[ipOff+9] != proto {
			return 0, ErrMalformed
		}
	}
	if hdrLen > len(frame) {
		return 0, ErrMalformed
	}
	payload := frame[hdrLen:]
	mss := int(hdr.GSOSize)
	nseg := (len(payload) + mss - 1) / mss
	if nseg == 0 {
		nseg = 1
	}
	if nseg > len(outs) || nseg > len(sizes) {
		return 0, ErrTooManySegs
	}
	var srcdst []byte
	if v6 {
		srcdst = frame[ipOff+8 : ipOff+40]
	} else {
		srcdst = frame[ipOff+12 : ipOff+20]
	}
	half := len(srcdst) / 2
	var seq uint32
	var id uint16
	var flags uint8
	if proto == protoTCP {
		seq = binary.BigEndian.Uint32(frame[l4Off+4:])
		flags = frame[l4Off+13]
	}
	if !v6 {
		id = binary.BigEndian.Uint16(frame[ipOff+4:])
	}
	for i := 0; i < nseg; i++ {
		chunk := payload[min(i*mss, len(payload)):min((i+1)*mss, len(payload))]
		n := hdrLen + len(chunk)
		if offset+n > len(outs[i]) {
			return 0, ErrOutBuf
		}
		out := outs[i][offset : offset+n]
		copy(out, frame[:hdrLen])
		copy(out[hdrLen:], chunk)
		if v6 {
			binary.BigEndian.PutUint16(out[ipOff+4:], uint16(n-ipOff-40))
		} else {
			binary.BigEndian.PutUint16(out[ipOff+2:], uint16(n-ipOff))
			binary.BigEndian.PutUint16(out[ipOff+4:], id+uint16(i))
			out[ipOff+10], out[ipOff+11] = 0, 0
			binary.BigEndian.PutUint16(out[ipOff+10:], Checksum(out[ipOff:l4Off]))
		}
		l4 := out[l4Off:]
		var csumAt int
		if proto == protoTCP {
			binary.BigEndian.PutUint32(l4[4:], seq+uint32(i*mss))
			f := flags
			if i != nseg-1 {
				f &^= tcpFlagFIN | tcpFlagPSH
			}
			if i != 0 {
				f &^= tcpFlagCWR
			}
			l4[13] = f
			csumAt = 16
		} else {
			binary.BigEndian.PutUint16(l4[4:], uint16(len(l4)))
			csumAt = 6
		}
		l4[csumAt], l4[csumAt+1] = 0, 0
		c := ^fold(sum(l4, pseudoSum(srcdst[:half], srcdst[half:], proto, len(l4))))
		if proto == protoUDP && c == 0 {
			c = 0xffff // zero means "no checksum" in UDP
		}
		binary.BigEndian.PutUint16(l4[csumAt:], c)
		sizes[i] = n
	}
	return nseg, nil
}

// finishCsum completes a CHECKSUM_PARTIAL frame: the field at
// start+off holds the pseudo-header sum, and the checksum covers
// everything from start to the end.
func finishCsum(frame []byte, start, off int) error {
	if start+off+2 > len(frame) || start > len(frame) {
		return ErrMalformed
	}
	c := ^fold(sum(frame[start:], 0))
	if off == 6 && c == 0 {
		c = 0xffff // UDP: zero means "no checksum"
	}
	binary.BigEndian.PutUint16(frame[start+off:], c)
	return nil
}
