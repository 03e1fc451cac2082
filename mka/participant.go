package mka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/macsecd/macsecd/crypto/keywrap"
	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/mka/keys"
	"github.com/macsecd/macsecd/mka/mkpdu"
)

var errNotFromKeyServer = errors.New("not the elected key server")

// sentMN remembers when we sent an MN, so that a peer echoing it can be
// judged "acceptably recent" (within the Life Time, 802.1X-2020 9.4.3).
type sentMN struct {
	at time.Time
	mn uint32
}

// participant is one MKA participant: one CAK of the key chain (or the
// fallback CAK) on this port (802.1X-2020 9.4).
type participant struct {
	k        *KaY
	key      Key // copy; CAK zeroed when the participant stops
	fallback bool
	ick, kek []byte
	icv      *mkpdu.ICVKey // the ICK prepared once: no key expansion per MKPDU

	mi   mkpdu.MI
	mn   uint32
	sent []sentMN

	live      []*peer
	potential []*peer

	// Election (9.5): elected is set once a key server has been chosen
	// among the live participants; ksSelf says it is us, ks otherwise.
	elected bool
	ksSelf  bool
	ks      *peer

	// Key server state.
	advise    bool   // key server decision: MACsec is used
	adviseCap uint8  // lowest capability of the desiring participants
	kn        uint32 // last key number distributed
	dist      *distribution
	lastDist  time.Time
	rekey     string // pending rekey reason ("" none)
	noMACsec  bool   // (not key server) key server advised no MACsec
	started   time.Time
	nextHello time.Time
	sendNow   bool
}

// distribution is the Distributed SAK parameter set the key server repeats
// until every live peer receives with the key. It holds the wrapped key
// only.
type distribution struct {
	ki      mkpdu.KI
	an      macsec.AN
	suite   macsec.CipherSuite
	conf    macsec.Confidentiality
	wrapped []byte
}

func newParticipant(k *KaY, key *Key, fallback bool, now time.Time) (*participant, error) {
	p := &participant{k: k, key: *key, fallback: fallback, started: now, nextHello: now}
	p.key.CAK = slices.Clone(key.CAK)
	p.key.CKN = slices.Clone(key.CKN)
	var err error
	if p.ick, err = keys.ICK(p.key.CAK, p.key.CKN); err != nil {
		return nil, fmt.Errorf("mka: derive ICK for CKN %x: %w", p.key.CKN, err)
	}
	if p.kek, err = keys.KEK(p.key.CAK, p.key.CKN); err != nil {
		return nil, fmt.Errorf("mka: derive KEK for CKN %x: %w", p.key.CKN, err)
	}
	if p.icv, err = mkpdu.NewICVKey(p.ick); err != nil {
		return nil, fmt.Errorf("mka: ICK for CKN %x: %w", p.key.CKN, err)
	}
	if err := p.newMI(); err != nil {
		return nil, err
	}
	return p, nil
}

// newMI picks a fresh random Member Identifier and restarts the MN.
func (p *participant) newMI() error {
	if _, err := io.ReadFull(p.k.rnd, p.mi[:]); err != nil {
		return fmt.Errorf("mka: generate member identifier: %w", err)
	}
	p.mn = 0
	p.sent = p.sent[:0]
	return nil
}

// stop zeroes the participant's keys.
func (p *participant) stop() {
	clear(p.key.CAK)
	clear(p.ick)
	clear(p.kek)
}

func (p *participant) logger() *slog.Logger {
	return p.k.log.With("ckn", fmt.Sprintf("%x", p.key.CKN))
}

func (p *participant) principal() bool { return p.k.principal == p }

// acceptableMN reports whether mn, echoed by a peer for our MI, is one we
// sent within the last Life Time.
func (p *participant) acceptableMN(now time.Time, mn uint32) bool {
	if mn == 0 || mn > p.mn {
		return false
	}
	for _, s := range p.sent {
		if s.mn == mn {
			return !now.After(s.at.Add(p.k.cfg.LifeTime))
		}
	}
	return false
}

