package macsec

import (
	"crypto/cipher"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Config configures a SoftSecY.
type Config struct {
	// SCI is the SecY's own SCI: the transmit SC and the IV of every
	// protected frame.
	SCI SCI
	// Policy is the initial policy (SetPolicy changes it later).
	Policy Policy
	// MaxFrameLen is the longest protected frame, without FCS, that the
	// common port accepts; longer frames are dropped and counted as
	// OutPktsTooLong. Zero means no limit beyond the caller's buffer.
	MaxFrameLen int
	// PNThreshold is the PN at which a transmit SA reports that its PN
	// space is running out; zero means DefaultPNThreshold of the suite.
	PNThreshold uint64
	// OnPNThreshold, if set, is called once per transmit SA, when a frame
	// is first given a PN at or above the threshold. It runs on the data
	// path goroutine that crossed it, so it must not block (a
	// non-blocking channel send that wakes MKA to rekey is typical).
	OnPNThreshold func(an AN, pn uint64)
}

// SoftSecY is the software SecY: the transmit and receive SCs and SAs of
// 802.1AE-2018 10.7 with their counters, and the per-frame protect and
// validate procedures (run through a Worker). It implements SecY, so the
// userspace backend embeds it and MKA drives it like any other backend.
//
// Management methods are serialised by a mutex; the data path reads the
// state through atomic pointers to immutable or atomic values and never
// takes a lock, so management and any number of Workers run concurrently.
type SoftSecY struct {
	sci         SCI
	maxFrameLen int
	threshold   uint64
	onThreshold func(AN, uint64)

	mu       sync.Mutex // serialises management
	policy   atomic.Pointer[policyState]
	portUp   atomic.Bool
	tx       [MaxAN + 1]atomic.Pointer[txSA]
	encoding atomic.Pointer[txSA]
	encAN    AN                      // under mu
	rx       atomic.Pointer[rxTable] // copy on write, under mu
	closed   bool                    // under mu

	// epoch counts SA deletions; a Worker that sees it change drops
	// its cached ciphers of deleted SAs.
	epoch atomic.Uint64

	stats     secyCounters
	txRetired []*txSA  // recently deleted transmit SAs, under mu
	txGone    txCounts // counts of SAs dropped from txRetired, under mu
}

// maxRetired is how many deleted SAs per SC keep their counters apart.
// Workers flush their pending counts into an SA even after it was
// deleted, so a deleted SA's counters are read live for a while (its
// successors' lifetimes) before they are folded into a plain sum.
const maxRetired = 4

// saGen numbers SAs so that workers can index their cipher caches.
var saGen atomic.Uint64

// saKey is the key material of one SA, shared by the transmit and
// receive SA types. Workers build their own AEADs from it.
type saKey struct {
	slot    uint8 // index in a Worker's cipher cache, from the SA's number
	suite   CipherSuite
	id      KeyID
	ssci    uint32
	salt    Salt
	deleted atomic.Bool

	mu  sync.RWMutex // guards key against zeroing while a worker reads it
	key []byte
}

// init copies the key material in; the caller zeroes its own copy.
func (k *saKey) init(cs CipherSuite, sak *SAK) error {
	if sak == nil {
		return errors.New("no key")
	}
	if len(sak.Key) != cs.KeyLen() {
		return fmt.Errorf("%s needs a %d-octet key, got %d", cs, cs.KeyLen(), len(sak.Key))
	}
	k.slot = uint8(saGen.Add(1) % cacheSize)
	k.suite = cs
	k.id = sak.ID
	k.ssci = sak.SSCI
	k.salt = sak.Salt
	k.key = append([]byte(nil), sak.Key...)
	return nil
}

// newAEAD builds a cipher for a worker; nil once the SA is deleted.
func (k *saKey) newAEAD() cipher.AEAD {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.key == nil {
		return nil
	}
	a, err := NewAEAD(k.suite, k.key)
	if err != nil {
		return nil
	}
	return a
}

// zero retires the key: workers stop building ciphers from it and drop
// the ones they cached at their next frame.
func (k *saKey) zero() {
	k.deleted.Store(true)
	k.mu.Lock()
	clear(k.key)
	k.key = nil
	k.mu.Unlock()
}

// txSA is one transmit SA.
type txSA struct {
	saKey
	an        AN
	next      atomic.Uint64 // next PN to use; 0 after 2^64-1 was used
	maxPN     uint64
	threshold uint64
	fired     atomic.Bool
	active    atomic.Bool
	// Counters; Workers add their pending counts in batches.
	protected, encrypted             atomic.Uint64
	octetsProtected, octetsEncrypted atomic.Uint64
}

// txCounts is a sum of transmit SA counters.
type txCounts struct{ protected, encrypted, octetsProtected, octetsEncrypted uint64 }

func (c *txCounts) add(sa *txSA) {
	c.protected += sa.protected.Load()
	c.encrypted += sa.encrypted.Load()
	c.octetsProtected += sa.octetsProtected.Load()
	c.octetsEncrypted += sa.octetsEncrypted.Load()
}

// assignPN takes the next PN. It never returns a PN twice and never one
// beyond the suite's last PN: compare-and-swap rather than add, because
// an add past the last PN would wrap (XPN) or leave a window where two
// callers see the same limit check.
func (sa *txSA) assignPN() (uint64, bool) {
	for {
		n := sa.next.Load()
		if n == 0 || n > sa.maxPN {
			return 0, false
		}
		if sa.next.CompareAndSwap(n, n+1) {
			return n, true
		}
	}
}

// nextPN is the PN the next frame gets, maxPN+1 (saturated) once spent.
func (sa *txSA) nextPN() uint64 {
	n := sa.next.Load()
	if n == 0 {
		return sa.maxPN
	}
	return n
}

// rxSA is one receive SA.
type rxSA struct {
	saKey
	an     AN
	active atomic.Bool
	// next is the next expected PN: one more than the highest PN of a
	// valid frame, initially the lowest acceptable PN.
	next   atomic.Uint64
	lowest uint64 // lowest acceptable PN set at creation

	ok, invalid, notValid, notUsingSA, unusedSA atomic.Uint64
	octetsValidated, octetsDecrypted            atomic.Uint64
}

// rxCounts is a sum of the receive SA counters that the SC also shows.
type rxCounts struct{ ok, invalid, notValid, octetsValidated, octetsDecrypted uint64 }

func (c *rxCounts) add(sa *rxSA) {
	c.ok += sa.ok.Load()
	c.invalid += sa.invalid.Load()
	c.notValid += sa.notValid.Load()
	c.octetsValidated += sa.octetsValidated.Load()
	c.octetsDecrypted += sa.octetsDecrypted.Load()
}

// lowestPN is the lowest acceptable PN (802.1AE-2018 10.6.2, 10.7.13):
// the larger of the installed lowest PN and nextPN - replayWindow.
func (sa *rxSA) lowestPN(window uint32) uint64 {
	l := sa.lowest
	if n := sa.next.Load(); n > uint64(window) && n-uint64(window) > l {
		l = n - uint64(window)
	}
	return l
}

// update records a valid frame's PN (10.6.5). Several workers may race;
// the highest PN wins.
func (sa *rxSA) update(pn uint64) {
	next := pn + 1
	if next == 0 { // PN 2^64-1: nothing can follow
		next = pn
	}
	for {
		n := sa.next.Load()
		if next <= n || sa.next.CompareAndSwap(n, next) {
			return
		}
	}
}

// rxSC is one receive SC.
type rxSC struct {
	sci SCI
	sas [MaxAN + 1]atomic.Pointer[rxSA]

	// SC counters that belong to no SA (or to one not in use).
	unchecked, delayed, late, notUsingSA, unusedSA atomic.Uint64

	retired []*rxSA  // recently deleted SAs, under SoftSecY.mu
	gone    rxCounts // counts of SAs dropped from retired, under SoftSecY.mu
}

// rxTable maps SCIs to receive SCs. It is replaced, never modified, so
// the data path reads it without a lock.
type rxTable struct {
	bySCI map[SCI]*rxSC
	only  *rxSC // the single SC, for SecTAGs with neither SC nor ES
}

// lookup finds the receive SC of sci; a point-to-point SecY (one SC)
// skips the map.
func (t *rxTable) lookup(sci SCI) *rxSC {
	if o := t.only; o != nil {
		if o.sci == sci {
			return o
		}
		return nil
	}
	return t.bySCI[sci]
}

type secyCounters struct {
	outPktsUntagged, inPktsUntagged, outPktsTooLong, inPktsNoTag atomic.Uint64
	inPktsBadTag, inPktsUnknownSCI, inPktsNoSCI, inPktsOverrun   atomic.Uint64
}

// NewSoftSecY returns a SecY with the policy of cfg, the Controlled Port
// disabled, no transmit SA and no receive SC.
func NewSoftSecY(cfg Config) (*SoftSecY, error) {
	s := &SoftSecY{
		sci:         cfg.SCI,
		maxFrameLen: cfg.MaxFrameLen,
		threshold:   cfg.PNThreshold,
		onThreshold: cfg.OnPNThreshold,
	}
	if err := s.checkPolicy(&cfg.Policy); err != nil {
		return nil, fmt.Errorf("macsec: new SecY: %w", err)
	}
	p := cfg.Policy
	p.CipherSuite = p.CipherSuite.Canonical()
	s.policy.Store(newPolicyState(p))
	s.rx.Store(&rxTable{bySCI: map[SCI]*rxSC{}})
	return s, nil
}

func (s *SoftSecY) checkPolicy(p *Policy) error {
	if !p.CipherSuite.Valid() {
		return fmt.Errorf("unsupported cipher suite %#016x", uint64(p.CipherSuite))
	}
	if p.Confidentiality > ConfidentialityOffset50 {
		return fmt.Errorf("unknown confidentiality %d", p.Confidentiality)
	}
	if p.Validate > ValidateStrict {
		return fmt.Errorf("unknown validateFrames %d", p.Validate)
	}
	if p.IncludeSCI && (p.UseES || p.UseSCB) {
		return errors.New("alwaysIncludeSCI excludes the ES and SCB bits (802.1AE-2018 9.5)")
	}
	if p.UseES && s.sci.Port() != PortES {
		// Receivers rebuild the SCI of an ES frame as source MAC ‖ 1;
		// any other port would make every frame fail its ICV check.
		return fmt.Errorf("end station (ES) needs SCI port %d, SCI %s has port %d", PortES, s.sci, s.sci.Port())
	}
	return nil
}

// SCI returns the SecY's own SCI.
func (s *SoftSecY) SCI() SCI { return s.sci }

// Policy returns the current policy.
func (s *SoftSecY) Policy() Policy { return s.policy.Load().Policy }

// policyState is a Policy with what the data path derives from it,
// computed once per SetPolicy rather than per frame.
type policyState struct {
	Policy
	xpn    bool
	offset int // confidentiality offset
}

func newPolicyState(p Policy) *policyState {
	return &policyState{Policy: p, xpn: p.CipherSuite.XPN(), offset: p.Confidentiality.Offset()}
}

// SetPolicy implements SecY. The cipher suite may change only while no SA
// exists, since installed keys belong to a suite.
func (s *SoftSecY) SetPolicy(p Policy) error {
	if err := s.checkPolicy(&p); err != nil {
		return fmt.Errorf("macsec: set policy: %w", err)
	}
	p.CipherSuite = p.CipherSuite.Canonical()
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.CipherSuite != s.policy.Load().CipherSuite && s.hasSAs() {
		return fmt.Errorf("macsec: set policy: cipher suite change to %s while SAs are installed", p.CipherSuite)
	}
	s.policy.Store(newPolicyState(p))
	return nil
}

func (s *SoftSecY) hasSAs() bool {
	for i := range s.tx {
		if s.tx[i].Load() != nil {
			return true
		}
	}
	for _, sc := range s.rx.Load().bySCI {
		for i := range sc.sas {
			if sc.sas[i].Load() != nil {
				return true
			}
		}
	}
	return false
}

// SetControlledPort implements SecY.
func (s *SoftSecY) SetControlledPort(enabled bool) error {
	s.portUp.Store(enabled)
	return nil
}

// CreateRxSC implements SecY.
func (s *SoftSecY) CreateRxSC(sci SCI) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("macsec: create rx SC %s: SecY closed", sci)
	}
	old := s.rx.Load()
	if _, ok := old.bySCI[sci]; ok {
		return fmt.Errorf("macsec: create rx SC %s: exists", sci)
	}
	s.storeRx(old, sci, &rxSC{sci: sci})
	return nil
}

