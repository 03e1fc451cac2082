package mka

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/macsecd/macsecd/crypto/keywrap"
	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/mka/keys"
	"github.com/macsecd/macsecd/mka/mkpdu"
)

// sa is one SAK as installed in the SecY: a transmit SA and a receive SA
// on every receive SC, all on the same AN.
type sa struct {
	ki      mkpdu.KI
	an      macsec.AN
	key     []byte // zeroed when the SA is deleted
	suite   macsec.CipherSuite
	conf    macsec.Confidentiality
	ssci    map[macsec.SCI]uint32 // XPN: short SCIs fixed at installation
	salt    macsec.Salt
	created time.Time

	rx        []macsec.SCI // receive SCs holding an enabled receive SA
	txCreated bool
	txEnabled bool
	txSince   time.Time

	polledPN uint64 // next PN read at the latest hello
	lowestPN uint64 // next PN read at the hello before: reported lowest PN
}

func (s *sa) zero() { clear(s.key) }

// kiString formats a key identifier as the SecY and operators see it.
func kiString(ki mkpdu.KI) string { return ki.KeyID().String() }

// xpnSalt computes the 96-bit XPN salt from the key server's MI and the
// key number (802.1X-2020 9.8.1 / 802.1AE-2018 10.7.8 NOTE): the 64 least
// significant bits are those of the MI; the next 16 bits are the MI's
// XORed with the 16 most significant bits of the KN, and the 16 most
// significant bits are the MI's XORed with the 16 least significant bits
// of the KN.
func xpnSalt(ki mkpdu.KI) macsec.Salt {
	var s macsec.Salt
	copy(s[:], ki.MI[:])
	var kn [4]byte
	binary.BigEndian.PutUint32(kn[:], ki.KN)
	s[0] ^= kn[2]
	s[1] ^= kn[3]
	s[2] ^= kn[0]
	s[3] ^= kn[1]
	return s
}

// assignSSCI gives each member of the CA its XPN short SCI: 1, 2, ... in
// ascending numerical order of the SCIs.
func assignSSCI(self macsec.SCI, live []*peer) map[macsec.SCI]uint32 {
	scis := []macsec.SCI{self}
	for _, pr := range live {
		scis = append(scis, pr.sci)
	}
	slices.SortFunc(scis, func(a, b macsec.SCI) int { return bytes.Compare(a[:], b[:]) })
	m := make(map[macsec.SCI]uint32, len(scis))
	for i, sci := range scis {
		m[sci] = uint32(i + 1)
	}
	return m
}

// secyKey is the key material for one SA as the SecY takes it. The SecY
// copies what it keeps.
func (k *KaY) secyKey(s *sa, sci macsec.SCI) *macsec.SAK {
	key := &macsec.SAK{Key: s.key, ID: s.ki.KeyID()}
	if s.suite.XPN() {
		key.Salt = s.salt
		key.SSCI = s.ssci[sci]
		if key.SSCI == 0 {
			// A member that joined after installation: give it the next
			// free short SCI; the rekey its joining causes fixes the
			// assignment for everyone.
			key.SSCI = uint32(len(s.ssci) + 1)
			s.ssci[sci] = key.SSCI
		}
	}
	return key
}

// hasSA reports whether ki is installed.
func (k *KaY) hasSA(ki mkpdu.KI) bool {
	return (k.oldSA != nil && k.oldSA.ki == ki) || (k.latestSA != nil && k.latestSA.ki == ki)
}

// newestSA is the latest SA, or the old one if there is no latest.
func (k *KaY) newestSA() *sa {
	if k.latestSA != nil {
		return k.latestSA
	}
	return k.oldSA
}

// chooseAN picks the AN for a new SAK: the one after the newest SA's, and
// never an AN held by an SA still installed.
func (k *KaY) chooseAN() macsec.AN {
	start := macsec.AN(0)
	if s := k.newestSA(); s != nil {
		start = (s.an + 1) % 4
	}
	for i := range macsec.AN(4) {
		an := (start + i) % 4
		if (k.oldSA == nil || k.oldSA.an != an) && (k.latestSA == nil || k.latestSA.an != an) {
			return an
		}
	}
	return start // unreachable: at most two ANs are held
}

// confFor limits the configured confidentiality offset to what the
// least capable desiring participant supports.
func confFor(conf macsec.Confidentiality, capability uint8) macsec.Confidentiality {
	switch {
	case capability <= CapabilityIntegrity:
		return macsec.IntegrityOnly
	case capability == CapabilityConfidentiality && conf > macsec.ConfidentialityOffset0:
		return macsec.ConfidentialityOffset0
	}
	return conf
}