// listsUs reports whether the MKPDU lists our MI with an acceptably recent
// MN in its Live or Potential Peer List.
func (p *participant) listsUs(now time.Time, pdu *mkpdu.MKPDU) bool {
	for _, l := range [][]mkpdu.PeerEntry{pdu.LivePeers, pdu.PotentialPeers} {
		for _, e := range l {
			if e.MI == p.mi && p.acceptableMN(now, e.MN) {
				return true
			}
		}
	}
	return false
}

// receive processes an MKPDU whose ICV has been verified with our ICK.
// It returns an error (and changes nothing) if the MKPDU is stale,
// replayed or otherwise not acceptable.
func (p *participant) receive(now time.Time, f *mkpdu.Frame) error {
	k := p.k
	b := &f.PDU.Basic
	if b.SCI == k.cfg.SCI {
		if b.MI == p.mi {
			k.stats.Loopback++
			return errLoopback
		}
		k.stats.DuplicateSCI++
		return fmt.Errorf("mka: MKPDU from MI %s carries our SCI %s", b.MI, b.SCI)
	}
	if b.MI == p.mi {
		// Another participant chose our MI: choose a new one (9.4.2).
		// Peers see us as a new member; nothing else changes.
		p.logger().Warn("peer uses our member identifier, choosing a new one", "sci", b.SCI.String())
		if err := p.newMI(); err != nil {
			return err
		}
		p.sendNow = true
		return errMICollision
	}

	// Find the sender; an MN that does not increase marks a replayed or
	// stale MKPDU, which must change nothing.
	var pr *peer
	if i := findPeer(p.live, b.MI); i >= 0 {
		pr = p.live[i]
	} else if i := findPeer(p.potential, b.MI); i >= 0 {
		pr = p.potential[i]
	}
	if pr != nil {
		if b.MN <= pr.mn {
			k.stats.Stale++
			return fmt.Errorf("mka: stale MKPDU from %s: MN %d not above %d", b.SCI, b.MN, pr.mn)
		}
		if pr.sci != b.SCI {
			k.stats.DuplicateSCI++
			return fmt.Errorf("mka: MI %s changed SCI from %s to %s", b.MI, pr.sci, b.SCI)
		}
	} else {
		if i := findPeerSCI(p.live, b.SCI); i >= 0 {
			// A new MI for the SCI of a live peer: the peer restarted,
			// or someone holding the CAK impersonates it. Like
			// wpa_supplicant, ignore the new MI until the old one has
			// had a chance to prove it is alive, but shorten its life.
			old := p.live[i]
			if lim := now.Add(k.cfg.HelloTime * 3 / 2); old.expire.After(lim) {
				old.expire = lim
			}
			k.stats.DuplicateSCI++
			return fmt.Errorf("mka: new MI %s for live peer %s ignored until the old one expires", b.MI, b.SCI)
		}
		if i := findPeerSCI(p.potential, b.SCI); i >= 0 {
			p.potential = slices.Delete(p.potential, i, i+1)
		}
		pr = &peer{mi: b.MI, sci: b.SCI, firstSeen: now}
		p.potential = append(p.potential, pr)
		p.sendNow = true // let it see us quickly
	}
	pr.mn = b.MN
	pr.version = b.Version
	pr.lastHeard = now
	electionDue := pr.live && (pr.priority != b.Priority || pr.keyServer != b.KeyServer ||
		pr.desired != b.MACsecDesired || pr.capability != b.MACsecCapability)
	pr.priority, pr.keyServer = b.Priority, b.KeyServer
	pr.desired, pr.capability = b.MACsecDesired, b.MACsecCapability
	if a := f.PDU.Announcement; a != nil && !slices.Equal(pr.suites, a.CipherSuites) {
		pr.suites = slices.Clone(a.CipherSuites)
	}

	if p.listsUs(now, &f.PDU) {
		pr.expire = now.Add(k.cfg.LifeTime)
		if !pr.live {
			p.makeLive(now, pr)
			electionDue = true
		}
	} else if !pr.live {
		pr.expire = now.Add(k.cfg.LifeTime)
	}
	if electionDue {
		p.elect(now)
		p.k.selectPrincipal(now)
	}
	if !pr.live {
		return nil
	}

	// Parameter sets that only live peers may use. The Distributed SAK
	// is handled before the SAK Use of the same MKPDU, so that a peer's
	// report about the key it just received is understood.
	if f.PDU.XPN != nil {
		pr.xpnHigh = [2]uint32{f.PDU.XPN.LatestLowestPNHigh, f.PDU.XPN.OldLowestPNHigh}
	}
	if got := f.PDU.KeyServerSSCI; got != 0 && p.ks == pr {
		if s := k.newestSA(); s != nil && s.suite.XPN() && s.ki.MI == pr.mi && uint8(s.ssci[pr.sci]) != got && !pr.ssciWarned {
			pr.ssciWarned = true
			p.logger().Warn("key server's SSCI differs from ours for it: the members disagree on the CA", "key_server", pr.sci.String(), "announced", got, "ours", s.ssci[pr.sci])
		}
	}
	if f.PDU.DistSAK != nil {
		if err := p.receiveSAK(now, pr, f.PDU.DistSAK); err != nil {
			// Routine while an election settles (a peer that has not
			// yet seen a better key server distributes); a warning
			// only when the SAK itself is bad.
			k.stats.BadSAK++
			lvl := slog.LevelWarn
			if errors.Is(err, errNotFromKeyServer) {
				lvl = slog.LevelInfo
			}
			p.logger().Log(context.Background(), lvl, "distributed SAK rejected", "from", pr.sci.String(), "err", err)
		}
	}
	// A live peer that sends no SAK Use (or an empty one) has no SAK: it
	// must be given the current one again.
	switch u := f.PDU.SAKUse; {
	case u == nil || u.Empty:
		if pr.sakUse != nil {
			pr.sakUse = nil
			p.sendNow = p.sendNow || p.principal()
		}
	case pr.sakUse == nil:
		c := *u
		pr.sakUse = &c
		p.sendNow = p.sendNow || p.principal()
	case *pr.sakUse != *u:
		*pr.sakUse = *u
		p.sendNow = p.sendNow || p.principal()
	}
	return nil
}