// DeleteRxSC implements SecY; it zeroes the keys of the SC's SAs.
func (s *SoftSecY) DeleteRxSC(sci SCI) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.rx.Load()
	sc, ok := old.bySCI[sci]
	if !ok {
		return fmt.Errorf("macsec: delete rx SC %s: no such SC", sci)
	}
	s.storeRx(old, sci, nil)
	for i := range sc.sas {
		if sa := sc.sas[i].Swap(nil); sa != nil {
			sa.zero()
		}
	}
	s.epoch.Add(1)
	return nil
}

// storeRx publishes a copy of old with sci set to sc (deleted if nil).
func (s *SoftSecY) storeRx(old *rxTable, sci SCI, sc *rxSC) {
	t := &rxTable{bySCI: make(map[SCI]*rxSC, len(old.bySCI)+1)}
	for k, v := range old.bySCI {
		t.bySCI[k] = v
	}
	if sc == nil {
		delete(t.bySCI, sci)
	} else {
		t.bySCI[sci] = sc
	}
	if len(t.bySCI) == 1 {
		for _, v := range t.bySCI {
			t.only = v
		}
	}
	s.rx.Store(t)
}

func (s *SoftSecY) rxSC(op string, sci SCI, an AN) (*rxSC, error) {
	if !an.Valid() {
		return nil, fmt.Errorf("macsec: %s %s AN %d: AN out of range", op, sci, an)
	}
	sc, ok := s.rx.Load().bySCI[sci]
	if !ok {
		return nil, fmt.Errorf("macsec: %s %s AN %d: no such receive SC", op, sci, an)
	}
	return sc, nil
}

