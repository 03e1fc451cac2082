package daemon

import (
	"time"

	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/mka"
	"github.com/macsecd/macsecd/userspace"
)

// StatusSchemaVersion is the version of the JSON schema of StatusReport.
// Fields are only ever added within a version; a removal or change of
// meaning bumps it. docs/operations.md documents every field.
const StatusSchemaVersion = 1

// StatusReport is what `macsecctl status --json` prints and what the
// control socket answers to "status".
type StatusReport struct {
	Version    int          `json:"version"`
	PID        int          `json:"pid"`
	ConfigFile string       `json:"config_file"`
	Started    time.Time    `json:"started"`
	Reloaded   time.Time    `json:"reloaded"`
	Ports      []PortStatus `json:"ports"`
}

// PortStatus is one secured port.
type PortStatus struct {
	Name          string `json:"name"`
	Parent        string `json:"parent"`
	Interface     string `json:"interface"`
	Backend       string `json:"backend"`        // offload, kernel, userspace; "" while none runs
	BackendReason string `json:"backend_reason"` // why this backend
	Offload       string `json:"offload"`        // off, mac, phy
	KeyAgreement  string `json:"key_agreement"`  // mka, static
	// Secured: the controlled port is enabled and transmit and receive SAs
	// are in use, so traffic flows protected.
	Secured bool `json:"secured"`
	// State is one word for people and scripts: secured, securing (key
	// agreement under way), insecure (should-secure, passing clear
	// traffic), failed (see Error).
	State           string      `json:"state"`
	Error           string      `json:"error,omitempty"`
	SCI             string      `json:"sci"`
	CipherSuite     string      `json:"cipher_suite"`
	Confidentiality string      `json:"confidentiality"`
	Policy          string      `json:"policy"` // must-secure, should-secure
	Validate        string      `json:"validate"`
	ReplayProtect   bool        `json:"replay_protect"`
	ReplayWindow    uint32      `json:"replay_window"`
	IncludeSCI      bool        `json:"include_sci"`
	ControlledPort  bool        `json:"controlled_port"`
	EncodingSA      *uint8      `json:"encoding_sa"` // AN of the SA that protects transmitted frames; null if none
	MKA             *MKAStatus  `json:"mka,omitempty"`
	CurrentSA       *SAStatus   `json:"current_sa,omitempty"`
	PreviousSA      *SAStatus   `json:"previous_sa,omitempty"`
	TxSAs           []SAStatus  `json:"tx_sas"`
	RxSCs           []RxSCState `json:"rx_scs"`
	Counters        Counters    `json:"counters"`
	// Dataplane is the health and the counters of a data plane that runs
	// in macsecd (the userspace backend: TAP and parent state, frames
	// moved and dropped); absent for kernel and offload backends.
	Dataplane *userspace.State `json:"dataplane,omitempty"`
}

// dataplaneReporter is a SecY whose data plane runs in macsecd.
type dataplaneReporter interface {
	State() userspace.State
}

// MKAStatus is the key agreement state of a port.
type MKAStatus struct {
	CKN            string       `json:"ckn"` // key name (not secret)
	Priority       uint8        `json:"priority"`
	MI             string       `json:"mi"`
	MN             uint32       `json:"mn"`
	KeyServer      *PeerStatus  `json:"key_server,omitempty"` // nil until elected
	LivePeers      []PeerStatus `json:"live_peers"`
	PotentialPeers []PeerStatus `json:"potential_peers"`
	LastRekey      string       `json:"last_rekey,omitempty"` // reason of the last SAK change
	RekeyCount     uint64       `json:"rekey_count"`
	// The MKA timers the participant runs with, in seconds.
	HelloTime        float64 `json:"hello_time_seconds"`
	BoundedHelloTime float64 `json:"bounded_hello_time_seconds"`
	LifeTime         float64 `json:"life_time_seconds"`
	// MKPDUs counts MKPDUs sent and received and why frames were dropped.
	MKPDUs mka.Counters `json:"mkpdus"`
}

