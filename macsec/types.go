// Package macsec implements the IEEE 802.1AE-2018 MAC Security frame engine:
// the SecTAG, the GCM-AES cipher suites (with XPN), the SecY model of
// transmit and receive secure channels and associations, the protect and
// validate procedures of clause 10, and the counters that 802.1AE and the
// Linux kernel define.
//
// The package does no I/O. Every SecY backend (kernel, hardware offload,
// userspace) and the key agreement in package mka share its types and the
// SecY interface declared in secy.go.
package macsec

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
)

// EtherType is the MACsec EtherType (802.1AE-2018 9.2).
const EtherType = 0x88E5

// ICVLen is the length of the integrity check value of every cipher suite
// this package implements.
const ICVLen = 16

// SCI is a Secure Channel Identifier: a 48-bit MAC address followed by a
// 16-bit port identifier, in network byte order (802.1AE-2018 8.2.1).
type SCI [8]byte

// MakeSCI returns the SCI for a MAC address and port identifier.
func MakeSCI(mac net.HardwareAddr, port uint16) SCI {
	var s SCI
	copy(s[:6], mac)
	binary.BigEndian.PutUint16(s[6:], port)
	return s
}

// SCIFromUint64 converts the numeric (big-endian) form of an SCI.
func SCIFromUint64(v uint64) SCI {
	var s SCI
	binary.BigEndian.PutUint64(s[:], v)
	return s
}

// Uint64 returns the SCI as a big-endian number; numeric order is the
// order 802.1X uses to break key-server ties.
func (s SCI) Uint64() uint64 { return binary.BigEndian.Uint64(s[:]) }

// MAC returns the MAC address part of the SCI.
func (s SCI) MAC() net.HardwareAddr { return net.HardwareAddr(append([]byte(nil), s[:6]...)) }

// Port returns the port identifier part of the SCI.
func (s SCI) Port() uint16 { return binary.BigEndian.Uint16(s[6:]) }

// String formats the SCI as 16 hex digits, as iproute2 prints it.
func (s SCI) String() string { return hex.EncodeToString(s[:]) }

// ParseSCI parses 16 hex digits (optionally with a 0x prefix).
func ParseSCI(str string) (SCI, error) {
	var s SCI
	if len(str) > 2 && (str[:2] == "0x" || str[:2] == "0X") {
		str = str[2:]
	}
	b, err := hex.DecodeString(str)
	if err != nil || len(b) != len(s) {
		return s, fmt.Errorf("macsec: SCI %q: want 16 hex digits", str)
	}
	copy(s[:], b)
	return s, nil
}

// AN is an Association Number, 0 to 3.
type AN uint8

// MaxAN is the highest association number.
const MaxAN AN = 3

// Valid reports whether the AN is in range.
func (a AN) Valid() bool { return a <= MaxAN }

// KeyID is the 16-octet key identifier of an SA (the MKA Key Identifier: key
// server MI followed by the 32-bit key number). Kernels and tools show it in
// place of the key.
type KeyID [16]byte

// String formats the key identifier as hex.
func (k KeyID) String() string { return hex.EncodeToString(k[:]) }

// Salt is the 96-bit salt of the XPN cipher suites.
type Salt [12]byte

// SAK is the key material of one secure association as a backend installs
// it. Backends copy what they keep; the caller zeroes Key when done.
type SAK struct {
	Key  []byte // 16 or 32 octets, matching the cipher suite
	ID   KeyID
	SSCI uint32 // XPN only: short SCI of the transmitter
	Salt Salt   // XPN only
}

// Zero overwrites the key octets.
func (k *SAK) Zero() { clear(k.Key) }

// CipherSuite is an IEEE 802.1AE cipher suite identifier.
type CipherSuite uint64

// The cipher suites of 802.1AE-2018 14.
const (
	GCMAES128    CipherSuite = 0x0080C20001000001
	GCMAES256    CipherSuite = 0x0080C20001000002
	GCMAESXPN128 CipherSuite = 0x0080C20001000003
	GCMAESXPN256 CipherSuite = 0x0080C20001000004

	// GCMAES128Legacy is the identifier the Linux kernel reports for
	// GCM-AES-128 (the pre-standard 00-80-02 prefix).
	GCMAES128Legacy CipherSuite = 0x0080020001000001
)