// CreateRxSA implements SecY: it copies the key; the SA starts not in use.
func (s *SoftSecY) CreateRxSA(sci SCI, an AN, lowestPN uint64, key *SAK) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("macsec: create rx SA %s AN %d: SecY closed", sci, an)
	}
	sc, err := s.rxSC("create rx SA", sci, an)
	if err != nil {
		return err
	}
	if sc.sas[an].Load() != nil {
		return fmt.Errorf("macsec: create rx SA %s AN %d: exists", sci, an)
	}
	cs := s.policy.Load().CipherSuite
	if lowestPN == 0 || lowestPN > MaxPN(cs) {
		return fmt.Errorf("macsec: create rx SA %s AN %d: lowest PN %d out of range for %s", sci, an, lowestPN, cs)
	}
	sa := &rxSA{an: an, lowest: lowestPN}
	if err := sa.init(cs, key); err != nil {
		return fmt.Errorf("macsec: create rx SA %s AN %d: %w", sci, an, err)
	}
	sa.next.Store(lowestPN)
	sc.sas[an].Store(sa)
	return nil
}

func (s *SoftSecY) rxSA(op string, sci SCI, an AN) (*rxSC, *rxSA, error) {
	sc, err := s.rxSC(op, sci, an)
	if err != nil {
		return nil, nil, err
	}
	sa := sc.sas[an].Load()
	if sa == nil {
		return nil, nil, fmt.Errorf("macsec: %s %s AN %d: no such receive SA", op, sci, an)
	}
	return sc, sa, nil
}

