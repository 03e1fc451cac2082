// Package secytest provides Recorder, an in-memory macsec.SecY that records
// every management call so that tests can assert the order in which key
// agreement installs, enables and retires secure associations.
//
// The Recorder models just enough of a SecY (802.1AE-2018 10.7) to reject the
// sequences a real backend would reject or that would lose or expose frames:
// enabling an SA that does not exist, creating an SA on an AN that is in use,
// deleting the encoding SA, changing the cipher suite while SAs exist,
// installing a key of the wrong length. It never stores key bytes: calls
// carry the SCI, AN, PN, key identifier and SSCI only.
package secytest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/macsecd/macsecd/macsec"
)

// Op names a SecY management operation as recorded in a Call.
type Op string

// The recorded operations, one per macsec.SecY method.
const (
	OpSetPolicy         Op = "SetPolicy"
	OpSetControlledPort Op = "SetControlledPort"
	OpCreateRxSC        Op = "CreateRxSC"
	OpDeleteRxSC        Op = "DeleteRxSC"
	OpCreateRxSA        Op = "CreateRxSA"
	OpEnableRxSA        Op = "EnableRxSA"
	OpDisableRxSA       Op = "DisableRxSA"
	OpDeleteRxSA        Op = "DeleteRxSA"
	OpCreateTxSA        Op = "CreateTxSA"
	OpEnableTxSA        Op = "EnableTxSA"
	OpDisableTxSA       Op = "DisableTxSA"
	OpDeleteTxSA        Op = "DeleteTxSA"
	OpTxNextPN          Op = "TxNextPN"
	OpStatus            Op = "Status"
	OpClose             Op = "Close"
)

// Call is one recorded SecY call and the state of the SecY right after it.
// It never holds key bytes.
type Call struct {
	Op      Op
	SCI     macsec.SCI   // receive SC (Rx operations)
	AN      macsec.AN    // SA operations
	PN      uint64       // lowest PN (CreateRxSA) or next PN (CreateTxSA, TxNextPN)
	KeyID   macsec.KeyID // Create*SA
	SSCI    uint32       // Create*SA (XPN)
	Enabled bool         // SetControlledPort
	Policy  macsec.Policy
	Err     error // what the call returned

	// State after the call: whether the controlled port was enabled, the
	// policy's protectFrames and validateFrames, and whether an encoding
	// SA existed. Tests use them to prove that no frame could pass
	// unprotected at any moment.
	PortEnabled   bool
	ProtectFrames bool
	Validate      macsec.ValidateFrames
	Encoding      bool
}

// String formats the call compactly for test failure messages.
func (c Call) String() string {
	var b strings.Builder
	b.WriteString(string(c.Op))
	switch c.Op {
	case OpSetPolicy:
		fmt.Fprintf(&b, "(%s %s protect=%t validate=%s)", c.Policy.CipherSuite, c.Policy.Confidentiality, c.Policy.ProtectFrames, c.Policy.Validate)
	case OpSetControlledPort:
		fmt.Fprintf(&b, "(%t)", c.Enabled)
	case OpCreateRxSC, OpDeleteRxSC:
		fmt.Fprintf(&b, "(%s)", c.SCI)
	case OpCreateRxSA:
		fmt.Fprintf(&b, "(%s an=%d pn=%d ki=%s)", c.SCI, c.AN, c.PN, c.KeyID)
	case OpEnableRxSA, OpDisableRxSA, OpDeleteRxSA:
		fmt.Fprintf(&b, "(%s an=%d)", c.SCI, c.AN)
	case OpCreateTxSA:
		fmt.Fprintf(&b, "(an=%d pn=%d ki=%s)", c.AN, c.PN, c.KeyID)
	case OpEnableTxSA, OpDisableTxSA, OpDeleteTxSA, OpTxNextPN:
		fmt.Fprintf(&b, "(an=%d)", c.AN)
	}
	if c.Err != nil {
		fmt.Fprintf(&b, " err=%v", c.Err)
	}
	return b.String()
}

// Errors the Recorder returns for sequences a SecY rejects.
var (
	ErrExists    = errors.New("secytest: already exists")
	ErrNotFound  = errors.New("secytest: does not exist")
	ErrInUse     = errors.New("secytest: SA in use")
	ErrBadKey    = errors.New("secytest: key length does not match the cipher suite")
	ErrPolicy    = errors.New("secytest: cipher suite or confidentiality changed while SAs exist")
	ErrClosed    = errors.New("secytest: closed")
	ErrInjected  = errors.New("secytest: injected failure")
	errInvalidAN = errors.New("secytest: invalid AN")
)

type txSA struct {
	keyID  macsec.KeyID
	nextPN uint64
	active bool
}

type rxSA struct {
	keyID  macsec.KeyID
	lowest uint64
	active bool
}

