package macsec

// This file is the seam between key agreement and the data plane: the SecY
// management operations of 802.1AE-2018 10.7 as 802.1X-2020 9.16 uses them.
// MKA never knows which backend it drives; the kernel (package link), the
// hardware offload (package hwoffload) and the userspace data plane each
// implement SecY, and macsec/secytest records the calls for tests.

// Policy is the SecY-wide configuration that applies to all SAs.
type Policy struct {
	CipherSuite     CipherSuite
	Confidentiality Confidentiality
	ProtectFrames   bool           // protectFrames: protect transmitted frames
	Validate        ValidateFrames // validateFrames
	ReplayProtect   bool
	ReplayWindow    uint32
	IncludeSCI      bool // alwaysIncludeSCI: SC bit and SCI in every SecTAG
	UseES           bool // ES bit: SCI is implied by the source MAC (port 1)
	UseSCB          bool // SCB bit: EPON single copy broadcast
}

// SecY is the management interface of one SecY (802.1AE-2018 10.7).
//
// Installation order for a new SAK, which callers follow so that no frame
// is lost: CreateRxSA and EnableRxSA on every receive SC, then CreateTxSA on
// a free AN and EnableTxSA (which makes it the encoding SA), then
// DisableRxSA/DisableTxSA and Delete* of the old SAs.
//
// Implementations are safe for use by one goroutine at a time (the MKA
// actor); the data plane they drive runs concurrently.
type SecY interface {
	// SetPolicy applies the SecY-wide settings. The cipher suite and the
	// confidentiality offset change only while no SA exists; a backend that
	// cannot change them in place (the kernel cannot) recreates the SecY.
	SetPolicy(p Policy) error

	// SetControlledPort enables or disables the Controlled Port: while
	// disabled, no user traffic passes in either direction.
	SetControlledPort(enabled bool) error

	// CreateRxSC creates the receive SC of a peer.
	CreateRxSC(sci SCI) error
	// DeleteRxSC deletes a receive SC and its SAs.
	DeleteRxSC(sci SCI) error

	// CreateRxSA installs a receive SA, not yet in use. lowestPN is the
	// lowest acceptable PN (1 for a fresh SAK).
	CreateRxSA(sci SCI, an AN, lowestPN uint64, key *SAK) error
	// EnableRxSA puts a receive SA in use.
	EnableRxSA(sci SCI, an AN) error
	// DisableRxSA takes a receive SA out of use.
	DisableRxSA(sci SCI, an AN) error
	// DeleteRxSA deletes a receive SA and zeroes its key.
	DeleteRxSA(sci SCI, an AN) error

	// CreateTxSA installs a transmit SA, not yet in use, whose first frame
	// carries nextPN.
	CreateTxSA(an AN, nextPN uint64, key *SAK) error
	// EnableTxSA makes the SA the encoding SA.
	EnableTxSA(an AN) error
	// DisableTxSA takes a transmit SA out of use.
	DisableTxSA(an AN) error
	// DeleteTxSA deletes a transmit SA and zeroes its key.
	DeleteTxSA(an AN) error

	// TxNextPN returns the next PN of a transmit SA; MKA polls it to
	// rekey before the PN space runs out.
	TxNextPN(an AN) (uint64, error)

	// Status reads the SecY's state and counters.
	Status() (*Status, error)

	// Close releases the backend. Whether the secured interface stays is
	// the backend's documented choice.
	Close() error
}

// Status is a snapshot of a SecY for operators and for MKA.
type Status struct {
	Backend        string // "kernel", "offload", "userspace", ...
	Offload        string // "off", "mac", "phy"
	Interface      string // secured interface name
	Parent         string // parent (wire-side) interface name
	SCI            SCI
	Policy         Policy
	ControlledPort bool
	EncodingSA     AN
	TxSC           TxSCStatus
	RxSCs          []RxSCStatus
	Stats          SecYStats
}

// TxSCStatus is the transmit SC and its SAs.
type TxSCStatus struct {
	SAs   []TxSAStatus
	Stats TxSCStats
}

// TxSAStatus is one transmit SA.
type TxSAStatus struct {
	AN     AN
	Active bool
	NextPN uint64
	KeyID  KeyID
	Stats  TxSAStats
}

// RxSCStatus is one receive SC and its SAs.
type RxSCStatus struct {
	SCI    SCI
	Active bool
	SAs    []RxSAStatus
	Stats  RxSCStats
}

// RxSAStatus is one receive SA.
type RxSAStatus struct {
	AN     AN
	Active bool
	NextPN uint64 // next expected PN (lowest acceptable is NextPN - window)
	KeyID  KeyID
	Stats  RxSAStats
	// LowestPN is the lowest acceptable PN (802.1AE-2018 10.7.13), the
	// value MKA reports in its SAK Use parameter set; zero if the
	// backend does not say.
	LowestPN uint64
}

// SecYStats are the SecY counters (802.1AE-2018 10.7.18/19; kernel
// MACSEC_SECY_STATS_ATTR_*).
type SecYStats struct {
	OutPktsUntagged  uint64
	InPktsUntagged   uint64
	OutPktsTooLong   uint64
	InPktsNoTag      uint64
	InPktsBadTag     uint64
	InPktsUnknownSCI uint64
	InPktsNoSCI      uint64
	InPktsOverrun    uint64
}

// TxSCStats are the transmit SC counters (MACSEC_TXSC_STATS_ATTR_*).
type TxSCStats struct {
	OutPktsProtected   uint64
	OutPktsEncrypted   uint64
	OutOctetsProtected uint64
	OutOctetsEncrypted uint64
}

// RxSCStats are the receive SC counters (MACSEC_RXSC_STATS_ATTR_*).
type RxSCStats struct {
	InOctetsValidated uint64
	InOctetsDecrypted uint64
	InPktsUnchecked   uint64
	InPktsDelayed     uint64
	InPktsOK          uint64
	InPktsInvalid     uint64
	InPktsLate        uint64
	InPktsNotValid    uint64
	InPktsNotUsingSA  uint64
	InPktsUnusedSA    uint64
}

// TxSAStats are the transmit SA counters (MACSEC_SA_STATS_ATTR_OUT_*).
type TxSAStats struct {
	OutPktsProtected uint64
	OutPktsEncrypted uint64
}

// RxSAStats are the receive SA counters (MACSEC_SA_STATS_ATTR_IN_*).
type RxSAStats struct {
	InPktsOK         uint64
	InPktsInvalid    uint64
	InPktsNotValid   uint64
	InPktsNotUsingSA uint64
	InPktsUnusedSA   uint64
}