// EnableRxSA implements SecY.
func (s *SoftSecY) EnableRxSA(sci SCI, an AN) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, sa, err := s.rxSA("enable rx SA", sci, an)
	if err != nil {
		return err
	}
	sa.active.Store(true)
	return nil
}

// DisableRxSA implements SecY.
func (s *SoftSecY) DisableRxSA(sci SCI, an AN) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, sa, err := s.rxSA("disable rx SA", sci, an)
	if err != nil {
		return err
	}
	sa.active.Store(false)
	return nil
}

// DeleteRxSA implements SecY; it zeroes the SA's key.
func (s *SoftSecY) DeleteRxSA(sci SCI, an AN) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, sa, err := s.rxSA("delete rx SA", sci, an)
	if err != nil {
		return err
	}
	sa.active.Store(false)
	sc.sas[an].Store(nil)
	sc.retired = append(sc.retired, sa)
	if len(sc.retired) > maxRetired {
		sc.gone.add(sc.retired[0])
		sc.retired = append(sc.retired[:0], sc.retired[1:]...)
	}
	sa.zero()
	s.epoch.Add(1)
	return nil
}

// CreateTxSA implements SecY: it copies the key; the SA starts not in use.
func (s *SoftSecY) CreateTxSA(an AN, nextPN uint64, key *SAK) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("macsec: create tx SA AN %d: SecY closed", an)
	}
	if !an.Valid() {
		return fmt.Errorf("macsec: create tx SA AN %d: AN out of range", an)
	}
	if s.tx[an].Load() != nil {
		return fmt.Errorf("macsec: create tx SA AN %d: exists", an)
	}
	cs := s.policy.Load().CipherSuite
	if nextPN == 0 || nextPN > MaxPN(cs) {
		return fmt.Errorf("macsec: create tx SA AN %d: next PN %d out of range for %s", an, nextPN, cs)
	}
	th := s.threshold
	if th == 0 {
		th = DefaultPNThreshold(cs)
	}
	sa := &txSA{an: an, maxPN: MaxPN(cs), threshold: th}
	if err := sa.init(cs, key); err != nil {
		return fmt.Errorf("macsec: create tx SA AN %d: %w", an, err)
	}
	sa.next.Store(nextPN)
	s.tx[an].Store(sa)
	return nil
}

