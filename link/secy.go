package link

import (
	"fmt"

	"github.com/macsecd/macsecd/macsec"
	"golang.org/x/sys/unix"
)

// Config describes the kernel SecY that New creates.
type Config struct {
	Parent string // wire-side interface, required
	Name   string // name of the macsec interface, required

	// SCI of the transmit SC. Zero means the parent's MAC address and Port.
	// A non-zero SCI sets the interface's MAC address to the SCI's, as
	// 802.1AE expects of a SecY's SCI.
	SCI  macsec.SCI
	Port uint16 // used when SCI is zero; 0 means port 1

	Policy  macsec.Policy
	Offload Offload // OffloadOff for software MACsec; see SetOffload

	// Keep leaves the interface in place when the SecY is closed.
	Keep bool
}

// SecY is a kernel SecY: one macsec interface driven through a Conn. It
// implements macsec.SecY for MKA. Like every macsec.SecY it is for one
// goroutine at a time.
//
// The Controlled Port is the interface's administrative state
// (SetControlledPort sets it up or down, as wpa_supplicant's macsec_linux
// driver does). Confidentiality offsets 30 and 50 are refused: the kernel
// encrypts from offset 0 only.
type SecY struct {
	c      *Conn
	cfg    Config
	index  int
	sci    macsec.SCI
	policy macsec.Policy
	closed bool
}

var _ macsec.SecY = (*SecY)(nil)

// New creates the macsec interface described by cfg, administratively
// down (the Controlled Port disabled). The Conn stays the caller's: close
// it after the SecY.
func New(c *Conn, cfg Config) (*SecY, error) {
	if cfg.Policy.CipherSuite == 0 {
		cfg.Policy.CipherSuite = macsec.GCMAES128
	}
	y := &SecY{c: c, cfg: cfg}
	if err := y.create(cfg.Policy); err != nil {
		return nil, err
	}
	return y, nil
}

// linkSettings maps an 802.1AE policy onto the kernel's settings.
func linkSettings(p macsec.Policy) (Settings, error) {
	if !p.CipherSuite.Valid() {
		return Settings{}, fmt.Errorf("unknown cipher suite %v: %w", p.CipherSuite, unix.EINVAL)
	}
	switch p.Confidentiality {
	case macsec.IntegrityOnly, macsec.ConfidentialityOffset0:
	default:
		return Settings{}, fmt.Errorf("confidentiality %v: kernel MACsec encrypts from offset 0 only: %w", p.Confidentiality, unix.EOPNOTSUPP)
	}
	return Settings{
		CipherSuite:   p.CipherSuite.Canonical(),
		ICVLen:        macsec.ICVLen,
		Window:        p.ReplayWindow,
		Encrypt:       p.Confidentiality.Encrypt(),
		Protect:       p.ProtectFrames,
		IncludeSCI:    p.IncludeSCI,
		ES:            p.UseES,
		SCB:           p.UseSCB,
		ReplayProtect: p.ReplayProtect,
		Validate:      p.Validate,
	}, nil
}

func (y *SecY) create(p macsec.Policy) error {
	s, err := linkSettings(p)
	if err != nil {
		return &Error{Op: "create SecY", Object: y.cfg.Name, Err: err}
	}
	s.Offload = y.cfg.Offload
	lc := LinkConfig{Name: y.cfg.Name, Parent: y.cfg.Parent, Port: y.cfg.Port, Settings: s}
	if y.cfg.SCI != (macsec.SCI{}) {
		lc.HardwareAddr = y.cfg.SCI.MAC()
		lc.Port = y.cfg.SCI.Port()
	}
	l, err := y.c.CreateLink(lc)
	if err != nil {
		return err
	}
	y.index, y.sci, y.policy = l.Index, l.SCI, p
	return nil
}

// Index is the interface index of the macsec interface; it changes when
// SetPolicy recreates the interface.
func (y *SecY) Index() int { return y.index }

// Name is the macsec interface's name.
func (y *SecY) Name() string { return y.cfg.Name }

// SCI is the SCI of the transmit SC.
func (y *SecY) SCI() macsec.SCI { return y.sci }

func (y *SecY) xpn() bool { return y.policy.CipherSuite.XPN() }

