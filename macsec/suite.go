package macsec

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
)

// NonceLen is the GCM IV length of every MACsec cipher suite (96 bits).
const NonceLen = 12

// NewAEAD returns the GCM-AES AEAD of a cipher suite for key, which must be
// KeyLen octets. It is the only place the package creates a cipher; the
// caller owns the returned value (Go's GCM keeps the expanded key inside
// it, beyond the reach of Zero).
func NewAEAD(cs CipherSuite, key []byte) (cipher.AEAD, error) {
	if !cs.Valid() {
		return nil, fmt.Errorf("macsec: new AEAD: unsupported cipher suite %#016x", uint64(cs))
	}
	if len(key) != cs.KeyLen() {
		return nil, fmt.Errorf("macsec: new AEAD: %s needs a %d-octet key, got %d", cs, cs.KeyLen(), len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("macsec: new AEAD: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("macsec: new AEAD: %w", err)
	}
	return aead, nil
}

// PutNonce writes the GCM IV of 802.1AE-2018 14.5: the 64-bit SCI followed
// by the 32-bit PN.
func PutNonce(iv *[NonceLen]byte, sci SCI, pn uint32) {
	copy(iv[:8], sci[:])
	binary.BigEndian.PutUint32(iv[8:], pn)
}

// PutNonceXPN writes the GCM IV of the XPN suites (802.1AE-2018 14.7): the
// 32-bit SSCI followed by the 64-bit PN, XORed with the 96-bit salt.
func PutNonceXPN(iv *[NonceLen]byte, ssci uint32, pn uint64, salt *Salt) {
	binary.BigEndian.PutUint32(iv[:4], ssci^binary.BigEndian.Uint32(salt[:4]))
	binary.BigEndian.PutUint64(iv[4:], pn^binary.BigEndian.Uint64(salt[4:]))
}

// MaxPN is the last PN a suite can use: 2^32-1, or 2^64-1 with XPN. An SA
// that has used it stops (802.1AE-2018 10.5.2, 10.7.22).
func MaxPN(cs CipherSuite) uint64 {
	if cs.XPN() {
		return 1<<64 - 1
	}
	return 1<<32 - 1
}

// DefaultPNThreshold is the PN at which the SecY reports that an SA's PN
// space is nearly exhausted unless Config says otherwise: three quarters
// of the space, the value wpa_supplicant uses, which leaves MKA ample time
// to distribute a new SAK.
func DefaultPNThreshold(cs CipherSuite) uint64 {
	if cs.XPN() {
		return 0xC000000000000000
	}
	return 0xC0000000
}

// RecoverPN rebuilds the 64-bit PN of an XPN frame from the 32 bits on the
// wire and the receive SA's lowest acceptable PN (802.1AE-2018 10.6.2): the
// high half is that of the lowest acceptable PN when the low half is not
// below the lowest acceptable PN's low half, and one more otherwise. A
// replayed frame from before the window thus recovers a PN in the next
// epoch and fails the ICV check.
func RecoverPN(low uint32, lowestPN uint64) uint64 {
	high := lowestPN >> 32
	if low < uint32(lowestPN) {
		high++
	}
	return high<<32 | uint64(low)
}