type rxSC struct {
	sci macsec.SCI
	sas [4]*rxSA
}

// Recorder is an in-memory macsec.SecY. The zero value is not usable; call
// New. It is safe for concurrent use.
type Recorder struct {
	mu       sync.Mutex
	sci      macsec.SCI
	policy   macsec.Policy
	port     bool
	tx       [4]*txSA
	encoding int // encoding AN, -1 if none
	rx       []*rxSC
	calls    []Call
	closed   bool
	fail     map[Op]error

	// OnKey, if set, is called with the key of every SA created, so that a
	// test can compare the keys two participants installed without the
	// Recorder keeping them. It must copy what it keeps.
	OnKey func(op Op, sci macsec.SCI, an macsec.AN, key *macsec.SAK)
}

var _ macsec.SecY = (*Recorder)(nil)

// New returns an empty Recorder for the SecY whose transmit SC is sci.
func New(sci macsec.SCI) *Recorder {
	return &Recorder{sci: sci, encoding: -1, policy: macsec.Policy{CipherSuite: macsec.GCMAES128, Validate: macsec.ValidateStrict}}
}

// Calls returns a copy of the calls recorded so far.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// Reset forgets the recorded calls (not the modelled state).
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = nil
}

// FailNext makes the next call of op return err (ErrInjected if nil)
// without changing state.
func (r *Recorder) FailNext(op Op, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		err = ErrInjected
	}
	if r.fail == nil {
		r.fail = map[Op]error{}
	}
	r.fail[op] = err
}

// SetTxNextPN sets the next PN of a transmit SA, as if the data plane had
// sent frames; tests use it to drive PN exhaustion.
func (r *Recorder) SetTxNextPN(an macsec.AN, pn uint64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !an.Valid() || r.tx[an] == nil {
		return fmt.Errorf("secytest: set next PN of transmit SA %d: %w", an, ErrNotFound)
	}
	r.tx[an].nextPN = pn
	return nil
}

// EncodingSA returns the AN of the encoding SA and whether one exists.
func (r *Recorder) EncodingSA() (macsec.AN, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.encoding < 0 {
		return 0, false
	}
	return macsec.AN(r.encoding), true
}

// TxKeyID returns the key identifier of the encoding SA.
func (r *Recorder) TxKeyID() (macsec.KeyID, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.encoding < 0 {
		return macsec.KeyID{}, false
	}
	return r.tx[r.encoding].keyID, true
}

// RxKeyIDs returns, for each receive SC, the key identifiers of its active
// receive SAs indexed by AN (zero for none).
func (r *Recorder) RxKeyIDs() map[macsec.SCI][4]macsec.KeyID {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := make(map[macsec.SCI][4]macsec.KeyID, len(r.rx))
	for _, sc := range r.rx {
		var ids [4]macsec.KeyID
		for an, sa := range sc.sas {
			if sa != nil && sa.active {
				ids[an] = sa.keyID
			}
		}
		m[sc.sci] = ids
	}
	return m
}

// PortEnabled reports whether the controlled port is enabled.
func (r *Recorder) PortEnabled() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.port
}

// Policy returns the current policy.
func (r *Recorder) Policy() macsec.Policy {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.policy
}

func (r *Recorder) findRx(sci macsec.SCI) int {
	for i, sc := range r.rx {
		if sc.sci == sci {
			return i
		}
	}
	return -1
}

func (r *Recorder) saCount() int {
	n := 0
	for _, sa := range r.tx {
		if sa != nil {
			n++
		}
	}
	for _, sc := range r.rx {
		for _, sa := range sc.sas {
			if sa != nil {
				n++
			}
		}
	}
	return n
}

// record appends c with the state after the call and returns c.Err.
func (r *Recorder) record(c Call) error {
	c.PortEnabled = r.port
	c.ProtectFrames = r.policy.ProtectFrames
	c.Validate = r.policy.Validate
	c.Encoding = r.encoding >= 0
	r.calls = append(r.calls, c)
	return c.Err
}

// check returns the injected or closed error for op, if any.
func (r *Recorder) check(op Op) error {
	if r.closed {
		return ErrClosed
	}
	if err, ok := r.fail[op]; ok {
		delete(r.fail, op)
		return err
	}
	return nil
}

func (r *Recorder) keyLenOK(key *macsec.SAK) bool {
	return key != nil && len(key.Key) == r.policy.CipherSuite.KeyLen()
}

// SetPolicy implements macsec.SecY.
func (r *Recorder) SetPolicy(p macsec.Policy) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := Call{Op: OpSetPolicy, Policy: p}
	if c.Err = r.check(c.Op); c.Err == nil {
		switch {
		case !p.CipherSuite.Valid():
			c.Err = fmt.Errorf("secytest: set policy: invalid cipher suite %s", p.CipherSuite)
		case r.saCount() > 0 && (p.CipherSuite.Canonical() != r.policy.CipherSuite.Canonical() || p.Confidentiality != r.policy.Confidentiality):
			c.Err = ErrPolicy
		default:
			r.policy = p
		}
	}
	return r.record(c)
}

