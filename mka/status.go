package mka

import (
	"fmt"
	"time"
)

// Counters count MKPDUs and the reasons frames were dropped.
type Counters struct {
	RxFrames     uint64 `json:"rx_frames"`     // frames handed to HandleFrame
	RxMKPDU      uint64 `json:"rx_mkpdu"`      // MKPDUs accepted
	TxMKPDU      uint64 `json:"tx_mkpdu"`      // MKPDUs sent
	TxErrors     uint64 `json:"tx_errors"`     // MKPDUs not encoded or not sent
	Malformed    uint64 `json:"malformed"`     // not a well-formed MKPDU
	UnknownCKN   uint64 `json:"unknown_ckn"`   // CKN of no participant
	BadICV       uint64 `json:"bad_icv"`       // ICV check failed
	Stale        uint64 `json:"stale"`         // replayed or stale (MN not increasing)
	DuplicateSCI uint64 `json:"duplicate_sci"` // our SCI, or a second MI for a live peer's SCI
	Loopback     uint64 `json:"loopback"`      // our own MKPDUs
	BadSAK       uint64 `json:"bad_sak"`       // distributed SAKs rejected
	SecYErrors   uint64 `json:"secy_errors"`   // failed SecY calls
}

// Status is a JSON-friendly snapshot of a KaY. It holds key identifiers,
// never keys.
type Status struct {
	SCI             string        `json:"sci"`
	Policy          string        `json:"policy"`
	Secured         bool          `json:"secured"`
	ControlledPort  bool          `json:"controlled_port"`
	CipherSuite     string        `json:"cipher_suite"`
	Confidentiality string        `json:"confidentiality"`
	Principal       string        `json:"principal_ckn,omitempty"` // CKN (hex) of the principal participant
	Timers          Timers        `json:"timers"`
	KeyServer       *KeyServer    `json:"key_server,omitempty"`
	Current         *SAStatus     `json:"current_sa,omitempty"`  // the SA we transmit with
	Previous        *SAStatus     `json:"previous_sa,omitempty"` // the other installed SA
	RekeyCount      uint64        `json:"rekey_count"`
	LastRekey       time.Time     `json:"last_rekey,omitzero"`
	LastRekeyReason string        `json:"last_rekey_reason,omitempty"`
	Participants    []Participant `json:"participants"`
	Counters        Counters      `json:"counters"`
}

// Timers are the MKA timers the KaY runs with (Config or SetTimers, with
// defaults filled in).
type Timers struct {
	Hello        time.Duration `json:"hello_ns"`
	BoundedHello time.Duration `json:"bounded_hello_ns"`
	Life         time.Duration `json:"life_ns"`
}

// KeyServer identifies the elected key server of the principal CA.
type KeyServer struct {
	SCI      string `json:"sci"`
	Priority uint8  `json:"priority"`
	Self     bool   `json:"self"`
}

// SAStatus describes one installed SAK.
type SAStatus struct {
	AN          uint8     `json:"an"`
	KeyID       string    `json:"key_id"` // key server MI and key number, hex
	KeyNumber   uint32    `json:"key_number"`
	CipherSuite string    `json:"cipher_suite"`
	Since       time.Time `json:"since"`              // installed
	TxSince     time.Time `json:"tx_since,omitzero"`  // taken into use for transmit
	Transmit    bool      `json:"transmit"`           // transmit SA enabled
	ReceiveSCs  int       `json:"receive_scs"`        // receive SAs installed
	LowestPN    uint64    `json:"lowest_pn,omitzero"` // as reported in SAK Use
}

// Participant describes one participant (one CAK of the key chain).
type Participant struct {
	CKN       string    `json:"ckn"` // hex; a key name, not a key
	Fallback  bool      `json:"fallback,omitempty"`
	Principal bool      `json:"principal"`
	MI        string    `json:"mi"`
	MN        uint32    `json:"mn"`
	KeyServer bool      `json:"key_server"` // we are its elected key server
	Start     time.Time `json:"start,omitzero"`
	End       time.Time `json:"end,omitzero"`
	Peers     []Peer    `json:"peers"`
}

// Peer is a live or potential peer of a participant.
type Peer struct {
	SCI       string    `json:"sci"`
	MI        string    `json:"mi"`
	MN        uint32    `json:"mn"`
	Priority  uint8     `json:"priority"`
	Live      bool      `json:"live"`
	KeyServer bool      `json:"key_server"` // claims the Key Server bit
	LastHeard time.Time `json:"last_heard"`
}

// Status returns a snapshot of the KaY's state.
func (k *KaY) Status() Status {
	k.mu.Lock()
	defer k.mu.Unlock()
	st := Status{
		SCI:             k.cfg.SCI.String(),
		Policy:          k.cfg.Policy.String(),
		Timers:          Timers{Hello: k.cfg.HelloTime, BoundedHello: k.cfg.BoundedHelloTime, Life: k.cfg.LifeTime},
		Secured:         k.secured,
		ControlledPort:  k.port,
		CipherSuite:     k.policy.CipherSuite.String(),
		Confidentiality: k.policy.Confidentiality.String(),
		RekeyCount:      k.rekeys,
		LastRekey:       k.lastRekeyAt,
		LastRekeyReason: k.lastReason,
		Counters:        k.stats,
		Participants:    []Participant{},
	}
	if !k.started {
		st.CipherSuite = k.cfg.CipherSuite.String()
		st.Confidentiality = k.cfg.Confidentiality.String()
	}
	if p := k.principal; p != nil {
		st.Principal = fmt.Sprintf("%x", p.key.CKN)
		switch {
		case p.ksSelf:
			st.KeyServer = &KeyServer{SCI: k.cfg.SCI.String(), Priority: k.cfg.Priority, Self: true}
		case p.ks != nil:
			st.KeyServer = &KeyServer{SCI: p.ks.sci.String(), Priority: p.ks.priority}
		}
	}
	cur, prev := k.oldSA, k.latestSA
	if k.latestSA != nil && (k.latestSA.txEnabled || k.oldSA == nil) {
		cur, prev = k.latestSA, k.oldSA
	}
	st.Current, st.Previous = saStatus(cur), saStatus(prev)
	for _, p := range k.parts {
		ps := Participant{
			CKN:       fmt.Sprintf("%x", p.key.CKN),
			Fallback:  p.fallback,
			Principal: p == k.principal,
			MI:        p.mi.String(),
			MN:        p.mn,
			KeyServer: p.ksSelf,
			Start:     p.key.Start,
			End:       p.key.End,
			Peers:     []Peer{},
		}
		for _, l := range [][]*peer{p.live, p.potential} {
			for _, pr := range l {
				ps.Peers = append(ps.Peers, Peer{
					SCI: pr.sci.String(), MI: pr.mi.String(), MN: pr.mn, Priority: pr.priority,
					Live: pr.live, KeyServer: pr.keyServer, LastHeard: pr.lastHeard,
				})
			}
		}
		st.Participants = append(st.Participants, ps)
	}
	return st
}

func saStatus(s *sa) *SAStatus {
	if s == nil {
		return nil
	}
	return &SAStatus{
		AN: uint8(s.an), KeyID: kiString(s.ki), KeyNumber: s.ki.KN, CipherSuite: s.suite.String(),
		Since: s.created, TxSince: s.txSince, Transmit: s.txEnabled, ReceiveSCs: len(s.rx), LowestPN: s.lowestPN,
	}
}