// SetPolicy applies p. Everything except the cipher suite changes in
// place; the kernel fixes the cipher suite at creation, so a new one
// recreates the interface (same name, SCI, RX SCs and up/down state),
// which is allowed only while no SA exists.
func (y *SecY) SetPolicy(p macsec.Policy) error {
	if p.CipherSuite == 0 {
		p.CipherSuite = macsec.GCMAES128
	}
	s, err := linkSettings(p)
	if err != nil {
		return &Error{Op: "set policy", Object: y.cfg.Name, Err: err}
	}
	if p.CipherSuite.Canonical() != y.policy.CipherSuite.Canonical() {
		return y.recreate(p)
	}
	ch := LinkChange{
		Window: &s.Window, Encrypt: &s.Encrypt, Protect: &s.Protect, IncludeSCI: &s.IncludeSCI,
		ES: &s.ES, SCB: &s.SCB, ReplayProtect: &s.ReplayProtect, Validate: &s.Validate,
	}
	if err := y.c.ChangeLink(y.index, ch); err != nil {
		return err
	}
	y.policy = p
	return nil
}

func (y *SecY) recreate(p macsec.Policy) error {
	st, err := y.c.State(y.index)
	if err != nil {
		return err
	}
	n := len(st.TxSAs)
	for _, sc := range st.RxSCs {
		n += len(sc.SAs)
	}
	if n > 0 {
		return &Error{Op: "set policy", Object: y.cfg.Name,
			Reason: fmt.Sprintf("the cipher suite changes only while no SA exists (%d SAs installed)", n), Err: unix.EBUSY}
	}
	l, err := y.c.LinkByIndex(y.index)
	if err != nil {
		return err
	}
	if err := y.c.DeleteLink(y.index); err != nil {
		return err
	}
	if err := y.create(p); err != nil {
		return err
	}
	for _, sc := range st.RxSCs {
		if err := y.c.AddRxSC(y.index, sc.SCI, sc.Active); err != nil {
			return err
		}
	}
	if l.Up {
		return y.c.SetUp(y.index, true)
	}
	return nil
}

// SetOffload moves the SecY to another offload mode. The kernel allows
// this only while the SecY has no SCs or SAs and the interface is down;
// SetOffload takes the interface down for the change and restores its
// state.
func (y *SecY) SetOffload(mode Offload) error {
	l, err := y.c.LinkByIndex(y.index)
	if err != nil {
		return err
	}
	if l.Up {
		if err := y.c.SetUp(y.index, false); err != nil {
			return err
		}
	}
	err = y.c.UpdateOffload(y.index, mode)
	if l.Up {
		if uerr := y.c.SetUp(y.index, true); err == nil {
			err = uerr
		}
	}
	if err == nil {
		y.cfg.Offload = mode
	}
	return err
}

// SetControlledPort sets the macsec interface up (enabled) or down.
func (y *SecY) SetControlledPort(enabled bool) error { return y.c.SetUp(y.index, enabled) }

// CreateRxSC creates an active receive SC for a peer.
func (y *SecY) CreateRxSC(sci macsec.SCI) error { return y.c.AddRxSC(y.index, sci, true) }

// DeleteRxSC deletes a receive SC and its SAs.
func (y *SecY) DeleteRxSC(sci macsec.SCI) error { return y.c.DeleteRxSC(y.index, sci) }

// sa builds the SA to install; a nil key gives a nil SA, which the Conn
// refuses with EINVAL.
func (y *SecY) sa(an macsec.AN, pn uint64, key *macsec.SAK) *SA {
	if key == nil {
		return nil
	}
	if pn == 0 {
		pn = 1
	}
	return &SA{AN: an, PN: pn, XPN: y.xpn(), Key: key.Key, KeyID: key.ID, SSCI: key.SSCI, Salt: key.Salt}
}

// CreateRxSA installs an inactive receive SA whose lowest acceptable PN is
// lowestPN.
func (y *SecY) CreateRxSA(sci macsec.SCI, an macsec.AN, lowestPN uint64, key *macsec.SAK) error {
	return y.c.AddRxSA(y.index, sci, y.sa(an, lowestPN, key))
}

// EnableRxSA puts a receive SA in use.
func (y *SecY) EnableRxSA(sci macsec.SCI, an macsec.AN) error {
	on := true
	return y.c.UpdateRxSA(y.index, sci, SAUpdate{AN: an, Active: &on, XPN: y.xpn()})
}

// DisableRxSA takes a receive SA out of use.
func (y *SecY) DisableRxSA(sci macsec.SCI, an macsec.AN) error {
	off := false
	return y.c.UpdateRxSA(y.index, sci, SAUpdate{AN: an, Active: &off, XPN: y.xpn()})
}

// DeleteRxSA deletes a receive SA; the kernel zeroes its key.
func (y *SecY) DeleteRxSA(sci macsec.SCI, an macsec.AN) error {
	return y.c.DeleteRxSA(y.index, sci, an)
}

// CreateTxSA installs an inactive transmit SA whose first frame carries
// nextPN.
func (y *SecY) CreateTxSA(an macsec.AN, nextPN uint64, key *macsec.SAK) error {
	return y.c.AddTxSA(y.index, y.sa(an, nextPN, key))
}

