// Package mkpdu encodes and decodes MACsec Key Agreement PDUs (IEEE
// 802.1X-2020 11.11) carried in EAPOL-MKA frames, as whole Ethernet frames:
// destination and source MAC, EtherType, the EAPOL header, the parameter
// sets and the ICV.
//
// Parse checks structure only; VerifyICV checks the integrity check value
// against an ICK in constant time, and a receiver calls it before it acts
// on anything Parse returned. Marshal computes the ICV. The ICV covers the
// frame from the destination MAC address up to the ICV (802.1X-2020 9.4.1),
// which is what wpa_supplicant computes and checks.
//
// The codec is deliberately free of protocol policy: it accepts every MKA
// version and every field value that the encoding can carry, and leaves
// decisions (which version to speak, whether a cipher suite is acceptable)
// to package mka.
package mkpdu

import (
	"encoding/hex"
	"net"

	"github.com/macsecd/macsecd/macsec"
)

// EtherTypes that carry EAPOL (802.1X-2020 11.1.4).
const (
	EtherTypeEAPOL    = 0x888E // PAE EtherType
	EtherTypeWANEAPOL = 0x876F // EAPOL over WAN links (802.1X-2020 11.1.4, Table 11-2)
)

// Group addresses an MKPDU may be sent to (802.1X-2020 Table 11-1).
var (
	PAEGroupAddress    = net.HardwareAddr{0x01, 0x80, 0xC2, 0x00, 0x00, 0x03} // Port Access Entity group address (default)
	BridgeGroupAddress = net.HardwareAddr{0x01, 0x80, 0xC2, 0x00, 0x00, 0x00} // Nearest Customer Bridge group address
	LLDPMulticast      = net.HardwareAddr{0x01, 0x80, 0xC2, 0x00, 0x00, 0x0E} // Nearest Bridge (LLDP) group address
	BroadcastAddress   = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
)

// EAPOL constants.
const (
	EAPOLVersion3 = 3 // EAPOL protocol version of 802.1X-2010 and -2020, sent by default
	PacketTypeMKA = 5 // EAPOL-MKA packet type (802.1X-2020 Table 11-3)
)

// MKA versions (802.1X-2020 11.11.1, Table 11-7).
const (
	MKAVersion1 = 1 // 802.1X-2010
	MKAVersion2 = 2 // 802.1Xbx-2014
	MKAVersion3 = 3 // 802.1X-2020 (XPN, in-service upgrades); sent by default
)

// AlgAgility8021X is the MKA Algorithm Agility value for the algorithms of
// 802.1X-2020 (AES-CMAC-128 ICV and KDF, AES key wrap), Table 11-1.
const AlgAgility8021X = 0x0080C201

// ICVLen is the length of the ICV for the only MKA algorithm suite.
const ICVLen = 16

// Parameter set types (802.1X-2020 Table 11-7). The Basic Parameter Set
// has no type field: it is always first.
const (
	TypeLivePeerList      = 1
	TypePotentialPeerList = 2
	TypeSAKUse            = 3
	TypeDistributedSAK    = 4
	TypeDistributedCAK    = 5
	TypeKMD               = 6
	TypeAnnouncement      = 7
	TypeXPN               = 8
	TypeICVIndicator      = 255
)

// TLVMACsecCipherSuites is the Announcement TLV type of the MACsec Cipher
// Suites TLV (802.1X-2020 Table 11-8, 11.12.3).
const TLVMACsecCipherSuites = 112

// MI is a 96-bit Member Identifier.
type MI [12]byte

// String formats the MI as hex (MIs are not secret).
func (m MI) String() string { return hex.EncodeToString(m[:]) }

// PeerEntry is one entry of a Live or Potential Peer List.
type PeerEntry struct {
	MI MI
	MN uint32 // latest Member Number received from that peer
}

// KI is a Key Identifier: the key server's MI and the key number.
type KI struct {
	MI MI
	KN uint32
}

// KeyID returns the 16-octet form that SecY backends use.
func (k KI) KeyID() macsec.KeyID {
	var id macsec.KeyID
	copy(id[:12], k.MI[:])
	id[12], id[13], id[14], id[15] = byte(k.KN>>24), byte(k.KN>>16), byte(k.KN>>8), byte(k.KN)
	return id
}

// IsZero reports whether the KI is all zero, the encoding of "no key".
func (k KI) IsZero() bool { return k == KI{} }

// Frame is an Ethernet frame carrying an EAPOL-MKA PDU.
type Frame struct {
	Dst, Src     net.HardwareAddr
	EtherType    uint16 // EtherTypeEAPOL or EtherTypeWANEAPOL; 0 means EtherTypeEAPOL on Marshal
	EAPOLVersion uint8  // any value is accepted; 0 means EAPOLVersion3 on Marshal
	PDU          MKPDU
}

