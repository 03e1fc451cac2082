package mka

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/mka/mkpdu"
)

// Transport sends one whole Ethernet frame (an MKPDU).
type Transport interface {
	Send(frame []byte) error
}

// TransportFunc adapts a function to Transport.
type TransportFunc func(frame []byte) error

// Send calls f.
func (f TransportFunc) Send(frame []byte) error { return f(frame) }

// Errors returned by KaY methods. Dropped MKPDUs return wrapped errors that
// name the reason; they are counted in Status().Counters.
var (
	ErrNotKeyServer = errors.New("mka: not the key server of the principal CA")
	ErrStopped      = errors.New("mka: stopped")
	errLoopback     = errors.New("mka: our own MKPDU")
	errMICollision  = errors.New("mka: peer uses our member identifier")
)

// KaY is the MKA actor of one port (802.1X-2020 9.16, the KaY with its
// participants and the CP state machine of clause 12). It is a
// deterministic state machine: time is passed in to HandleFrame and Tick,
// randomness comes from the io.Reader given to New, MKPDUs leave through
// the Transport and SAs are installed through the macsec.SecY. Its methods
// are safe for concurrent use (Run drives it from one goroutine while
// others read Status or ask for a rekey).
type KaY struct {
	mu   sync.Mutex
	cfg  Config
	secy macsec.SecY
	tr   Transport
	rnd  io.Reader
	log  *slog.Logger

	started, stopped bool
	now              time.Time // latest time passed in
	rx               mkpdu.Frame
	parts            []*participant
	principal        *participant

	// SAs, named as in the SAK Use parameter set: latestSA is the most
	// recently installed SAK, oldSA the one before it (or, once the latest
	// has been taken into use by everyone, the one in use: 12.x RETIRE).
	oldSA, latestSA *sa
	rxSCs           []macsec.SCI
	policy          macsec.Policy
	port            bool
	secured         bool

	rekeys      uint64
	lastReason  string
	lastRekeyAt time.Time
	stats       Counters
}

