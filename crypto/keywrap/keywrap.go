// Package keywrap implements the AES Key Wrap algorithm of RFC 3394 with
// the default initial value A6A6A6A6A6A6A6A6, which IEEE 802.1X-2020 uses
// to carry SAKs (and distributed CAKs) under the KEK in MKPDUs.
package keywrap

import (
	"crypto/aes"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
)

// defaultIV is the initial value of RFC 3394 2.2.3.1.
var defaultIV = [8]byte{0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6}

// ErrIntegrity is returned by Unwrap when the recovered integrity value does
// not match: wrong KEK or a corrupted ciphertext.
var ErrIntegrity = errors.New("keywrap: unwrap integrity check failed")

// Wrap wraps plain (a multiple of 8 octets, at least 16) under kek (16, 24
// or 32 octets) and returns len(plain)+8 octets.
func Wrap(kek, plain []byte) ([]byte, error) {
	if len(plain) < 16 || len(plain)%8 != 0 {
		return nil, fmt.Errorf("keywrap: wrap: plaintext length %d is not a multiple of 8 of at least 16", len(plain))
	}
	c, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("keywrap: wrap: %w", err)
	}
	n := len(plain) / 8
	out := make([]byte, len(plain)+8)
	copy(out[8:], plain)
	var b [16]byte
	copy(b[:8], defaultIV[:])
	for j := 0; j < 6; j++ {
		for i := 1; i <= n; i++ {
			copy(b[8:], out[8*i:8*i+8])
			c.Encrypt(b[:], b[:])
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(b[:8], binary.BigEndian.Uint64(b[:8])^t)
			copy(out[8*i:], b[8:])
		}
	}
	copy(out[:8], b[:8])
	clear(b[:])
	return out, nil
}

// Unwrap reverses Wrap. It returns ErrIntegrity (wrapped) when the
// integrity value does not check, and never returns partial plaintext.
func Unwrap(kek, wrapped []byte) ([]byte, error) {
	if len(wrapped) < 24 || len(wrapped)%8 != 0 {
		return nil, fmt.Errorf("keywrap: unwrap: ciphertext length %d is not a multiple of 8 of at least 24", len(wrapped))
	}
	c, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("keywrap: unwrap: %w", err)
	}
	n := len(wrapped)/8 - 1
	out := make([]byte, n*8)
	copy(out, wrapped[8:])
	var b [16]byte
	copy(b[:8], wrapped[:8])
	for j := 5; j >= 0; j-- {
		for i := n; i >= 1; i-- {
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(b[:8], binary.BigEndian.Uint64(b[:8])^t)
			copy(b[8:], out[8*(i-1):8*i])
			c.Decrypt(b[:], b[:])
			copy(out[8*(i-1):], b[8:])
		}
	}
	ok := subtle.ConstantTimeCompare(b[:8], defaultIV[:]) == 1
	clear(b[:])
	if !ok {
		clear(out)
		return nil, ErrIntegrity
	}
	return out, nil
}