// SetControlledPort implements macsec.SecY.
func (r *Recorder) SetControlledPort(enabled bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := Call{Op: OpSetControlledPort, Enabled: enabled}
	if c.Err = r.check(c.Op); c.Err == nil {
		r.port = enabled
	}
	return r.record(c)
}

// CreateRxSC implements macsec.SecY.
func (r *Recorder) CreateRxSC(sci macsec.SCI) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := Call{Op: OpCreateRxSC, SCI: sci}
	if c.Err = r.check(c.Op); c.Err == nil {
		if r.findRx(sci) >= 0 {
			c.Err = fmt.Errorf("secytest: create receive SC %s: %w", sci, ErrExists)
		} else {
			r.rx = append(r.rx, &rxSC{sci: sci})
		}
	}
	return r.record(c)
}

// DeleteRxSC implements macsec.SecY.
func (r *Recorder) DeleteRxSC(sci macsec.SCI) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := Call{Op: OpDeleteRxSC, SCI: sci}
	if c.Err = r.check(c.Op); c.Err == nil {
		if i := r.findRx(sci); i < 0 {
			c.Err = fmt.Errorf("secytest: delete receive SC %s: %w", sci, ErrNotFound)
		} else {
			r.rx = slices.Delete(r.rx, i, i+1)
		}
	}
	return r.record(c)
}

func (r *Recorder) rxSA(op string, sci macsec.SCI, an macsec.AN) (*rxSC, error) {
	if !an.Valid() {
		return nil, fmt.Errorf("secytest: %s %s/%d: %w", op, sci, an, errInvalidAN)
	}
	i := r.findRx(sci)
	if i < 0 {
		return nil, fmt.Errorf("secytest: %s %s/%d: receive SC: %w", op, sci, an, ErrNotFound)
	}
	return r.rx[i], nil
}

// CreateRxSA implements macsec.SecY.
func (r *Recorder) CreateRxSA(sci macsec.SCI, an macsec.AN, lowestPN uint64, key *macsec.SAK) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := Call{Op: OpCreateRxSA, SCI: sci, AN: an, PN: lowestPN}
	if key != nil {
		c.KeyID, c.SSCI = key.ID, key.SSCI
	}
	if c.Err = r.check(c.Op); c.Err == nil {
		sc, err := r.rxSA("create receive SA", sci, an)
		switch {
		case err != nil:
			c.Err = err
		case sc.sas[an] != nil:
			c.Err = fmt.Errorf("secytest: create receive SA %s/%d: %w", sci, an, ErrExists)
		case !r.keyLenOK(key):
			c.Err = ErrBadKey
		case lowestPN == 0:
			c.Err = fmt.Errorf("secytest: create receive SA %s/%d: lowest PN 0", sci, an)
		default:
			sc.sas[an] = &rxSA{keyID: key.ID, lowest: lowestPN}
			if r.OnKey != nil {
				r.OnKey(c.Op, sci, an, key)
			}
		}
	}
	return r.record(c)
}

func (r *Recorder) setRx(op Op, verb string, sci macsec.SCI, an macsec.AN, f func(sc *rxSC, sa *rxSA) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := Call{Op: op, SCI: sci, AN: an}
	if c.Err = r.check(c.Op); c.Err == nil {
		sc, err := r.rxSA(verb, sci, an)
		switch {
		case err != nil:
			c.Err = err
		case sc.sas[an] == nil:
			c.Err = fmt.Errorf("secytest: %s %s/%d: %w", verb, sci, an, ErrNotFound)
		default:
			c.Err = f(sc, sc.sas[an])
		}
	}
	return r.record(c)
}

// EnableRxSA implements macsec.SecY.
func (r *Recorder) EnableRxSA(sci macsec.SCI, an macsec.AN) error {
	return r.setRx(OpEnableRxSA, "enable receive SA", sci, an, func(_ *rxSC, sa *rxSA) error { sa.active = true; return nil })
}

// DisableRxSA implements macsec.SecY.
func (r *Recorder) DisableRxSA(sci macsec.SCI, an macsec.AN) error {
	return r.setRx(OpDisableRxSA, "disable receive SA", sci, an, func(_ *rxSC, sa *rxSA) error { sa.active = false; return nil })
}

// DeleteRxSA implements macsec.SecY.
func (r *Recorder) DeleteRxSA(sci macsec.SCI, an macsec.AN) error {
	return r.setRx(OpDeleteRxSA, "delete receive SA", sci, an, func(sc *rxSC, _ *rxSA) error { sc.sas[an] = nil; return nil })
}