// PeerStatus is one MKA participant. For the key server, Self says whether
// it is this port.
type PeerStatus struct {
	SCI       string  `json:"sci"`
	MI        string  `json:"mi,omitempty"`
	MN        uint32  `json:"mn,omitempty"`
	Priority  uint8   `json:"priority"`
	LastHeard float64 `json:"last_heard_seconds"` // seconds since its last MKPDU
	Self      bool    `json:"self,omitempty"`
}

// SAStatus is one secure association: never its key, only the key
// identifier.
type SAStatus struct {
	AN     uint8  `json:"an"`
	KeyID  string `json:"key_id"`
	NextPN uint64 `json:"next_pn"`
	Active bool   `json:"active"`
}

// RxSCState is one receive secure channel.
type RxSCState struct {
	SCI      string     `json:"sci"`
	Active   bool       `json:"active"`
	SAs      []SAStatus `json:"sas"`
	InPktsOK uint64     `json:"in_pkts_ok"`
	Invalid  uint64     `json:"in_pkts_invalid"`
	NotValid uint64     `json:"in_pkts_not_valid"`
	Late     uint64     `json:"in_pkts_late"`
}

// Counters are the 802.1AE counters of a port (SecY, transmit SC, and
// the sum over receive SCs), named as the kernel names them.
type Counters struct {
	OutPktsUntagged    uint64 `json:"out_pkts_untagged"`
	OutPktsTooLong     uint64 `json:"out_pkts_too_long"`
	OutPktsProtected   uint64 `json:"out_pkts_protected"`
	OutPktsEncrypted   uint64 `json:"out_pkts_encrypted"`
	OutOctetsProtected uint64 `json:"out_octets_protected"`
	OutOctetsEncrypted uint64 `json:"out_octets_encrypted"`
	InPktsUntagged     uint64 `json:"in_pkts_untagged"`
	InPktsNoTag        uint64 `json:"in_pkts_no_tag"`
	InPktsBadTag       uint64 `json:"in_pkts_bad_tag"`
	InPktsUnknownSCI   uint64 `json:"in_pkts_unknown_sci"`
	InPktsNoSCI        uint64 `json:"in_pkts_no_sci"`
	InPktsOverrun      uint64 `json:"in_pkts_overrun"`
	InOctetsValidated  uint64 `json:"in_octets_validated"`
	InOctetsDecrypted  uint64 `json:"in_octets_decrypted"`
	InPktsUnchecked    uint64 `json:"in_pkts_unchecked"`
	InPktsDelayed      uint64 `json:"in_pkts_delayed"`
	InPktsOK           uint64 `json:"in_pkts_ok"`
	InPktsInvalid      uint64 `json:"in_pkts_invalid"`
	InPktsLate         uint64 `json:"in_pkts_late"`
	InPktsNotValid     uint64 `json:"in_pkts_not_valid"`
	InPktsNotUsingSA   uint64 `json:"in_pkts_not_using_sa"`
	InPktsUnusedSA     uint64 `json:"in_pkts_unused_sa"`
}

