// Package cmac implements AES-CMAC (NIST SP 800-38B, RFC 4493), the MAC that
// IEEE 802.1X-2020 uses for the MKA key derivation function and the MKPDU
// integrity check value.
//
// Only AES block ciphers are supported because MKA uses nothing else; the
// implementation follows RFC 4493 section 2 literally and is tested against
// its four examples.
package cmac

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"fmt"
	"hash"
)

// Size is the length of an AES-CMAC tag in octets.
const Size = aes.BlockSize

// rb is the constant R_b of RFC 4493 2.3 for 128-bit blocks.
const rb = 0x87

type mac struct {
	c      cipher.Block
	k1, k2 [Size]byte
	x      [Size]byte // running CBC state
	buf    [Size]byte // pending (possibly last) block
	n      int        // octets in buf
	last   [Size]byte // scratch for Sum, kept here so Sum does not allocate
}

// New returns an AES-CMAC hash.Hash keyed with key (16, 24 or 32 octets).
// Sum does not change the state, so a tag can be taken mid-stream.
func New(key []byte) (hash.Hash, error) {
	c, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("cmac: %w", err)
	}
	m := &mac{c: c}
	// Subkey generation, RFC 4493 2.3.
	var l [Size]byte
	c.Encrypt(l[:], l[:])
	shift(&m.k1, &l)
	shift(&m.k2, &m.k1)
	clear(l[:])
	return m, nil
}

// shift sets dst to src<<1, xoring R_b in when the top bit falls off. The
// xor is masked rather than branched so subkey derivation does not leak
// the key-dependent bit through timing.
func shift(dst, src *[Size]byte) {
	var carry byte
	for i := Size - 1; i >= 0; i-- {
		b := src[i]
		dst[i] = b<<1 | carry
		carry = b >> 7
	}
	dst[Size-1] ^= rb & -carry
}

// Sum computes the AES-CMAC of msg under key in one call.
func Sum(key, msg []byte) ([Size]byte, error) {
	var t [Size]byte
	h, err := New(key)
	if err != nil {
		return t, err
	}
	h.Write(msg)
	h.Sum(t[:0])
	return t, nil
}

// Equal compares two tags in constant time.
func Equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

func (m *mac) Size() int      { return Size }
func (m *mac) BlockSize() int { return Size }

func (m *mac) Reset() {
	clear(m.x[:])
	clear(m.buf[:])
	m.n = 0
}

// Write absorbs p. The last (possibly complete) block is held back in buf
// because RFC 4493 treats a final complete block differently (K1) from the
// blocks before it.
func (m *mac) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		if m.n == Size {
			subtle.XORBytes(m.x[:], m.x[:], m.buf[:])
			m.c.Encrypt(m.x[:], m.x[:])
			m.n = 0
		}
		k := copy(m.buf[m.n:], p)
		m.n += k
		p = p[k:]
	}
	return total, nil
}

// Sum appends the tag of the data written so far to b.
func (m *mac) Sum(b []byte) []byte {
	last := &m.last
	if m.n == Size {
		subtle.XORBytes(last[:], m.buf[:], m.k1[:])
	} else {
		clear(last[:])
		copy(last[:], m.buf[:m.n])
		last[m.n] = 0x80
		subtle.XORBytes(last[:], last[:], m.k2[:])
	}
	subtle.XORBytes(last[:], last[:], m.x[:])
	m.c.Encrypt(last[:], last[:])
	return append(b, last[:]...)
}
