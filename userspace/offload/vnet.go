// Package offload converts between the frames a TAP interface exchanges with
// the virtio-net header (IFF_VNET_HDR) and the MTU-sized frames that go on
// the wire: Split cuts TCP and UDP super-frames (TSO/USO) into segments and
// finishes partial checksums, and Coalescer merges consecutive TCP segments
// of a flow back into one super-frame before it is written to the TAP, so
// that the kernel runs its stack once per 64 KB instead of once per segment.
// wireguard-go's tun/offload_linux.go does the same at layer 3; here the
// frames are Ethernet frames.
//
// Nothing in this package allocates per frame; bad input is an error the
// caller counts and drops.
package offload

import (
	"encoding/binary"
	"errors"
)

// VnetHdrLen is the length of struct virtio_net_hdr, which precedes every
// frame on a TAP opened with IFF_VNET_HDR (without MRG_RXBUF).
const VnetHdrLen = 10

// virtio_net_hdr flags and GSO types (include/uapi/linux/virtio_net.h).
const (
	FlagNeedsCsum = 1 // VIRTIO_NET_HDR_F_NEEDS_CSUM
	FlagDataValid = 2 // VIRTIO_NET_HDR_F_DATA_VALID

	GSONone  = 0    // VIRTIO_NET_HDR_GSO_NONE
	GSOTCPv4 = 1    // VIRTIO_NET_HDR_GSO_TCPV4
	GSOUDP   = 3    // VIRTIO_NET_HDR_GSO_UDP (UFO, never requested)
	GSOTCPv6 = 4    // VIRTIO_NET_HDR_GSO_TCPV6
	GSOUDPL4 = 5    // VIRTIO_NET_HDR_GSO_UDP_L4 (USO)
	GSOECN   = 0x80 // VIRTIO_NET_HDR_GSO_ECN
)

// VnetHdr is a decoded virtio-net header. The TAP uses the host's byte
// order, little-endian on every architecture this project builds for.
type VnetHdr struct {
	Flags      uint8
	GSOType    uint8
	HdrLen     uint16
	GSOSize    uint16
	CsumStart  uint16
	CsumOffset uint16
}

// ErrShort reports a buffer shorter than a virtio-net header.
var ErrShort = errors.New("offload: frame shorter than the virtio-net header")

// DecodeVnetHdr decodes the header at the start of b.
func DecodeVnetHdr(b []byte) (VnetHdr, error) {
	if len(b) < VnetHdrLen {
		return VnetHdr{}, ErrShort
	}
	return VnetHdr{
		Flags:      b[0],
		GSOType:    b[1],
		HdrLen:     binary.LittleEndian.Uint16(b[2:]),
		GSOSize:    binary.LittleEndian.Uint16(b[4:]),
		CsumStart:  binary.LittleEndian.Uint16(b[6:]),
		CsumOffset: binary.LittleEndian.Uint16(b[8:]),
	}, nil
}

// Encode writes the header into b[:VnetHdrLen].
func (h *VnetHdr) Encode(b []byte) {
	_ = b[VnetHdrLen-1]
	b[0] = h.Flags
	b[1] = h.GSOType
	binary.LittleEndian.PutUint16(b[2:], h.HdrLen)
	binary.LittleEndian.PutUint16(b[4:], h.GSOSize)
	binary.LittleEndian.PutUint16(b[6:], h.CsumStart)
	binary.LittleEndian.PutUint16(b[8:], h.CsumOffset)
}
