// Package keys implements the MKA key hierarchy of IEEE 802.1X-2020 6.2 and
// 9.3: the AES-CMAC key derivation function, the ICK and KEK derived from a
// CAK, SAK derivation by a key server, and CAK/CKN derivation from an EAP
// MSK.
//
// Every function returns a fresh slice that the caller owns and should
// clear when the key is retired; nothing here logs or keeps key material.
package keys

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"

	"github.com/macsecd/macsecd/crypto/cmac"
)

// Labels of the derivations (802.1X-2020 6.2.2, 9.3.3, 9.8.1). They are
// ASCII without a terminating NUL; the KDF adds its own 0x00 separator.
const (
	LabelICK    = "IEEE8021 ICK"
	LabelKEK    = "IEEE8021 KEK"
	LabelSAK    = "IEEE8021 SAK"
	LabelEAPCAK = "IEEE8021 EAP CAK"
	LabelEAPCKN = "IEEE8021 EAP CKN"
)

// MaxCKNLen is the longest CKN 802.1X-2020 allows (9.3.1).
const MaxCKNLen = 32

// KDF is the key derivation function of 802.1X-2020 6.2.1, AES-CMAC in
// NIST SP 800-108 counter mode:
//
//	for i = 1..ceil(L/128): K(i) = AES-CMAC(key, i || label || 0x00 || context || L)
//
// with i one octet and L (lengthBits) two octets, big-endian. The result is
// the leftmost lengthBits bits. key is 16 or 32 octets; lengthBits must be a
// positive multiple of 8 because every 802.1X key is octet aligned.
func KDF(key []byte, label string, context []byte, lengthBits int) ([]byte, error) {
	if lengthBits <= 0 || lengthBits%8 != 0 || lengthBits > 0xffff {
		return nil, fmt.Errorf("keys: kdf %q: length %d bits is not a positive multiple of 8 below 65536", label, lengthBits)
	}
	if err := checkKey("kdf "+label, key); err != nil {
		return nil, err
	}
	h, err := cmac.New(key)
	if err != nil {
		return nil, fmt.Errorf("keys: kdf %q: %w", label, err)
	}
	n := (lengthBits + 127) / 128
	if n > 255 {
		return nil, fmt.Errorf("keys: kdf %q: %d bits needs more than 255 blocks", label, lengthBits)
	}
	out := make([]byte, 0, n*cmac.Size)
	var l [2]byte
	binary.BigEndian.PutUint16(l[:], uint16(lengthBits))
	for i := 1; i <= n; i++ {
		h.Reset()
		h.Write([]byte{byte(i)})
		h.Write([]byte(label))
		h.Write([]byte{0})
		h.Write(context)
		h.Write(l[:])
		out = h.Sum(out)
	}
	if len(out) > lengthBits/8 {
		clear(out[lengthBits/8:])
	}
	return out[:lengthBits/8], nil
}

func checkKey(op string, key []byte) error {
	if len(key) != 16 && len(key) != 32 {
		return fmt.Errorf("keys: %s: key is %d octets, want 16 or 32", op, len(key))
	}
	return nil
}

// cknContext is the KEK and ICK context: the first 16 octets of the CKN,
// padded with zero octets when the CKN is shorter (802.1X-2020 9.3.3).
func cknContext(op string, ckn []byte) ([]byte, error) {
	if len(ckn) == 0 || len(ckn) > MaxCKNLen {
		return nil, fmt.Errorf("keys: %s: CKN is %d octets, want 1 to %d", op, len(ckn), MaxCKNLen)
	}
	ctx := make([]byte, 16)
	copy(ctx, ckn)
	return ctx, nil
}

// ICK derives the ICV Key from a CAK and its CKN; it is as long as the CAK.
func ICK(cak, ckn []byte) ([]byte, error) {
	ctx, err := cknContext("ick", ckn)
	if err != nil {
		return nil, err
	}
	if err := checkKey("ick", cak); err != nil {
		return nil, err
	}
	return KDF(cak, LabelICK, ctx, 8*len(cak))
}

// KEK derives the Key Encrypting Key from a CAK and its CKN; it is as long
// as the CAK.
func KEK(cak, ckn []byte) ([]byte, error) {
	ctx, err := cknContext("kek", ckn)
	if err != nil {
		return nil, err
	}
	if err := checkKey("kek", cak); err != nil {
		return nil, err
	}
	return KDF(cak, LabelKEK, ctx, 8*len(cak))
}

