package hwoffload

import (
	"errors"
	"fmt"

	"github.com/macsecd/macsecd/link"
	"github.com/macsecd/macsecd/macsec"
	"golang.org/x/sys/unix"
)

// SecY is a kernel SecY whose data plane runs in the parent's MAC or PHY.
// It is a link.SecY, so SCs and SAs are driven exactly as for software
// kernel MACsec (and Status reports Backend "offload" and the mode); what
// it adds are errors that explain the driver's refusals: *LimitError when
// the device has no room (ENOSPC), and what blocks a change of offload
// mode (EBUSY).
type SecY struct {
	*link.SecY
	parent string
	driver string
	limits Limits
}

var _ macsec.SecY = (*SecY)(nil)

// New creates the macsec interface described by cfg with cfg.Offload
// programmed at creation (IFLA_MACSEC_OFFLOAD), administratively down.
// cfg.Offload may be OffloadOff, to program the mode later with
// SetOffload. A device that holds no more offloaded SecYs gives a
// *LimitError; a parent that does not offload in that mode gives link's
// error matching unix.EOPNOTSUPP.
//
// New reads the parent's driver name (for the errors) in the calling
// thread's network namespace, which should be conn's.
func New(conn *link.Conn, cfg link.Config) (*SecY, error) {
	y := &SecY{parent: cfg.Parent, driver: DriverName(cfg.Parent)}
	y.limits = knownLimits[y.driver]
	ly, err := link.New(conn, cfg)
	if err != nil {
		return nil, y.limitErr(fmt.Sprintf("create SecY %s with offload %s", cfg.Name, cfg.Offload), "offloaded SecYs", y.limits.SecYs, err)
	}
	y.SecY = ly
	return y, nil
}

// Parent is the device that offloads.
func (y *SecY) Parent() string { return y.parent }

// Offload returns the offload mode the kernel holds for the SecY.
func (y *SecY) Offload() (link.Offload, error) {
	st, err := y.State()
	if err != nil {
		return 0, err
	}
	return st.Offload, nil
}

// SetOffload moves the SecY to another offload mode by
// MACSEC_CMD_UPD_OFFLOAD (link.SecY.SetOffload takes the interface down
// for it). The kernel cannot migrate SCs and SAs between modes: while any
// exist the change is refused with EBUSY, and the error lists them.
func (y *SecY) SetOffload(mode link.Offload) error {
	err := y.SecY.SetOffload(mode)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EBUSY):
		st, serr := y.State()
		if serr != nil {
			return err
		}
		return fmt.Errorf("hwoffload: set offload %s on %s: the kernel moves a SecY between offload modes only while it has no SCs or SAs, and it has %s; delete them first: %w",
			mode, y.Name(), describeConfigured(st), err)
	}
	return y.limitErr(fmt.Sprintf("set offload %s on %s", mode, y.Name()), "offloaded SecYs", y.limits.SecYs, err)
}

// describeConfigured lists a SecY's SCs and SAs for an error message.
func describeConfigured(st *link.State) string {
	rxSAs := 0
	for _, sc := range st.RxSCs {
		rxSAs += len(sc.SAs)
	}
	return fmt.Sprintf("%d TX SAs, %d RX SCs and %d RX SAs", len(st.TxSAs), len(st.RxSCs), rxSAs)
}

// SetPolicy applies p (link.SecY.SetPolicy); a new cipher suite recreates
// the SecY, which the device may have no room for.
func (y *SecY) SetPolicy(p macsec.Policy) error {
	return y.limitErr("set policy of "+y.Name(), "offloaded SecYs", y.limits.SecYs, y.SecY.SetPolicy(p))
}

// CreateRxSC creates the receive SC of a peer. Offload devices hold few
// receive SCs per SecY (netdevsim: one), so a second peer can be refused.
func (y *SecY) CreateRxSC(sci macsec.SCI) error {
	return y.limitErr(fmt.Sprintf("create RX SC %s on %s", sci, y.Name()), "receive SCs per SecY", y.limits.RxSCsPerSecY, y.SecY.CreateRxSC(sci))
}

// CreateRxSA installs a receive SA (link.SecY.CreateRxSA).
func (y *SecY) CreateRxSA(sci macsec.SCI, an macsec.AN, lowestPN uint64, key *macsec.SAK) error {
	return y.limitErr(fmt.Sprintf("create RX SA %s AN %d on %s", sci, an, y.Name()), "receive SAs", 0, y.SecY.CreateRxSA(sci, an, lowestPN, key))
}

// CreateTxSA installs a transmit SA (link.SecY.CreateTxSA).
func (y *SecY) CreateTxSA(an macsec.AN, nextPN uint64, key *macsec.SAK) error {
	return y.limitErr(fmt.Sprintf("create TX SA AN %d on %s", an, y.Name()), "transmit SAs", 0, y.SecY.CreateTxSA(an, nextPN, key))
}

// limitErr turns ENOSPC into a *LimitError and returns other errors (and
// nil) unchanged.
func (y *SecY) limitErr(op, what string, limit int, err error) error {
	if err == nil || !errors.Is(err, unix.ENOSPC) {
		return err
	}
	return &LimitError{Op: op, Parent: y.parent, Driver: y.driver, What: what, Limit: limit, Err: err}
}