// EnableTxSA activates the transmit SA and then makes it the encoding SA,
// in that order, so that the SecY never points at an inactive SA and no
// frame is dropped during a rekey.
//
// One loss is the kernel's, not the order's: a frame being encrypted on
// another CPU at the moment of the switch can carry the new AN with the old
// SA's key and PN (macsec_encrypt reads tx_sc->encoding_sa once for the SA
// and again for the SecTAG), and the peer drops it as InPktsNotValid.
func (y *SecY) EnableTxSA(an macsec.AN) error {
	on := true
	if err := y.c.UpdateTxSA(y.index, SAUpdate{AN: an, Active: &on, XPN: y.xpn()}); err != nil {
		return err
	}
	return y.c.ChangeLink(y.index, LinkChange{EncodingSA: &an})
}

// DisableTxSA takes a transmit SA out of use.
func (y *SecY) DisableTxSA(an macsec.AN) error {
	off := false
	return y.c.UpdateTxSA(y.index, SAUpdate{AN: an, Active: &off, XPN: y.xpn()})
}

// DeleteTxSA deletes a transmit SA; the kernel zeroes its key.
func (y *SecY) DeleteTxSA(an macsec.AN) error { return y.c.DeleteTxSA(y.index, an) }

// TxNextPN reads the next PN of a transmit SA from the kernel's dump. The
// kernel sends no event when the PN runs out: MKA polls this.
func (y *SecY) TxNextPN(an macsec.AN) (uint64, error) {
	st, err := y.c.State(y.index)
	if err != nil {
		return 0, err
	}
	sa := st.TxSA(an)
	if sa == nil {
		return 0, &Error{Op: "read next PN", Object: fmt.Sprintf("%s AN %d", y.cfg.Name, an), Reason: "no such TX SA", Err: unix.ENODEV}
	}
	return sa.NextPN, nil
}

// State returns the kernel's full state of this SecY.
func (y *SecY) State() (*State, error) { return y.c.State(y.index) }

// Status reads the SecY's state and counters.
func (y *SecY) Status() (*macsec.Status, error) {
	st, err := y.c.State(y.index)
	if err != nil {
		return nil, err
	}
	l, err := y.c.LinkByIndex(y.index)
	if err != nil {
		return nil, err
	}
	parent := ""
	if p, err := y.c.LinkByIndex(l.Parent); err == nil {
		parent = p.Name
	}
	return st.Status(l.Name, parent, l.Up), nil
}

// Status converts the kernel's state into the backend-neutral snapshot.
func (st *State) Status(ifname, parent string, controlledPort bool) *macsec.Status {
	conf := macsec.IntegrityOnly
	if st.Encrypt {
		conf = macsec.ConfidentialityOffset0
	}
	out := &macsec.Status{
		Backend:   "kernel",
		Offload:   st.Offload.String(),
		Interface: ifname,
		Parent:    parent,
		SCI:       st.SCI,
		Policy: macsec.Policy{
			CipherSuite:     st.CipherSuite,
			Confidentiality: conf,
			ProtectFrames:   st.Protect,
			Validate:        st.Validate,
			ReplayProtect:   st.ReplayProtect,
			ReplayWindow:    st.Window,
			IncludeSCI:      st.IncludeSCI,
			UseES:           st.ES,
			UseSCB:          st.SCB,
		},
		ControlledPort: controlledPort,
		EncodingSA:     st.EncodingSA,
		TxSC:           macsec.TxSCStatus{Stats: st.TxSCStats},
		Stats:          st.SecYStats,
	}
	if st.Offload != OffloadOff {
		out.Backend = "offload"
	}
	for _, sa := range st.TxSAs {
		out.TxSC.SAs = append(out.TxSC.SAs, macsec.TxSAStatus{AN: sa.AN, Active: sa.Active, NextPN: sa.NextPN, KeyID: sa.KeyID, Stats: sa.Stats})
	}
	for _, sc := range st.RxSCs {
		rs := macsec.RxSCStatus{SCI: sc.SCI, Active: sc.Active, Stats: sc.Stats}
		for _, sa := range sc.SAs {
			rs.SAs = append(rs.SAs, macsec.RxSAStatus{AN: sa.AN, Active: sa.Active, NextPN: sa.NextPN, KeyID: sa.KeyID, Stats: sa.Stats})
		}
		out.RxSCs = append(out.RxSCs, rs)
	}
	return out
}

// Close deletes the macsec interface, and with it every SC and SA, unless
// the Config said Keep. The Conn stays open. Closing twice is a no-op.
func (y *SecY) Close() error {
	if y.closed {
		return nil
	}
	y.closed = true
	if y.cfg.Keep {
		return nil
	}
	return y.c.DeleteLink(y.index)
}