// New returns a KaY for cfg. It makes no SecY call and sends nothing until
// the first Tick or HandleFrame. rnd supplies the MIs and the SAK nonces
// (crypto/rand.Reader outside tests); log may be nil.
func New(cfg Config, secy macsec.SecY, tr Transport, rnd io.Reader, log *slog.Logger) (*KaY, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if secy == nil || tr == nil || rnd == nil {
		return nil, errors.New("mka: New needs a SecY, a Transport and a random source")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Copy the key material so that the caller may zero its copy.
	c.Keys = slices.Clone(c.Keys)
	for i := range c.Keys {
		c.Keys[i].CAK = slices.Clone(c.Keys[i].CAK)
		c.Keys[i].CKN = slices.Clone(c.Keys[i].CKN)
	}
	if c.Fallback != nil {
		fb := *c.Fallback
		fb.CAK, fb.CKN = slices.Clone(fb.CAK), slices.Clone(fb.CKN)
		c.Fallback = &fb
	}
	return &KaY{cfg: c, secy: secy, tr: tr, rnd: rnd, log: log.With("sci", c.SCI.String())}, nil
}

// canBeKeyServer reports whether this port may be elected key server.
func (k *KaY) canBeKeyServer() bool {
	return k.cfg.Priority != 0xFF && k.cfg.Capability != CapabilityNone
}

// start applies the initial policy: should-secure lets traffic pass in
// the clear until secured; must-secure protects and validates strictly
// from the start and keeps the controlled port disabled.
func (k *KaY) start(now time.Time) {
	k.started = true
	p := k.basePolicy(k.cfg.CipherSuite, k.cfg.Confidentiality)
	if k.cfg.Policy == ShouldSecure {
		p.ProtectFrames, p.Validate = false, macsec.ValidateCheck
	}
	k.setPolicy(p)
	k.setPort(k.cfg.Policy == ShouldSecure)
	k.syncParticipants(now)
	k.log.Info("MKA started", "policy", k.cfg.Policy.String(), "cipher_suite", k.cfg.CipherSuite.String(), "priority", k.cfg.Priority)
}

func (k *KaY) basePolicy(suite macsec.CipherSuite, conf macsec.Confidentiality) macsec.Policy {
	return macsec.Policy{
		CipherSuite:     suite,
		Confidentiality: conf,
		ProtectFrames:   true,
		Validate:        macsec.ValidateStrict,
		ReplayProtect:   k.cfg.ReplayProtect,
		ReplayWindow:    k.cfg.ReplayWindow,
		IncludeSCI:      k.cfg.IncludeSCI,
	}
}

// HandleFrame processes one received Ethernet frame. Frames that are not
// acceptable MKPDUs (malformed, unknown CKN, bad ICV, replayed or stale)
// are counted and dropped without changing any state; the error says why.
func (k *KaY) HandleFrame(now time.Time, frame []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		return ErrStopped
	}
	k.now = now
	if !k.started {
		k.start(now)
	}
	k.stats.RxFrames++
	// One Frame reused for every MKPDU: nothing of it is kept (peer state
	// copies what it needs), so parsing allocates little.
	f := &k.rx
	if err := f.Unmarshal(frame); err != nil {
		k.stats.Malformed++
		return fmt.Errorf("mka: drop frame: %w", err)
	}
	if f.EtherType != k.cfg.EtherType {
		k.stats.Malformed++
		return fmt.Errorf("mka: drop frame: EtherType %#04x, want %#04x", f.EtherType, k.cfg.EtherType)
	}
	var p *participant
	for _, q := range k.parts {
		if bytes.Equal(q.key.CKN, f.PDU.Basic.CKN) {
			p = q
			break
		}
	}
	if p == nil {
		k.stats.UnknownCKN++
		return fmt.Errorf("mka: drop MKPDU: unknown CKN %x", f.PDU.Basic.CKN)
	}
	if !p.icv.Verify(frame) {
		k.stats.BadICV++
		return fmt.Errorf("mka: drop MKPDU from %s: ICV mismatch", f.PDU.Basic.SCI)
	}
	if err := p.receive(now, f); err != nil {
		if errors.Is(err, errLoopback) {
			return nil
		}
		return err
	}
	k.stats.RxMKPDU++
	k.step(now)
	k.flush(now)
	return nil
}

// Tick advances the timers to now: it sends due MKPDUs, expires peers,
// starts and stops key chain participants and rekeys when due. Call it at
// NextTick or more often.
func (k *KaY) Tick(now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		return
	}
	k.now = now
	if !k.started {
		k.start(now)
	}
	k.syncParticipants(now)
	for _, p := range k.parts {
		p.expire(now)
	}
	k.step(now)
	for _, p := range k.parts {
		if !now.Before(p.nextHello) {
			p.sendNow = true
			if p.principal() {
				k.pollPNs(now, p)
			}
		}
	}
	k.step(now)
	k.flush(now)
}

// flush sends the MKPDUs that events or timers asked for.
func (k *KaY) flush(now time.Time) {
	for _, p := range k.parts {
		if p.sendNow {
			p.sendNow = false
			p.sendMKPDU(now)
			p.nextHello = now.Add(k.helloTime(p))
		}
	}
}

// helloTime is the MKPDU interval: the Bounded Hello Time while a SAK is
// being distributed, installed or retired by the principal participant.
func (k *KaY) helloTime(p *participant) time.Duration {
	if p.principal() && k.latestSA != nil {
		return k.cfg.BoundedHelloTime
	}
	return k.cfg.HelloTime
}