// chooseSuite selects the cipher suite as key server: the configured one
// if every live peer that announced suites supports it, else the first of
// macsec.CipherSuites they all support. Peers that announce nothing (such
// as wpa_supplicant) are taken to accept the configured suite.
func (k *KaY) chooseSuite(p *participant) macsec.CipherSuite {
	supported := func(c macsec.CipherSuite) bool {
		for _, pr := range p.live {
			if pr.suites == nil {
				continue
			}
			if !slices.ContainsFunc(pr.suites, func(s mkpdu.CipherSuiteCap) bool {
				return s.ID.Canonical() == c && s.Capability != CapabilityNone
			}) {
				return false
			}
		}
		return true
	}
	if supported(k.cfg.CipherSuite) {
		return k.cfg.CipherSuite
	}
	for _, c := range macsec.CipherSuites {
		if supported(c) && (!c.XPN() || k.cfg.MKAVersion >= 3) {
			return c
		}
	}
	return k.cfg.CipherSuite
}

// generateSAK creates, installs and starts distributing a fresh SAK
// (802.1X-2020 9.8): KN incremented, a fresh KS-nonce from the random
// source, the MIs of the live members, wrapped with the KEK.
func (k *KaY) generateSAK(now time.Time, p *participant, reason string) error {
	suite := k.chooseSuite(p)
	conf := confFor(k.cfg.Confidentiality, p.adviseCap)
	nonce := make([]byte, suite.KeyLen())
	if _, err := io.ReadFull(k.rnd, nonce); err != nil {
		return fmt.Errorf("KS-nonce: %w", err)
	}
	mis := [][12]byte{p.mi}
	for _, pr := range p.live {
		mis = append(mis, pr.mi)
	}
	kn := p.kn + 1
	key, err := keys.SAK(p.key.CAK, nonce, mis, kn, suite.KeyLen())
	clear(nonce)
	if err != nil {
		return fmt.Errorf("derive SAK: %w", err)
	}
	wrapped, err := keywrap.Wrap(p.kek, key)
	if err != nil {
		clear(key)
		return fmt.Errorf("wrap SAK: %w", err)
	}
	ki := mkpdu.KI{MI: p.mi, KN: kn}
	s := &sa{ki: ki, an: k.chooseAN(), key: key, suite: suite, conf: conf, created: now}
	if err := k.installSA(now, p, s); err != nil {
		s.zero()
		return err
	}
	p.kn = kn
	p.dist = &distribution{ki: ki, an: s.an, suite: suite, conf: conf, wrapped: wrapped}
	p.lastDist = now
	p.sendNow = true
	k.rekeys++
	k.lastReason, k.lastRekeyAt = reason, now
	p.logger().Info("SAK distributed", "reason", reason, "ki", kiString(ki), "an", s.an, "cipher_suite", suite.String(), "confidentiality", conf.String(), "peers", len(p.live))
	return nil
}

// installSA installs a new SAK as the latest SA: receive SAs on every
// receive SC first, then the transmit SA (not yet in use). A latest SA
// that never carried our traffic is deleted; one that did is made the old
// SA, retiring the one before it.
func (k *KaY) installSA(now time.Time, p *participant, s *sa) error {
	if held := k.oldSA; held != nil && held.an == s.an && (k.latestSA == nil || !k.latestSA.txEnabled) {
		return fmt.Errorf("AN %d is in use by SA %s", s.an, kiString(held.ki))
	}
	if l := k.latestSA; l != nil {
		if l.txEnabled {
			k.retireOld(now, p)
		} else {
			k.deleteSA(l)
			k.latestSA = nil
			p.logger().Info("SAK superseded", "ki", kiString(l.ki), "an", l.an)
		}
	}
	if o := k.oldSA; o != nil && o.an == s.an {
		return fmt.Errorf("AN %d is in use by SA %s", s.an, kiString(o.ki))
	}
	// The cipher suite and confidentiality offset change only while no
	// SA exists (802.1AE-2018 10.7.24): a key server changing them costs
	// a teardown.
	if s.suite != k.policy.CipherSuite || s.conf != k.policy.Confidentiality {
		if k.oldSA != nil {
			k.teardown("cipher suite change")
		}
		pol := k.basePolicy(s.suite, s.conf)
		pol.ProtectFrames, pol.Validate = k.policy.ProtectFrames, k.policy.Validate
		k.setPolicy(pol)
		if k.policy.CipherSuite != s.suite {
			return fmt.Errorf("SecY refused cipher suite %s", s.suite)
		}
	}
	// Receive SCs for every live peer first: the SAK may arrive in the
	// MKPDU that made its key server live.
	k.syncRxSCs(p.live)
	if s.suite.XPN() {
		s.ssci = assignSSCI(k.cfg.SCI, p.live)
		s.salt = xpnSalt(s.ki)
	}
	k.latestSA = s
	for _, sci := range k.rxSCs {
		k.installRxSA(s, sci)
	}
	if k.call("create transmit SA", k.secy.CreateTxSA(s.an, 1, k.secyKey(s, k.cfg.SCI))) {
		s.txCreated = true
	}
	p.logger().Info("SAK installed", "ki", kiString(s.ki), "an", s.an, "cipher_suite", s.suite.String(), "receive_scs", len(s.rx))
	return nil
}

func (k *KaY) installRxSA(s *sa, sci macsec.SCI) {
	if !k.call("create receive SA", k.secy.CreateRxSA(sci, s.an, 1, k.secyKey(s, sci))) {
		return
	}
	if k.call("enable receive SA", k.secy.EnableRxSA(sci, s.an)) {
		s.rx = append(s.rx, sci)
	}
}