// MKPDU is the body of an EAPOL-MKA packet. Optional parameter sets are
// nil when absent. Marshal emits them in the order of the fields.
type MKPDU struct {
	Basic Basic
	// LivePeers and PotentialPeers are nil when the list is absent; an
	// empty non-nil slice is a list with no entries.
	LivePeers      []PeerEntry
	PotentialPeers []PeerEntry
	// KeyServerSSCI is the second header octet of the Live Peer List: with
	// MKA version 3 and an XPN cipher suite, the least significant octet
	// of the key server's SSCI (802.1X-2020 Figure 11-9, 11.11.3); zero
	// otherwise. It is sent only with a Live Peer List.
	KeyServerSSCI uint8
	SAKUse        *SAKUse
	DistSAK       *DistSAK
	DistCAK       *DistCAK
	KMD           *KMD
	Announcement  *Announcement
	XPN           *XPN
	// Unknown holds parameter sets of types this package does not know,
	// which a receiver skips (802.1X-2020 11.11.3); Marshal emits them
	// after the known sets (tests use this to check peers skip them).
	Unknown []RawSet
	// ICVIndicator is set when the ICV is preceded by an ICV Indicator
	// parameter set header; Marshal then emits one. Without it the ICV is
	// the last 16 octets of the PDU.
	ICVIndicator bool
	// ICV is the received ICV (Parse) or the computed one (after Marshal).
	ICV [ICVLen]byte
}

// Basic is the Basic Parameter Set (802.1X-2020 Figure 11-8).
type Basic struct {
	Version          uint8 // MKA Version Identifier (MKAVersion1..3)
	Priority         uint8 // Key Server Priority (lower is preferred; 255: never key server)
	KeyServer        bool
	MACsecDesired    bool
	MACsecCapability uint8 // 2 bits: 0 none, 1 integrity, 2 +confidentiality offset 0, 3 +offsets 30, 50
	SCI              macsec.SCI
	MI               MI
	MN               uint32
	AlgAgility       uint32 // AlgAgility8021X
	CKN              []byte // 1 to 32 octets
}

// SAKUse is the MACsec SAK Use parameter set (802.1X-2020 Figure 11-10).
type SAKUse struct {
	LatestKI       KI
	LatestAN       uint8
	LatestTx       bool
	LatestRx       bool
	LatestLowestPN uint32 // lowest acceptable PN (low 32 bits with XPN)
	OldKI          KI
	OldAN          uint8
	OldTx          bool
	OldRx          bool
	OldLowestPN    uint32
	PlainTx        bool
	PlainRx        bool
	DelayProtect   bool
	// Empty encodes the set with a zero-length body (flags only), which a
	// participant sends when it has no SAK to report.
	Empty bool
}

// DistSAK is the Distributed SAK parameter set (802.1X-2020 Figure 11-11).
type DistSAK struct {
	AN                    uint8 // 0..3
	ConfidentialityOffset uint8 // numbered as macsec.Confidentiality: 0 integrity only, 1 offset 0, 2 offset 30, 3 offset 50
	KeyNumber             uint32
	// CipherSuite is 0 for the short GCM-AES-128 form that carries no
	// cipher suite identifier; any other value is sent as the 8-octet ID.
	CipherSuite macsec.CipherSuite
	// WrappedSAK is the SAK wrapped with the KEK (RFC 3394), 24 or 40
	// octets. nil is the empty form: the key server decided not to use
	// MACsec (802.1X-2020 11.11.1).
	WrappedSAK []byte
}

// Suite returns the cipher suite the set distributes a key for, mapping
// the short form to GCM-AES-128.
func (d *DistSAK) Suite() macsec.CipherSuite {
	if d.CipherSuite == 0 {
		return macsec.GCMAES128
	}
	return d.CipherSuite.Canonical()
}

// DistCAK is the Distributed CAK parameter set (802.1X-2020 Figure 11-12):
// a group CAK wrapped with the KEK of the pairwise CA, and its CKN.
type DistCAK struct {
	WrappedCAK []byte // 24 octets (128-bit CAK) or 40 (256-bit)
	CKN        []byte
}

// KMD is the Key Management Domain parameter set (802.1X-2020 Figure 11-13).
type KMD struct {
	Name []byte
}

// Announcement is the Announcement parameter set (802.1X-2020 Figure
// 11-14): EAPOL-Announcement TLVs carried inside an MKPDU.
type Announcement struct {
	// CipherSuites is the MACsec Cipher Suites TLV (nil when absent).
	CipherSuites []CipherSuiteCap
	// Other holds the TLVs this package does not interpret, in order.
	Other []TLV
}

// CipherSuiteCap is one entry of the MACsec Cipher Suites TLV.
type CipherSuiteCap struct {
	Capability uint8 // MACsec capability with this suite, as in Basic
	ID         macsec.CipherSuite
}

// TLV is an Announcement TLV (7-bit type, up to 511 octets of value).
type TLV struct {
	Type  uint8
	Value []byte
}

// XPN is the XPN parameter set (802.1X-2020 Figure 11-15).
type XPN struct {
	SuspensionTime     uint8  // MKA Suspension Time, seconds
	LatestLowestPNHigh uint32 // most significant 32 bits of the latest key's lowest acceptable PN
	OldLowestPNHigh    uint32
}

// RawSet is a parameter set kept as octets: the type, the second header
// octet, the 4 type-specific bits of the third, and the body.
type RawSet struct {
	Type  uint8
	Octet uint8 // header octet 2
	Bits  uint8 // high nibble of header octet 3 (0..15)
	Body  []byte
}
