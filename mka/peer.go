package mka

import (
	"bytes"
	"time"

	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/mka/mkpdu"
)

// peer is another participant of a CA as one of our participants sees it
// (802.1X-2020 9.4). Peers are kept in slices, never maps, so that every
// iteration, and therefore every MKPDU and SecY call, is deterministic.
type peer struct {
	mi  mkpdu.MI
	mn  uint32
	sci macsec.SCI

	version    uint8
	priority   uint8
	keyServer  bool // Key Server bit of its latest MKPDU
	desired    bool
	capability uint8

	live      bool
	firstSeen time.Time
	lastHeard time.Time // last valid MKPDU
	expire    time.Time // lastHeard (live: last MKPDU listing us) + Life Time

	suites     []mkpdu.CipherSuiteCap // Announcement; nil if none received
	sakUse     *mkpdu.SAKUse          // latest SAK Use received; nil if none
	xpnHigh    [2]uint32              // XPN parameter set: latest, old lowest PN high bits
	ssciWarned bool                   // warned once that its announced SSCI differs
}

// canBeKeyServer reports whether the peer takes part in the election: it
// claims the Key Server bit and its priority is not 255 (a participant
// with priority 255 never becomes key server).
func (p *peer) canBeKeyServer() bool { return p.keyServer && p.priority != 0xFF }

// receives reports whether the peer's SAK Use says it receives with ki.
func (p *peer) receives(ki mkpdu.KI) bool {
	u := p.sakUse
	return u != nil && ((u.LatestKI == ki && u.LatestRx) || (u.OldKI == ki && u.OldRx))
}

// transmits reports whether the peer's SAK Use says it transmits with ki.
func (p *peer) transmits(ki mkpdu.KI) bool {
	u := p.sakUse
	return u != nil && ((u.LatestKI == ki && u.LatestTx) || (u.OldKI == ki && u.OldTx))
}

// lowestPN returns the lowest PN the peer reported for ki and whether it
// reported one. With XPN the high 32 bits come from the XPN parameter set.
func (p *peer) lowestPN(ki mkpdu.KI) (uint64, bool) {
	u := p.sakUse
	switch {
	case u == nil:
		return 0, false
	case u.LatestKI == ki && (u.LatestTx || u.LatestRx):
		return uint64(p.xpnHigh[0])<<32 | uint64(u.LatestLowestPN), true
	case u.OldKI == ki && (u.OldTx || u.OldRx):
		return uint64(p.xpnHigh[1])<<32 | uint64(u.OldLowestPN), true
	}
	return 0, false
}

// before orders election candidates: lower priority value first, then the
// numerically lower SCI (802.1X-2020 9.5.1).
func before(prioA uint8, sciA macsec.SCI, prioB uint8, sciB macsec.SCI) bool {
	if prioA != prioB {
		return prioA < prioB
	}
	return bytes.Compare(sciA[:], sciB[:]) < 0
}

func findPeer(list []*peer, mi mkpdu.MI) int {
	for i, p := range list {
		if p.mi == mi {
			return i
		}
	}
	return -1
}

func findPeerSCI(list []*peer, sci macsec.SCI) int {
	for i, p := range list {
		if p.sci == sci {
			return i
		}
	}
	return -1
}