// NextTick returns when Tick next has work to do; the zero time means now.
func (k *KaY) NextTick() time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.started {
		return time.Time{} // start now
	}
	var next time.Time
	upd := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, p := range k.parts {
		upd(p.nextHello)
		for _, pr := range p.live {
			upd(pr.expire)
		}
		for _, pr := range p.potential {
			upd(pr.expire)
		}
		if p.ksSelf && p.rekey != "" && !p.lastDist.IsZero() {
			upd(laterThan(p.lastDist.Add(k.cfg.LifeTime), k.now))
		}
	}
	for _, key := range k.cfg.Keys {
		if !key.Start.IsZero() {
			upd(laterThan(key.Start.Add(-k.cfg.KeyLead), k.now))
			upd(laterThan(key.Start, k.now))
		}
		if !key.End.IsZero() {
			upd(laterThan(key.End, k.now))
		}
	}
	if k.cfg.RekeyInterval > 0 {
		if s := k.newestSA(); s != nil {
			upd(laterThan(s.created.Add(k.cfg.RekeyInterval), k.now))
		}
	}
	return next
}

func laterThan(t, now time.Time) time.Time {
	if t.After(now) {
		return t
	}
	return time.Time{}
}

// Rekey makes the key server distribute a fresh SAK now (or, if a SAK is
// still being taken into use, as soon as that completes). It fails with
// ErrNotKeyServer unless this port is the key server of the principal CA.
func (k *KaY) Rekey(now time.Time, reason string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		return ErrStopped
	}
	p := k.principal
	if p == nil || !p.ksSelf {
		return ErrNotKeyServer
	}
	k.now = now
	if reason == "" {
		reason = "command"
	}
	p.rekey = reason
	p.lastDist = time.Time{} // an operator's request is not rate limited
	k.step(now)
	k.flush(now)
	return nil
}

// SetTimers changes the Hello, Bounded Hello and Life Times of a running
// KaY, with the defaults and rules of Config (an invalid set changes
// nothing and returns a *TimerError). Nothing else is disturbed: peers stay
// live and SAs stay installed. A shorter hello takes effect at once (the
// next MKPDU is due no later than one new interval from now), a longer one
// after the MKPDU already scheduled. Each peer's expiry moves by the change
// of the Life Time, so that it is the new Life Time after the MKPDU that
// last refreshed it; a peer that is thereby overdue is removed by the next
// Tick, as it would have been had the Life Time always been the new one.
func (k *KaY) SetTimers(now time.Time, hello, boundedHello, life time.Duration) error {
	hello, boundedHello, life, err := timersWithDefaults(hello, boundedHello, life)
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		return ErrStopped
	}
	k.now = now
	delta := life - k.cfg.LifeTime
	k.cfg.HelloTime, k.cfg.BoundedHelloTime, k.cfg.LifeTime = hello, boundedHello, life
	for _, p := range k.parts {
		for _, pr := range p.live {
			pr.expire = pr.expire.Add(delta)
		}
		for _, pr := range p.potential {
			pr.expire = pr.expire.Add(delta)
		}
		if next := now.Add(k.helloTime(p)); next.Before(p.nextHello) {
			p.nextHello = next
		}
	}
	k.log.Info("MKA timers changed", "hello_time", hello, "bounded_hello_time", boundedHello, "life_time", life)
	return nil
}

// boundedHello is the longest Run sleeps between Ticks.
func (k *KaY) boundedHello() time.Duration {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cfg.BoundedHelloTime
}

// Stop tears the SAs down, zeroes every key and stops the participants.
// Under must-secure the controlled port is disabled first. The SecY itself
// is left to the caller.
func (k *KaY) Stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		return
	}
	k.teardown("stopped")
	for _, sci := range k.rxSCs {
		k.call("delete receive SC", k.secy.DeleteRxSC(sci))
	}
	k.rxSCs = nil
	for _, p := range k.parts {
		p.stop()
	}
	k.parts, k.principal = nil, nil
	for i := range k.cfg.Keys {
		clear(k.cfg.Keys[i].CAK)
	}
	if k.cfg.Fallback != nil {
		clear(k.cfg.Fallback.CAK)
	}
	k.stopped = true
}