// makeLive moves a potential peer to the live list (9.4.3).
func (p *participant) makeLive(now time.Time, pr *peer) {
	if i := slices.Index(p.potential, pr); i >= 0 {
		p.potential = slices.Delete(p.potential, i, i+1)
	}
	pr.live = true
	p.live = append(p.live, pr)
	p.sendNow = true
	p.logger().Info("peer live", "sci", pr.sci.String(), "mi", pr.mi.String(), "priority", pr.priority)
	p.requestRekey("peer-joined")
}

// expire drops peers not heard from within the Life Time and reports
// whether the live peer list changed.
func (p *participant) expire(now time.Time) bool {
	changed, ksLost := false, false
	p.live = slices.DeleteFunc(p.live, func(pr *peer) bool {
		if now.Before(pr.expire) {
			return false
		}
		changed = true
		if p.ks == pr {
			ksLost = true
		}
		p.logger().Info("peer lost", "sci", pr.sci.String(), "mi", pr.mi.String())
		return true
	})
	p.potential = slices.DeleteFunc(p.potential, func(pr *peer) bool { return !now.Before(pr.expire) })
	if changed {
		// Unlike wpa_supplicant we keep our MI when the key server is
		// lost: every member loses it at about the same time, and a new
		// MI would make each of them wait for our old one to expire. A
		// key server that still saw us live notices that our SAK Use no
		// longer reports its key and distributes it again.
		if ksLost {
			p.logger().Info("key server lost")
		}
		p.elect(now)
		p.requestRekey("peer-left")
		p.sendNow = true
	}
	return changed
}