// CipherSuites lists the supported suites in preference order for
// announcements.
var CipherSuites = []CipherSuite{GCMAES128, GCMAES256, GCMAESXPN128, GCMAESXPN256}

// Canonical maps the legacy GCM-AES-128 identifier to the standard one.
func (c CipherSuite) Canonical() CipherSuite {
	if c == GCMAES128Legacy {
		return GCMAES128
	}
	return c
}

// Valid reports whether the suite is one this package implements.
func (c CipherSuite) Valid() bool {
	switch c.Canonical() {
	case GCMAES128, GCMAES256, GCMAESXPN128, GCMAESXPN256:
		return true
	}
	return false
}

// KeyLen is the SAK length in octets.
func (c CipherSuite) KeyLen() int {
	switch c.Canonical() {
	case GCMAES256, GCMAESXPN256:
		return 32
	}
	return 16
}

// XPN reports whether the suite uses 64-bit extended packet numbers.
func (c CipherSuite) XPN() bool {
	c = c.Canonical()
	return c == GCMAESXPN128 || c == GCMAESXPN256
}

// String returns the IEEE name of the suite.
func (c CipherSuite) String() string {
	switch c.Canonical() {
	case GCMAES128:
		return "GCM-AES-128"
	case GCMAES256:
		return "GCM-AES-256"
	case GCMAESXPN128:
		return "GCM-AES-XPN-128"
	case GCMAESXPN256:
		return "GCM-AES-XPN-256"
	}
	return fmt.Sprintf("cipher-suite-%016x", uint64(c))
}

// ParseCipherSuite accepts the IEEE names (case-insensitive) and the iproute2
// spellings ("gcm-aes-128", "gcm-aes-xpn-256").
func ParseCipherSuite(s string) (CipherSuite, error) {
	for _, c := range CipherSuites {
		if equalFold(s, c.String()) {
			return c, nil
		}
	}
	return 0, fmt.Errorf("macsec: unknown cipher suite %q (want GCM-AES-128, GCM-AES-256, GCM-AES-XPN-128 or GCM-AES-XPN-256)", s)
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'a' <= x && x <= 'z' {
			x -= 'a' - 'A'
		}
		if 'a' <= y && y <= 'z' {
			y -= 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Confidentiality is the confidentiality setting of a SecY: integrity only,
// or encryption starting at an offset of 0, 30 or 50 octets into the
// MSDU (802.1AE-2018 10.7.24, 802.1X-2020 9.7).
type Confidentiality uint8

// Confidentiality settings.
const (
	IntegrityOnly Confidentiality = iota
	ConfidentialityOffset0
	ConfidentialityOffset30
	ConfidentialityOffset50
)

// Encrypt reports whether frames are encrypted (E=1, C=1).
func (c Confidentiality) Encrypt() bool { return c != IntegrityOnly }

// Offset is the number of clear octets of the user data before the
// encrypted part.
func (c Confidentiality) Offset() int {
	switch c {
	case ConfidentialityOffset30:
		return 30
	case ConfidentialityOffset50:
		return 50
	}
	return 0
}

// String names the setting.
func (c Confidentiality) String() string {
	switch c {
	case IntegrityOnly:
		return "integrity-only"
	case ConfidentialityOffset0:
		return "offset-0"
	case ConfidentialityOffset30:
		return "offset-30"
	case ConfidentialityOffset50:
		return "offset-50"
	}
	return fmt.Sprintf("confidentiality-%d", uint8(c))
}

// ValidateFrames is the validateFrames control of 802.1AE-2018 10.7.8.
type ValidateFrames uint8

// validateFrames values; the numbers match the kernel's MACSEC_VALIDATE_*.
const (
	ValidateDisabled ValidateFrames = 0
	ValidateCheck    ValidateFrames = 1
	ValidateStrict   ValidateFrames = 2
)

// String names the value as iproute2 does.
func (v ValidateFrames) String() string {
	switch v {
	case ValidateDisabled:
		return "disabled"
	case ValidateCheck:
		return "check"
	case ValidateStrict:
		return "strict"
	}
	return fmt.Sprintf("validate-%d", uint8(v))
}