// syncParticipants starts a participant for each key that is in effect
// or starts within KeyLead, and stops those whose key has ended. The
// fallback participant always runs.
func (k *KaY) syncParticipants(now time.Time) {
	want := func(key *Key) bool {
		return (key.Start.IsZero() || !now.Before(key.Start.Add(-k.cfg.KeyLead))) && (key.End.IsZero() || now.Before(key.End))
	}
	var parts []*participant
	find := func(key *Key) *participant {
		for _, p := range k.parts {
			if bytes.Equal(p.key.CKN, key.CKN) {
				return p
			}
		}
		return nil
	}
	add := func(key *Key, fallback bool) {
		p := find(key)
		if p == nil {
			var err error
			if p, err = newParticipant(k, key, fallback, now); err != nil {
				k.log.Error("start participant", "ckn", fmt.Sprintf("%x", key.CKN), "err", err)
				return
			}
			p.logger().Info("participant started", "fallback", fallback, "mi", p.mi.String())
			p.sendNow = true
		}
		parts = append(parts, p)
	}
	for i := range k.cfg.Keys {
		if want(&k.cfg.Keys[i]) {
			add(&k.cfg.Keys[i], false)
		}
	}
	if k.cfg.Fallback != nil {
		add(k.cfg.Fallback, true)
	}
	for _, p := range k.parts {
		if !slices.Contains(parts, p) {
			p.logger().Info("participant stopped", "reason", "key expired")
			p.stop()
			if k.principal == p {
				k.principal = nil
			}
		}
	}
	k.parts = parts
}

// choosePrincipal picks the participant whose CA drives the SecY: the one
// with live peers whose key is in effect and started last; else the
// fallback participant if it has live peers; else none.
func (k *KaY) choosePrincipal(now time.Time) *participant {
	var best *participant
	for _, p := range k.parts {
		if p.fallback || len(p.live) == 0 || !p.key.activeAt(now) {
			continue
		}
		if best == nil || p.key.Start.After(best.key.Start) {
			best = p
		}
	}
	if best == nil {
		for _, p := range k.parts {
			if p.fallback && len(p.live) > 0 {
				best = p
			}
		}
	}
	return best
}

// step runs the CP state machine after any event: principal selection,
// receive SCs, SAK generation, transmit switch-over and retirement.
func (k *KaY) step(now time.Time) {
	k.selectPrincipal(now)
	p := k.principal
	if p == nil || len(p.live) == 0 {
		if k.oldSA != nil || k.latestSA != nil || k.secured {
			k.teardown("no live peer")
		}
		k.syncRxSCs(nil)
		return
	}
	k.syncRxSCs(p.live)
	if p.ksSelf {
		k.keyServerStep(now, p)
	}
	s := k.latestSA
	if s != nil && !s.txEnabled {
		var ready bool
		if p.ksSelf {
			ready = p.allReceive(s.ki)
		} else {
			ready = p.ks != nil && p.ks.transmits(s.ki)
		}
		if ready {
			k.enableTx(now, p, s)
		}
	}
	if s != nil && s.txEnabled && (k.oldSA == nil || p.allTransmit(s.ki)) {
		k.retireOld(now, p)
	}
}

// selectPrincipal makes the participant choosePrincipal picks the
// principal. It runs as soon as a peer becomes live, so that the
// Distributed SAK in the MKPDU that made it live is not ignored.
func (k *KaY) selectPrincipal(now time.Time) {
	if np := k.choosePrincipal(now); np != k.principal {
		old := k.principal
		k.principal = np
		if np != nil {
			np.logger().Info("principal actor", "fallback", np.fallback)
			np.sendNow = true
			if old != nil {
				np.rekey = "key-chain-rollover"
			}
			np.elect(now)
		}
		if old != nil {
			old.sendNow = true
		}
	}
}