// elect runs the key server election among ourselves and the live peers
// that claim the Key Server bit (802.1X-2020 9.5.1): the lowest priority
// value wins, ties go to the numerically lowest SCI, and a participant
// with priority 255 never wins.
func (p *participant) elect(now time.Time) {
	k := p.k
	wasSelf, was := p.ksSelf, p.ks
	p.elected, p.ksSelf, p.ks = false, false, nil
	if len(p.live) == 0 {
		p.advise = false
		return
	}
	var best *peer
	for _, pr := range p.live {
		if pr.canBeKeyServer() && (best == nil || before(pr.priority, pr.sci, best.priority, best.sci)) {
			best = pr
		}
	}
	self := k.canBeKeyServer()
	switch {
	case self && (best == nil || before(k.cfg.Priority, k.cfg.SCI, best.priority, best.sci)):
		p.elected, p.ksSelf = true, true
	case best != nil:
		p.elected, p.ks = true, best
	}
	if p.ksSelf != wasSelf || p.ks != was {
		switch {
		case p.ksSelf:
			p.logger().Info("key server elected", "sci", k.cfg.SCI.String(), "self", true, "priority", k.cfg.Priority)
			p.requestRekey("key-server-elected")
		case p.ks != nil:
			p.logger().Info("key server elected", "sci", p.ks.sci.String(), "self", false, "priority", p.ks.priority)
		default:
			p.logger().Warn("no key server: no live participant may be key server (all priority 255?)")
		}
		p.sendNow = true
	}
	p.decide()
}

// decide is the key server's decision whether MACsec is used (9.6.1): it
// is, if we desire it and at least one live peer desires it and is
// capable. adviseCap is the lowest capability among them.
func (p *participant) decide() {
	k := p.k
	p.advise, p.adviseCap = false, 0
	if !p.ksSelf || k.cfg.Capability == CapabilityNone {
		return
	}
	lowest := k.cfg.Capability
	for _, pr := range p.live {
		if pr.desired && pr.capability != CapabilityNone {
			p.advise = true
			lowest = min(lowest, pr.capability)
		}
	}
	p.adviseCap = lowest
}

// requestRekey asks the key server (if we are it) for a fresh SAK.
func (p *participant) requestRekey(reason string) {
	if p.rekey == "" || reason == "command" {
		p.rekey = reason
	}
}

// receiveSAK handles a Distributed SAK parameter set from a live peer.
func (p *participant) receiveSAK(now time.Time, from *peer, d *mkpdu.DistSAK) error {
	k := p.k
	switch {
	case !p.principal():
		return nil // only the principal participant takes SAKs
	case p.ksSelf:
		return fmt.Errorf("SAK from %s while we are key server: %w", from.sci, errNotFromKeyServer)
	case p.ks != from:
		return fmt.Errorf("SAK from %s: %w", from.sci, errNotFromKeyServer)
	}
	if d.WrappedSAK == nil {
		if !p.noMACsec {
			p.logger().Info("key server advises no MACsec", "key_server", from.sci.String())
		}
		p.noMACsec = true
		return nil
	}
	p.noMACsec = false
	ki := mkpdu.KI{MI: from.mi, KN: d.KeyNumber}
	if k.hasSA(ki) {
		return nil // repeated until we report receiving
	}
	suite := d.Suite()
	if !suite.Valid() {
		return fmt.Errorf("unsupported cipher suite %s", suite)
	}
	an := macsec.AN(d.AN)
	if !an.Valid() {
		return fmt.Errorf("invalid AN %d", d.AN)
	}
	if d.ConfidentialityOffset > uint8(macsec.ConfidentialityOffset50) {
		return fmt.Errorf("invalid confidentiality offset %d", d.ConfidentialityOffset)
	}
	key, err := keywrap.Unwrap(p.kek, d.WrappedSAK)
	if err != nil {
		return fmt.Errorf("unwrap SAK %s: %w", kiString(ki), err)
	}
	if len(key) != suite.KeyLen() {
		clear(key)
		return fmt.Errorf("SAK of %d octets for %s", len(key), suite)
	}
	s := &sa{ki: ki, an: an, key: key, suite: suite, conf: macsec.Confidentiality(d.ConfidentialityOffset), created: now}
	if err := k.installSA(now, p, s); err != nil {
		s.zero()
		return err
	}
	p.sendNow = true
	return nil
}

