package offload

import (
	"encoding/binary"
	"math/bits"
)

// sum adds b to the one's complement accumulator acc, 8 octets at a time
// with end-around carry: the Internet checksum (RFC 1071) at memory speed,
// since every segment of a super-frame needs its own TCP checksum.
func sum(b []byte, acc uint64) uint64 {
	var c uint64
	for len(b) >= 32 {
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[0:]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[8:]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[16:]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[24:]), c)
		b = b[32:]
	}
	for len(b) >= 8 {
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b), c)
		b = b[8:]
	}
	acc, c = bits.Add64(acc, c, 0)
	if len(b) >= 4 {
		acc, c = bits.Add64(acc, uint64(binary.BigEndian.Uint32(b)), 0)
		acc += c
		b = b[4:]
	}
	if len(b) >= 2 {
		acc, c = bits.Add64(acc, uint64(binary.BigEndian.Uint16(b)), 0)
		acc += c
		b = b[2:]
	}
	if len(b) == 1 {
		acc, c = bits.Add64(acc, uint64(b[0])<<8, 0)
		acc += c
	}
	return acc
}

// fold reduces the accumulator to 16 bits.
func fold(acc uint64) uint16 {
	acc = acc>>32 + acc&0xffffffff
	acc = acc>>32 + acc&0xffffffff
	acc = acc>>16 + acc&0xffff
	acc = acc>>16 + acc&0xffff
	return uint16(acc)
}

// Checksum is the Internet checksum of b (the complemented folded sum).
func Checksum(b []byte) uint16 { return ^fold(sum(b, 0)) }

// pseudoSum is the sum of the TCP/UDP pseudo-header for an IPv4 (4-octet)
// or IPv6 (16-octet) address pair.
func pseudoSum(src, dst []byte, proto uint8, length int) uint64 {
	acc := sum(src, 0)
	acc = sum(dst, acc)
	acc, c := bits.Add64(acc, uint64(proto)+uint64(length), 0)
	return acc + c
}