func (k *KaY) deleteRxSA(s *sa, sci macsec.SCI) {
	if !slices.Contains(s.rx, sci) {
		return
	}
	k.call("disable receive SA", k.secy.DisableRxSA(sci, s.an))
	k.call("delete receive SA", k.secy.DeleteRxSA(sci, s.an))
	s.rx = slices.DeleteFunc(s.rx, func(x macsec.SCI) bool { return x == sci })
}

// deleteSA removes an SA from the SecY and zeroes its key.
func (k *KaY) deleteSA(s *sa) {
	if s.txCreated {
		if s.txEnabled {
			k.call("disable transmit SA", k.secy.DisableTxSA(s.an))
		}
		k.call("delete transmit SA", k.secy.DeleteTxSA(s.an))
		s.txCreated, s.txEnabled = false, false
	}
	for _, sci := range slices.Clone(s.rx) {
		k.deleteRxSA(s, sci)
	}
	s.zero()
}

// enableTx makes the latest SA the encoding SA, and secures the port the
// first time.
func (k *KaY) enableTx(now time.Time, p *participant, s *sa) {
	if !s.txCreated || !k.call("enable transmit SA", k.secy.EnableTxSA(s.an)) {
		return
	}
	s.txEnabled, s.txSince = true, now
	s.polledPN, s.lowestPN = 1, 1
	p.sendNow = true
	p.logger().Info("transmitting with SAK", "ki", kiString(s.ki), "an", s.an)
	if !k.secured {
		k.secured = true
		if k.cfg.Policy == MustSecure {
			k.setPort(true)
		} else if !k.policy.ProtectFrames || k.policy.Validate != macsec.ValidateStrict {
			pol := k.policy
			pol.ProtectFrames, pol.Validate = true, macsec.ValidateStrict
			k.setPolicy(pol)
		}
		p.logger().Info("secured", "ki", kiString(s.ki), "cipher_suite", s.suite.String())
	}
}

// retireOld deletes the old SA once everyone transmits with the latest,
// and makes the latest the old (the key in use, 12.x RETIRE).
func (k *KaY) retireOld(now time.Time, p *participant) {
	if o := k.oldSA; o != nil {
		k.deleteSA(o)
		p.logger().Info("SAK retired", "ki", kiString(o.ki), "an", o.an)
	}
	k.oldSA, k.latestSA = k.latestSA, nil
	p.sendNow = true
}

// teardown deletes every SA. Must-secure disables the controlled port
// first; should-secure lets traffic pass in the clear again before the
// transmit SA goes, so that nothing is dropped.
func (k *KaY) teardown(reason string) {
	if k.cfg.Policy == MustSecure {
		if k.port {
			k.setPort(false)
		}
	} else if k.policy.ProtectFrames || k.policy.Validate == macsec.ValidateStrict {
		pol := k.policy
		pol.ProtectFrames, pol.Validate = false, macsec.ValidateCheck
		k.setPolicy(pol)
	}
	for _, s := range []*sa{k.latestSA, k.oldSA} {
		if s != nil {
			k.deleteSA(s)
			k.log.Info("SAK retired", "ki", kiString(s.ki), "an", s.an, "reason", reason)
		}
	}
	k.latestSA, k.oldSA = nil, nil
	if k.secured {
		k.log.Info("not secured", "reason", reason)
	}
	k.secured = false
}

// fillSAKUse adds the MACsec SAK Use parameter set (and the XPN one) that
// reports our SAs, if we have any.
func (k *KaY) fillSAKUse(now time.Time, pdu *mkpdu.MKPDU) {
	if k.oldSA == nil && k.latestSA == nil {
		return
	}
	u := &mkpdu.SAKUse{
		PlainTx: !k.policy.ProtectFrames || !k.secured,
		PlainRx: k.policy.Validate != macsec.ValidateStrict,
	}
	var xpn mkpdu.XPN
	if l := k.latestSA; l != nil {
		u.LatestKI, u.LatestAN = l.ki, uint8(l.an)
		u.LatestRx, u.LatestTx = len(l.rx) > 0 || len(k.rxSCs) == 0, l.txEnabled
		u.LatestLowestPN = uint32(max(l.lowestPN, 1))
		xpn.LatestLowestPNHigh = uint32(l.lowestPN >> 32)
	}
	if o := k.oldSA; o != nil {
		u.OldKI, u.OldAN = o.ki, uint8(o.an)
		u.OldRx = true
		u.OldTx = o.txEnabled && (k.latestSA == nil || !k.latestSA.txEnabled)
		u.OldLowestPN = uint32(max(o.lowestPN, 1))
		xpn.OldLowestPNHigh = uint32(o.lowestPN >> 32)
	}
	pdu.SAKUse = u
	if s := k.newestSA(); s.suite.XPN() && k.cfg.MKAVersion >= 3 {
		pdu.XPN = &xpn
	}
}