func (s *SoftSecY) txSA(op string, an AN) (*txSA, error) {
	if !an.Valid() {
		return nil, fmt.Errorf("macsec: %s AN %d: AN out of range", op, an)
	}
	sa := s.tx[an].Load()
	if sa == nil {
		return nil, fmt.Errorf("macsec: %s AN %d: no such transmit SA", op, an)
	}
	return sa, nil
}

// EnableTxSA implements SecY: the SA becomes the encoding SA, and the
// previous encoding SA stays installed but is no longer used.
func (s *SoftSecY) EnableTxSA(an AN) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sa, err := s.txSA("enable tx SA", an)
	if err != nil {
		return err
	}
	sa.active.Store(true)
	s.encAN = an
	s.encoding.Store(sa)
	return nil
}

// DisableTxSA implements SecY.
func (s *SoftSecY) DisableTxSA(an AN) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sa, err := s.txSA("disable tx SA", an)
	if err != nil {
		return err
	}
	sa.active.Store(false)
	s.encoding.CompareAndSwap(sa, nil)
	return nil
}

// DeleteTxSA implements SecY; it zeroes the SA's key.
func (s *SoftSecY) DeleteTxSA(an AN) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sa, err := s.txSA("delete tx SA", an)
	if err != nil {
		return err
	}
	sa.active.Store(false)
	s.encoding.CompareAndSwap(sa, nil)
	s.tx[an].Store(nil)
	s.txRetired = append(s.txRetired, sa)
	if len(s.txRetired) > maxRetired {
		s.txGone.add(s.txRetired[0])
		s.txRetired = append(s.txRetired[:0], s.txRetired[1:]...)
	}
	sa.zero()
	s.epoch.Add(1)
	return nil
}

// TxNextPN implements SecY.
func (s *SoftSecY) TxNextPN(an AN) (uint64, error) {
	sa, err := s.txSA("tx next PN", an)
	if err != nil {
		return 0, err
	}
	return sa.nextPN(), nil
}

// CountOverrun counts a received frame that the data plane dropped
// because it could not keep up (InPktsOverrun, 802.1AE-2018 10.7.19).
func (s *SoftSecY) CountOverrun(n uint64) { s.stats.inPktsOverrun.Add(n) }