// fillSecY copies what the SecY reports into the port status.
func (ps *PortStatus) fillSecY(st *macsec.Status) {
	ps.SCI = st.SCI.String()
	// The backend is the one chosen (ps.Backend); the offload mode is what
	// the SecY actually runs.
	if st.Offload != "" {
		ps.Offload = st.Offload
	}
	ps.ControlledPort = st.ControlledPort
	// The SecY's policy is what is in effect: with MKA the key server's
	// cipher suite and offset, which may differ from this port's config.
	if pol := st.Policy; pol.CipherSuite != 0 {
		ps.CipherSuite, ps.Confidentiality = pol.CipherSuite.String(), pol.Confidentiality.String()
		ps.Validate, ps.ReplayProtect, ps.ReplayWindow, ps.IncludeSCI = pol.Validate.String(), pol.ReplayProtect, pol.ReplayWindow, pol.IncludeSCI
	}
	ps.TxSAs = ps.TxSAs[:0]
	for _, sa := range st.TxSC.SAs {
		ps.TxSAs = append(ps.TxSAs, SAStatus{AN: uint8(sa.AN), KeyID: sa.KeyID.String(), NextPN: sa.NextPN, Active: sa.Active})
		if sa.Active && sa.AN == st.EncodingSA {
			an := uint8(sa.AN)
			ps.EncodingSA = &an
		}
	}
	ps.RxSCs = ps.RxSCs[:0]
	c := &ps.Counters
	s := &st.Stats
	c.OutPktsUntagged, c.OutPktsTooLong = s.OutPktsUntagged, s.OutPktsTooLong
	c.InPktsUntagged, c.InPktsNoTag, c.InPktsBadTag = s.InPktsUntagged, s.InPktsNoTag, s.InPktsBadTag
	c.InPktsUnknownSCI, c.InPktsNoSCI, c.InPktsOverrun = s.InPktsUnknownSCI, s.InPktsNoSCI, s.InPktsOverrun
	t := &st.TxSC.Stats
	c.OutPktsProtected, c.OutPktsEncrypted = t.OutPktsProtected, t.OutPktsEncrypted
	c.OutOctetsProtected, c.OutOctetsEncrypted = t.OutOctetsProtected, t.OutOctetsEncrypted
	for _, rx := range st.RxSCs {
		r := &rx.Stats
		c.InOctetsValidated += r.InOctetsValidated
		c.InOctetsDecrypted += r.InOctetsDecrypted
		c.InPktsUnchecked += r.InPktsUnchecked
		c.InPktsDelayed += r.InPktsDelayed
		c.InPktsOK += r.InPktsOK
		c.InPktsInvalid += r.InPktsInvalid
		c.InPktsLate += r.InPktsLate
		c.InPktsNotValid += r.InPktsNotValid
		c.InPktsNotUsingSA += r.InPktsNotUsingSA
		c.InPktsUnusedSA += r.InPktsUnusedSA
		sc := RxSCState{SCI: rx.SCI.String(), Active: rx.Active, SAs: []SAStatus{},
			InPktsOK: r.InPktsOK, Invalid: r.InPktsInvalid, NotValid: r.InPktsNotValid, Late: r.InPktsLate}
		for _, sa := range rx.SAs {
			sc.SAs = append(sc.SAs, SAStatus{AN: uint8(sa.AN), KeyID: sa.KeyID.String(), NextPN: sa.NextPN, Active: sa.Active})
		}
		ps.RxSCs = append(ps.RxSCs, sc)
	}
}

// txSA finds the transmit SA with an AN in the SecY's view.
func (ps *PortStatus) txSA(an uint8, keyID string) *SAStatus {
	for i := range ps.TxSAs {
		if ps.TxSAs[i].AN == an && ps.TxSAs[i].KeyID == keyID {
			sa := ps.TxSAs[i]
			return &sa
		}
	}
	return nil
}

// securedFromSecY decides "secured" from the SecY alone: the controlled
// port passes traffic, protection is on, an encoding SA is in use, and
// every receive SC has an SA in use.
func securedFromSecY(st *macsec.Status) bool {
	if !st.ControlledPort || !st.Policy.ProtectFrames || len(st.RxSCs) == 0 {
		return false
	}
	tx := false
	for _, sa := range st.TxSC.SAs {
		tx = tx || (sa.Active && sa.AN == st.EncodingSA)
	}
	if !tx {
		return false
	}
	for _, rx := range st.RxSCs {
		ok := false
		for _, sa := range rx.SAs {
			ok = ok || sa.Active
		}
		if !ok {
			return false
		}
	}
	return true
}