// SAK derives a Secure Association Key (802.1X-2020 9.8.1):
//
//	SAK = KDF(CAK, "IEEE8021 SAK", KS-nonce || MI-value list || KN, SAKlength)
//
// ksNonce is fresh randomness at least as long as the SAK; miValues are the
// MIs of the live participants in the order the key server lists them;
// keyLen is 16 or 32 octets (the cipher suite's key length).
//
// The standard allows a key server to generate the SAK from a random number
// generator instead; this derivation exists so that a key server can use
// it and so the implementation is checked against the published vector.
func SAK(cak, ksNonce []byte, miValues [][12]byte, keyNumber uint32, keyLen int) ([]byte, error) {
	if err := checkKey("sak", cak); err != nil {
		return nil, err
	}
	if keyLen != 16 && keyLen != 32 {
		return nil, fmt.Errorf("keys: sak: length %d octets, want 16 or 32", keyLen)
	}
	if len(ksNonce) < keyLen {
		return nil, fmt.Errorf("keys: sak: KS-nonce is %d octets, want at least %d", len(ksNonce), keyLen)
	}
	if len(miValues) == 0 {
		return nil, errors.New("keys: sak: empty MI-value list")
	}
	ctx := make([]byte, 0, len(ksNonce)+12*len(miValues)+4)
	ctx = append(ctx, ksNonce...)
	for _, mi := range miValues {
		ctx = append(ctx, mi[:]...)
	}
	ctx = binary.BigEndian.AppendUint32(ctx, keyNumber)
	defer clear(ctx)
	return KDF(cak, LabelSAK, ctx, 8*keyLen)
}

// macPair returns the two MAC addresses lowest first, the order the EAP
// CAK and CKN contexts use so both ends derive the same value.
func macPair(op string, mac1, mac2 net.HardwareAddr) ([]byte, error) {
	if len(mac1) != 6 || len(mac2) != 6 {
		return nil, fmt.Errorf("keys: %s: want two 6-octet MAC addresses, have %d and %d octets", op, len(mac1), len(mac2))
	}
	if bytes.Compare(mac1, mac2) > 0 {
		mac1, mac2 = mac2, mac1
	}
	return append(append(make([]byte, 0, 12), mac1...), mac2...), nil
}

// mskKey is the derivation key taken from an EAP MSK: its leftmost 16 or
// 32 octets, matching the CAK length.
func mskKey(op string, msk []byte, cakLen int) ([]byte, error) {
	if cakLen != 16 && cakLen != 32 {
		return nil, fmt.Errorf("keys: %s: CAK length %d octets, want 16 or 32", op, cakLen)
	}
	if len(msk) < cakLen {
		return nil, fmt.Errorf("keys: %s: MSK is %d octets, want at least %d", op, len(msk), cakLen)
	}
	return msk[:cakLen], nil
}

// CAKFromMSK derives the pairwise CAK after EAP (802.1X-2020 6.2.2):
//
//	CAK = KDF(MSK[0..cakLen-1], "IEEE8021 EAP CAK", MAC1 || MAC2, 8*cakLen)
//
// where MAC1 is the numerically lower of the supplicant's and the
// authenticator's MAC addresses, so the argument order does not matter.
func CAKFromMSK(msk []byte, mac1, mac2 net.HardwareAddr, cakLen int) ([]byte, error) {
	key, err := mskKey("eap cak", msk, cakLen)
	if err != nil {
		return nil, err
	}
	ctx, err := macPair("eap cak", mac1, mac2)
	if err != nil {
		return nil, err
	}
	return KDF(key, LabelEAPCAK, ctx, 8*cakLen)
}

// CKNFromMSK derives the CKN of the pairwise CAK after EAP (802.1X-2020
// 6.2.2):
//
//	CKN = KDF(MSK[0..cakLen-1], "IEEE8021 EAP CKN", EAP-Session-Id || MAC1 || MAC2, 8*cknLen)
//
// sessionID is the EAP Session-Id (RFC 5247), cknLen 1 to 32 octets
// (16 in practice).
func CKNFromMSK(msk, sessionID []byte, mac1, mac2 net.HardwareAddr, cakLen, cknLen int) ([]byte, error) {
	key, err := mskKey("eap ckn", msk, cakLen)
	if err != nil {
		return nil, err
	}
	if cknLen < 1 || cknLen > MaxCKNLen {
		return nil, fmt.Errorf("keys: eap ckn: CKN length %d octets, want 1 to %d", cknLen, MaxCKNLen)
	}
	macs, err := macPair("eap ckn", mac1, mac2)
	if err != nil {
		return nil, err
	}
	ctx := append(append(make([]byte, 0, len(sessionID)+12), sessionID...), macs...)
	return KDF(key, LabelEAPCKN, ctx, 8*cknLen)
}