// CreateTxSA implements macsec.SecY.
func (r *Recorder) CreateTxSA(an macsec.AN, nextPN uint64, key *macsec.SAK) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := Call{Op: OpCreateTxSA, AN: an, PN: nextPN}
	if key != nil {
		c.KeyID, c.SSCI = key.ID, key.SSCI
	}
	if c.Err = r.check(c.Op); c.Err == nil {
		switch {
		case !an.Valid():
			c.Err = errInvalidAN
		case r.tx[an] != nil:
			c.Err = fmt.Errorf("secytest: create transmit SA %d: %w", an, ErrExists)
		case !r.keyLenOK(key):
			c.Err = ErrBadKey
		case nextPN == 0:
			c.Err = fmt.Errorf("secytest: create transmit SA %d: next PN 0", an)
		default:
			r.tx[an] = &txSA{keyID: key.ID, nextPN: nextPN}
			if r.OnKey != nil {
				r.OnKey(c.Op, r.sci, an, key)
			}
		}
	}
	return r.record(c)
}

func (r *Recorder) setTx(op Op, verb string, an macsec.AN, f func(sa *txSA) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := Call{Op: op, AN: an}
	if c.Err = r.check(c.Op); c.Err == nil {
		switch {
		case !an.Valid():
			c.Err = errInvalidAN
		case r.tx[an] == nil:
			c.Err = fmt.Errorf("secytest: %s %d: %w", verb, an, ErrNotFound)
		default:
			c.Err = f(r.tx[an])
		}
	}
	return r.record(c)
}

// EnableTxSA implements macsec.SecY: the SA becomes the encoding SA.
func (r *Recorder) EnableTxSA(an macsec.AN) error {
	return r.setTx(OpEnableTxSA, "enable transmit SA", an, func(sa *txSA) error {
		sa.active = true
		r.encoding = int(an)
		return nil
	})
}

// DisableTxSA implements macsec.SecY. Disabling the encoding SA leaves the
// SecY without one (frames are then dropped, or sent in the clear if
// protectFrames is false).
func (r *Recorder) DisableTxSA(an macsec.AN) error {
	return r.setTx(OpDisableTxSA, "disable transmit SA", an, func(sa *txSA) error {
		sa.active = false
		if r.encoding == int(an) {
			r.encoding = -1
		}
		return nil
	})
}

// DeleteTxSA implements macsec.SecY. Deleting the encoding SA is rejected
// with ErrInUse: it must be disabled (or replaced) first.
func (r *Recorder) DeleteTxSA(an macsec.AN) error {
	return r.setTx(OpDeleteTxSA, "delete transmit SA", an, func(*txSA) error {
		if r.encoding == int(an) {
			return fmt.Errorf("secytest: delete transmit SA %d: encoding SA: %w", an, ErrInUse)
		}
		r.tx[an] = nil
		return nil
	})
}

// TxNextPN implements macsec.SecY.
func (r *Recorder) TxNextPN(an macsec.AN) (uint64, error) {
	var pn uint64
	err := r.setTx(OpTxNextPN, "read next PN of transmit SA", an, func(sa *txSA) error {
		pn = sa.nextPN
		return nil
	})
	if err != nil {
		return 0, err
	}
	r.mu.Lock()
	r.calls[len(r.calls)-1].PN = pn
	r.mu.Unlock()
	return pn, nil
}

// Status implements macsec.SecY. Status calls are not recorded: they
// change nothing.
func (r *Recorder) Status() (*macsec.Status, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	st := &macsec.Status{Backend: "secytest", Offload: "off", SCI: r.sci, Policy: r.policy, ControlledPort: r.port}
	if r.encoding >= 0 {
		st.EncodingSA = macsec.AN(r.encoding)
	}
	for an, sa := range r.tx {
		if sa != nil {
			st.TxSC.SAs = append(st.TxSC.SAs, macsec.TxSAStatus{AN: macsec.AN(an), Active: sa.active, NextPN: sa.nextPN, KeyID: sa.keyID})
		}
	}
	for _, sc := range r.rx {
		rs := macsec.RxSCStatus{SCI: sc.sci, Active: true}
		for an, sa := range sc.sas {
			if sa != nil {
				rs.SAs = append(rs.SAs, macsec.RxSAStatus{AN: macsec.AN(an), Active: sa.active, NextPN: sa.lowest, KeyID: sa.keyID})
			}
		}
		st.RxSCs = append(st.RxSCs, rs)
	}
	return st, nil
}

// Close implements macsec.SecY; later calls fail with ErrClosed.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := Call{Op: OpClose}
	if r.closed {
		c.Err = ErrClosed
	}
	r.closed = true
	return r.record(c)
}