// sendMKPDU builds, protects and sends one MKPDU.
func (p *participant) sendMKPDU(now time.Time) {
	k := p.k
	p.mn++
	pdu := mkpdu.MKPDU{
		Basic: mkpdu.Basic{
			Version:          k.cfg.MKAVersion,
			Priority:         k.cfg.Priority,
			KeyServer:        p.ksSelf || (!p.elected && k.canBeKeyServer()),
			MACsecDesired:    k.cfg.Capability != CapabilityNone,
			MACsecCapability: k.cfg.Capability,
			SCI:              k.cfg.SCI,
			MI:               p.mi,
			MN:               p.mn,
			AlgAgility:       mkpdu.AlgAgility8021X,
			CKN:              p.key.CKN,
		},
		ICVIndicator: k.cfg.AlwaysICVIndicator,
	}
	for _, pr := range p.live {
		pdu.LivePeers = append(pdu.LivePeers, mkpdu.PeerEntry{MI: pr.mi, MN: pr.mn})
	}
	for _, pr := range p.potential {
		pdu.PotentialPeers = append(pdu.PotentialPeers, mkpdu.PeerEntry{MI: pr.mi, MN: pr.mn})
	}
	if p.principal() {
		k.fillSAKUse(now, &pdu)
		// With XPN the key server tells its SSCI in the Live Peer
		// List header (802.1X-2020 Figure 11-9), so that members can
		// check they ordered the CA the same way.
		if s := k.newestSA(); p.ksSelf && s != nil && s.suite.XPN() && k.cfg.MKAVersion >= 3 && len(pdu.LivePeers) > 0 {
			pdu.KeyServerSSCI = uint8(s.ssci[k.cfg.SCI])
		}
		if p.ksSelf && len(p.live) > 0 {
			switch {
			case !p.advise:
				pdu.DistSAK = &mkpdu.DistSAK{}
			case p.dist != nil && !p.allReceive(p.dist.ki):
				pdu.DistSAK = &mkpdu.DistSAK{
					AN:                    uint8(p.dist.an),
					ConfidentialityOffset: uint8(p.dist.conf),
					KeyNumber:             p.dist.ki.KN,
					CipherSuite:           p.dist.suite,
					WrappedSAK:            p.dist.wrapped,
				}
				if p.dist.suite == macsec.GCMAES128 {
					pdu.DistSAK.CipherSuite = 0 // short form without the suite ID
				}
			}
		}
	}
	if k.cfg.MKAVersion >= 2 {
		a := &mkpdu.Announcement{}
		for _, c := range macsec.CipherSuites {
			a.CipherSuites = append(a.CipherSuites, mkpdu.CipherSuiteCap{Capability: k.cfg.Capability, ID: c})
		}
		pdu.Announcement = a
	}
	f := &mkpdu.Frame{Dst: k.cfg.Destination, Src: k.cfg.Source, EtherType: k.cfg.EtherType, EAPOLVersion: mkpdu.EAPOLVersion3, PDU: pdu}
	frame, err := f.AppendMarshalKey(nil, p.icv)
	if err != nil {
		k.stats.TxErrors++
		p.logger().Error("encode MKPDU", "err", err)
		return
	}
	p.sent = append(p.sent, sentMN{at: now, mn: p.mn})
	for len(p.sent) > 0 && now.Sub(p.sent[0].at) > k.cfg.LifeTime {
		p.sent = p.sent[1:]
	}
	if err := k.tr.Send(frame); err != nil {
		k.stats.TxErrors++
		p.logger().Warn("send MKPDU", "err", err)
		return
	}
	k.stats.TxMKPDU++
}

// allReceive reports whether every live peer receives with ki.
func (p *participant) allReceive(ki mkpdu.KI) bool {
	for _, pr := range p.live {
		if !pr.receives(ki) {
			return false
		}
	}
	return true
}

// allTransmit reports whether every live peer transmits with ki.
func (p *participant) allTransmit(ki mkpdu.KI) bool {
	for _, pr := range p.live {
		if !pr.transmits(ki) {
			return false
		}
	}
	return true
}