// keyServerStep generates a SAK when one is due: on election, membership
// change, PN exhaustion, rekey interval or command. A fresh SAK is held
// back while the previous one is still being taken into use, and, after a
// membership change, while peers are still joining (potential peers) and
// less than the Life Time has passed since the last distribution
// (802.1X-2020 9.8).
func (k *KaY) keyServerStep(now time.Time, p *participant) {
	if !p.advise {
		return
	}
	if p.rekey == "" && k.newestSA() == nil {
		p.rekey = "no SAK"
	}
	if k.cfg.RekeyInterval > 0 && p.rekey == "" {
		if s := k.newestSA(); s != nil && !now.Before(s.created.Add(k.cfg.RekeyInterval)) {
			p.rekey = "interval"
		}
	}
	if p.rekey == "" {
		return
	}
	if k.latestSA != nil && k.latestSA.txEnabled && k.oldSA != nil {
		return // switch-over in progress; rekey after retirement
	}
	membership := p.rekey == "peer-joined" || p.rekey == "peer-left"
	if membership && len(p.potential) > 0 && !p.lastDist.IsZero() && now.Before(p.lastDist.Add(k.cfg.LifeTime)) {
		return
	}
	reason := p.rekey
	p.rekey = ""
	if err := k.generateSAK(now, p, reason); err != nil {
		k.stats.SecYErrors++
		p.logger().Error("generate SAK", "reason", reason, "err", err)
	}
}

// pollPNs reads the next PN of our transmit SAs at each hello: the value
// read at the previous hello is reported as the lowest PN (the lowest PN
// used within the last Hello Time), and the key server rekeys when the
// PN of the key in use crosses the exhaustion threshold.
func (k *KaY) pollPNs(now time.Time, p *participant) {
	for _, s := range []*sa{k.oldSA, k.latestSA} {
		if s == nil || !s.txCreated {
			continue
		}
		pn, err := k.secy.TxNextPN(s.an)
		if err != nil {
			k.call("read next PN", err)
			continue
		}
		s.lowestPN = max(s.polledPN, 1)
		s.polledPN = pn
	}
	if !p.ksSelf {
		return
	}
	s := k.newestSA()
	if s == nil {
		return
	}
	exhausted := s.txEnabled && s.polledPN >= k.cfg.PNExhaustion
	for _, pr := range p.live {
		if pn, ok := pr.lowestPN(s.ki); ok && pn >= k.cfg.PNExhaustion {
			exhausted = true
		}
	}
	if exhausted && p.rekey == "" {
		p.rekey = "pn-exhaustion"
	}
}

// call counts and logs a failed SecY call. The state machine carries on:
// a backend error must not wedge key agreement, and the next rekey or
// peer change retries.
func (k *KaY) call(op string, err error) bool {
	if err == nil {
		return true
	}
	k.stats.SecYErrors++
	k.log.Error("SecY call failed", "op", op, "err", err)
	return false
}

func (k *KaY) setPolicy(p macsec.Policy) {
	if k.call("set policy", k.secy.SetPolicy(p)) {
		k.policy = p
	}
}

func (k *KaY) setPort(enabled bool) {
	if k.call("set controlled port", k.secy.SetControlledPort(enabled)) {
		k.port = enabled
	}
}

// syncRxSCs makes the receive SCs those of the live peers, installing the
// current SAs on new ones (receive before transmit).
func (k *KaY) syncRxSCs(live []*peer) {
	for _, sci := range slices.Clone(k.rxSCs) {
		if findPeerSCI(live, sci) >= 0 {
			continue
		}
		for _, s := range []*sa{k.oldSA, k.latestSA} {
			if s != nil {
				k.deleteRxSA(s, sci)
			}
		}
		k.call("delete receive SC", k.secy.DeleteRxSC(sci))
		k.rxSCs = slices.DeleteFunc(k.rxSCs, func(x macsec.SCI) bool { return x == sci })
	}
	for _, pr := range live {
		if slices.Contains(k.rxSCs, pr.sci) {
			continue
		}
		if !k.call("create receive SC", k.secy.CreateRxSC(pr.sci)) {
			continue
		}
		k.rxSCs = append(k.rxSCs, pr.sci)
		for _, s := range []*sa{k.oldSA, k.latestSA} {
			if s != nil {
				k.installRxSA(s, pr.sci)
			}
		}
	}
}
