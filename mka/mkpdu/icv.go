package mkpdu

import (
	"crypto/subtle"
	"fmt"

	"github.com/macsecd/macsecd/crypto/cmac"
)

// ICV computes the ICV of an EAPOL-MKA frame: AES-CMAC under the ICK of
// the frame from the destination MAC address up to the ICV (802.1X-2020
// 9.4.1; wpa_supplicant includes the Ethernet header the same way).
func ICV(frame, ick []byte) ([ICVLen]byte, error) {
	var icv [ICVLen]byte
	off, err := icvOffset(frame)
	if err != nil {
		return icv, err
	}
	h, err := cmac.New(ick)
	if err != nil {
		return icv, fmt.Errorf("mkpdu: icv: %w", err)
	}
	h.Write(frame[:off])
	h.Sum(icv[:0])
	return icv, nil
}

// VerifyICV reports whether the frame's ICV is correct for ick, comparing
// in constant time. A frame too malformed to hold an ICV is not valid.
func VerifyICV(frame, ick []byte) bool {
	off, err := icvOffset(frame)
	if err != nil {
		return false
	}
	want, err := ICV(frame, ick)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(want[:], frame[off:off+ICVLen]) == 1
}
