package mkpdu

import (
	"crypto/subtle"
	"fmt"
	"hash"

	"github.com/macsecd/macsecd/crypto/cmac"
)

// ICVKey is an ICK prepared for computing and checking MKPDU ICVs without
// expanding the AES key or allocating per frame. It is for one goroutine
// at a time (the MKA actor); it keeps no copy of the ICK octets beyond the
// AES key schedule, which the garbage collector reclaims with it.
type ICVKey struct {
	h   hash.Hash
	sum [ICVLen]byte
}

// NewICVKey prepares ick (16 or 32 octets).
func NewICVKey(ick []byte) (*ICVKey, error) {
	h, err := cmac.New(ick)
	if err != nil {
		return nil, fmt.Errorf("mkpdu: ICK: %w", err)
	}
	return &ICVKey{h: h}, nil
}

// ICV computes the ICV of an EAPOL-MKA frame: AES-CMAC under the ICK of the
// frame from the destination MAC address up to the ICV (802.1X-2020 9.4.1;
// wpa_supplicant includes the Ethernet header the same way). The ICV is the
// last 16 octets of the EAPOL body, with or without an ICV Indicator.
func (k *ICVKey) ICV(frame []byte) ([ICVLen]byte, error) {
	off, err := icvOffset(frame)
	if err != nil {
		return [ICVLen]byte{}, err
	}
	return k.sumOf(frame[:off]), nil
}

func (k *ICVKey) sumOf(msg []byte) [ICVLen]byte {
	k.h.Reset()
	k.h.Write(msg)
	k.h.Sum(k.sum[:0])
	return k.sum
}

// Verify reports whether the frame's ICV is correct, comparing in constant
// time. A frame too malformed to hold an ICV is not valid.
func (k *ICVKey) Verify(frame []byte) bool {
	off, err := icvOffset(frame)
	if err != nil {
		return false
	}
	want := k.sumOf(frame[:off])
	return subtle.ConstantTimeCompare(want[:], frame[off:off+ICVLen]) == 1
}

// ICV is ICVKey.ICV with a one-off key.
func ICV(frame, ick []byte) ([ICVLen]byte, error) {
	k, err := NewICVKey(ick)
	if err != nil {
		return [ICVLen]byte{}, err
	}
	return k.ICV(frame)
}

// VerifyICV is ICVKey.Verify with a one-off key; a bad ICK verifies nothing.
func VerifyICV(frame, ick []byte) bool {
	k, err := NewICVKey(ick)
	if err != nil {
		return false
	}
	return k.Verify(frame)
}
