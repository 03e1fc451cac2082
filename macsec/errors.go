package macsec

import "errors"

// Data path errors. Protect and Validate return these sentinels (never a
// freshly allocated error) so that a dropped frame costs no allocation;
// test them with errors.Is. Every drop that 802.1AE counts has already
// been counted when the error is returned.
var (
	// ErrBadTag: the frame carries the MACsec EtherType but its SecTAG or
	// length is invalid (InPktsBadTag). The specific SecTAG errors
	// (ErrVersion, ErrTCI, ...) match it with errors.Is.
	ErrBadTag = errors.New("macsec: invalid SecTAG")
	// ErrNoTag: validateFrames is Strict and the frame has no SecTAG
	// (InPktsNoTag).
	ErrNoTag = errors.New("macsec: frame without SecTAG")
	// ErrNoSCI: no receive SC for the frame's SCI, and the frame is
	// encrypted or validateFrames is Strict (InPktsNoSCI).
	ErrNoSCI = errors.New("macsec: no receive SC for SCI")
	// ErrNotUsingSA: the frame's AN names no receive SA in use, and the
	// frame is encrypted or validateFrames is Strict (InPktsNotUsingSA).
	ErrNotUsingSA = errors.New("macsec: receive SA not in use")
	// ErrLate: the PN is below the lowest acceptable PN (InPktsLate).
	ErrLate = errors.New("macsec: PN below replay window")
	// ErrNotValid: the ICV check failed and the frame is encrypted or
	// validateFrames is Strict (InPktsNotValid).
	ErrNotValid = errors.New("macsec: ICV check failed")
	// ErrKaYFrame: E set and C clear, a combination reserved for frames
	// the KaY itself handles (802.1AE-2018 9.5); not for the Controlled
	// Port, not counted.
	ErrKaYFrame = errors.New("macsec: E without C: frame is for the KaY")

	// ErrPortDisabled: the Controlled Port is disabled; nothing passes.
	ErrPortDisabled = errors.New("macsec: controlled port disabled")
	// ErrNoTxSA: protectFrames is set but no transmit SA is in use.
	ErrNoTxSA = errors.New("macsec: no transmit SA in use")
	// ErrPNExhausted: the encoding SA has used its last PN and stopped;
	// MKA must install a new SA.
	ErrPNExhausted = errors.New("macsec: transmit SA PN exhausted")
	// ErrTooLong: the protected frame would exceed the maximum frame
	// length of the common port (OutPktsTooLong).
	ErrTooLong = errors.New("macsec: protected frame too long")
	// ErrBuffer: the caller's buffer lacks the headroom or tailroom that
	// Protect needs (see Headroom, Tailroom); a programming error, not
	// counted.
	ErrBuffer = errors.New("macsec: buffer lacks headroom or tailroom")
)

// tagError is a SecTAG decoding error; it matches ErrBadTag.
type tagError struct{ msg string }

// Error returns the message.
func (e *tagError) Error() string { return e.msg }

// Is makes every SecTAG error match ErrBadTag, the class Validate counts.
func (e *tagError) Is(target error) bool { return target == ErrBadTag }