// Status implements SecY. Backend is "software"; a backend that embeds
// SoftSecY fills in its own name and interfaces. Counts that Workers keep
// pending (see Worker) appear once they flush.
func (s *SoftSecY) Status() (*Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &Status{
		Backend:        "software",
		Offload:        "off",
		SCI:            s.sci,
		Policy:         s.policy.Load().Policy,
		ControlledPort: s.portUp.Load(),
		EncodingSA:     s.encAN,
		Stats: SecYStats{
			OutPktsUntagged:  s.stats.outPktsUntagged.Load(),
			InPktsUntagged:   s.stats.inPktsUntagged.Load(),
			OutPktsTooLong:   s.stats.outPktsTooLong.Load(),
			InPktsNoTag:      s.stats.inPktsNoTag.Load(),
			InPktsBadTag:     s.stats.inPktsBadTag.Load(),
			InPktsUnknownSCI: s.stats.inPktsUnknownSCI.Load(),
			InPktsNoSCI:      s.stats.inPktsNoSCI.Load(),
			InPktsOverrun:    s.stats.inPktsOverrun.Load(),
		},
	}
	tx := &st.TxSC
	txSum := s.txGone
	for _, sa := range s.txRetired {
		txSum.add(sa)
	}
	for an := range s.tx {
		sa := s.tx[an].Load()
		if sa == nil {
			continue
		}
		txSum.add(sa)
		sst := TxSAStats{OutPktsProtected: sa.protected.Load(), OutPktsEncrypted: sa.encrypted.Load()}
		tx.SAs = append(tx.SAs, TxSAStatus{AN: AN(an), Active: sa.active.Load(), NextPN: sa.nextPN(), KeyID: sa.id, Stats: sst})
	}
	tx.Stats = TxSCStats{
		OutPktsProtected:   txSum.protected,
		OutPktsEncrypted:   txSum.encrypted,
		OutOctetsProtected: txSum.octetsProtected,
		OutOctetsEncrypted: txSum.octetsEncrypted,
	}
	for _, sc := range s.rx.Load().bySCI {
		rs := RxSCStatus{SCI: sc.sci, Active: true}
		sum := sc.gone
		for _, sa := range sc.retired {
			sum.add(sa)
		}
		for an := range sc.sas {
			sa := sc.sas[an].Load()
			if sa == nil {
				continue
			}
			sum.add(sa)
			rs.SAs = append(rs.SAs, RxSAStatus{AN: AN(an), Active: sa.active.Load(), NextPN: sa.next.Load(),
				LowestPN: sa.lowestPN(st.Policy.ReplayWindow), KeyID: sa.id, Stats: sa.stats()})
		}
		rs.Stats = RxSCStats{
			InOctetsValidated: sum.octetsValidated,
			InOctetsDecrypted: sum.octetsDecrypted,
			InPktsUnchecked:   sc.unchecked.Load(),
			InPktsDelayed:     sc.delayed.Load(),
			InPktsOK:          sum.ok,
			InPktsInvalid:     sum.invalid,
			InPktsLate:        sc.late.Load(),
			InPktsNotValid:    sum.notValid,
			InPktsNotUsingSA:  sc.notUsingSA.Load(),
			InPktsUnusedSA:    sc.unusedSA.Load(),
		}
		st.RxSCs = append(st.RxSCs, rs)
	}
	sortRxSCs(st.RxSCs)
	return st, nil
}

func (sa *rxSA) stats() RxSAStats {
	return RxSAStats{
		InPktsOK:         sa.ok.Load(),
		InPktsInvalid:    sa.invalid.Load(),
		InPktsNotValid:   sa.notValid.Load(),
		InPktsNotUsingSA: sa.notUsingSA.Load(),
		InPktsUnusedSA:   sa.unusedSA.Load(),
	}
}

// sortRxSCs orders receive SCs by SCI so that Status is deterministic.
func sortRxSCs(scs []RxSCStatus) {
	for i := 1; i < len(scs); i++ {
		for j := i; j > 0 && scs[j].SCI.Uint64() < scs[j-1].SCI.Uint64(); j-- {
			scs[j], scs[j-1] = scs[j-1], scs[j]
		}
	}
}

// Close implements SecY: it disables the Controlled Port, deletes every
// SA and SC and zeroes their keys. Workers drop their ciphers at their
// next frame.
func (s *SoftSecY) Close() error {
	s.portUp.Store(false)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.encoding.Store(nil)
	for i := range s.tx {
		if sa := s.tx[i].Swap(nil); sa != nil {
			sa.zero()
		}
	}
	for _, sc := range s.rx.Load().bySCI {
		for i := range sc.sas {
			if sa := sc.sas[i].Swap(nil); sa != nil {
				sa.zero()
			}
		}
	}
	s.rx.Store(&rxTable{bySCI: map[SCI]*rxSC{}})
	s.epoch.Add(1)
	return nil
}

var _ SecY = (*SoftSecY)(nil)
