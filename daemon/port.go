package daemon

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/macsecd/macsecd/hwoffload"
	"github.com/macsecd/macsecd/internal/ipconfig"
	"github.com/macsecd/macsecd/macsec"
)

// FrameConn carries whole Ethernet frames (MKPDUs) on a port's parent
// interface. mka/eapol.Conn implements it for the kernel and offload
// backends; the userspace backend hands one out because it already owns
// the parent's packet socket.
type FrameConn interface {
	ReadFrame(buf []byte) (int, error)
	WriteFrame(frame []byte) error
	HardwareAddr() net.HardwareAddr
	Close() error
}

// BackendSpec is what a backend needs to create a port's SecY.
type BackendSpec struct {
	Choice    hwoffload.Choice
	Parent    string
	Interface string
	SCIPort   uint16
	Policy    macsec.Policy
	// EAPOL, when set, asks for a FrameConn for MKPDUs.
	EAPOL *EAPOLSpec
	// UserspaceQueues is the userspace backend's number of worker pairs.
	UserspaceQueues int
}

// EAPOLSpec says which MKPDUs a port sends and receives.
type EAPOLSpec struct {
	EtherType   uint16
	Destination net.HardwareAddr
}

// Attachment is an opened backend: the SecY, the parent's MAC address and,
// for MKA ports, the frame connection for MKPDUs.
type Attachment struct {
	SecY  macsec.SecY
	MAC   net.HardwareAddr
	EAPOL FrameConn // nil unless the spec asked for it
}

// Opener creates SecYs. SystemOpener drives the real backends; tests use
// one that returns secytest.Recorder.
type Opener interface {
	Open(spec *BackendSpec, log *slog.Logger) (*Attachment, error)
}

// Agreement keys a port's SecY: MKA or static keys. Run installs and
// maintains SAs until ctx ends; the other methods are safe to call while
// Run runs.
type Agreement interface {
	Run(ctx context.Context) error
	// Status fills the key agreement part of a port status.
	Status(ps *PortStatus)
	// Rekey asks for a new SAK now.
	Rekey(reason string) error
	// SetTunables applies settings that need no restart.
	SetTunables(t Tunables) error
}

// AgreementFactory starts the key agreement of a port on an opened backend.
type AgreementFactory func(p *PortConfig, att *Attachment, log *slog.Logger) (Agreement, error)

// port runs one PortConfig: it probes, picks a backend, opens it and runs
// the key agreement, and starts over with a back-off when any of that
// fails (e.g. the parent does not exist yet at boot).
type port struct {
	d      *Daemon
	cfg    *PortConfig
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	choice  hwoffload.Choice
	secy    *lockedSecY
	ka      Agreement
	lastErr error

	announced bool // secured as last logged by the monitor; guarded by Daemon.mu

	ip ipconfig.Snapshot // the secured interface's addresses and routes; owned by loop
}

func (p *port) start(parent context.Context) {
	ctx, cancel := context.WithCancel(parent)
	p.cancel = cancel
	p.done = make(chan struct{})
	go p.loop(ctx)
}

// stop ends the port and waits until its backend is closed.
func (p *port) stop() {
	p.cancel()
	<-p.done
}

const (
	retryMin = time.Second
	retryMax = 30 * time.Second
)

func (p *port) loop(ctx context.Context) {
	defer close(p.done)
	wait := retryMin
	for {
		start := time.Now()
		err := p.runOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > retryMax {
			wait = retryMin // it ran well: a new failure starts the back-off over
		}
		p.mu.Lock()
		p.lastErr = err
		p.mu.Unlock()
		p.log.Error("port failed; retrying", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, retryMax)
	}
}

func (p *port) runOnce(ctx context.Context) error {
	cfg := p.cfg
	caps := p.d.opts.Prober.Probe(cfg.Parent)
	decision := hwoffload.Choose(caps, cfg.Backend)
	spec := &BackendSpec{Parent: cfg.Parent, Interface: cfg.Interface, SCIPort: cfg.SCIPort, Policy: cfg.Policy,
		UserspaceQueues: cfg.UserspaceQueues}
	if cfg.MKA != nil {
		spec.EAPOL = &EAPOLSpec{EtherType: cfg.MKA.EAPOLEtherType, Destination: cfg.MKA.EAPOLDest}
	}
	// hwoffload.Open tries the choices in order and logs each refusal, so
	// an offload that refuses the SecY falls back to software.
	var att *Attachment
	_, choice, err := hwoffload.Open(decision, func(c hwoffload.Choice) (macsec.SecY, error) {
		spec.Choice = c
		a, err := p.d.opts.Opener.Open(spec, p.log)
		if err != nil {
			return nil, err
		}
		att = a
		return a.SecY, nil
	}, p.log)
	if err != nil {
		return err
	}
	spec.Choice = choice
	p.log.Info("backend chosen", "backend", choice.Backend, "offload", choice.Offload.String(), "reason", choice.Reason)
	secy := &lockedSecY{s: att.SecY}
	att.SecY = secy
	defer func() {
		if att.EAPOL != nil {
			att.EAPOL.Close()
		}
		if err := secy.Close(); err != nil {
			p.log.Warn("closing backend", "err", err)
		}
		p.mu.Lock()
		p.secy, p.ka = nil, nil
		p.mu.Unlock()
	}()
	ka, err := p.d.opts.NewAgreement(cfg, att, p.log)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.choice, p.secy, p.ka, p.lastErr = spec.Choice, secy, ka, nil
	p.mu.Unlock()
	parentIndex := 0
	if ifi, err := net.InterfaceByName(cfg.Parent); err == nil {
		parentIndex = ifi.Index
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		p.watch(runCtx, cancel, parentIndex, spec.Choice.Backend != hwoffload.Userspace, &p.ip)
	}()
	err = ka.Run(runCtx)
	cancel(nil)
	<-watched
	if cause := context.Cause(runCtx); (errors.Is(cause, errParentReplaced) || errors.Is(cause, errSecuredGone)) && ctx.Err() == nil {
		return cause
	}
	return err
}

// status snapshots the port.
func (p *port) status() PortStatus {
	cfg := p.cfg
	ps := PortStatus{
		Name: cfg.Name, Parent: cfg.Parent, Interface: cfg.Interface,
		KeyAgreement: string(cfg.KeyAgreement), Policy: cfg.PolicyName(),
		CipherSuite: cfg.Policy.CipherSuite.String(), Confidentiality: cfg.Policy.Confidentiality.String(),
		Validate: cfg.Policy.Validate.String(), ReplayProtect: cfg.Policy.ReplayProtect,
		ReplayWindow: cfg.Policy.ReplayWindow, IncludeSCI: cfg.Policy.IncludeSCI,
		Offload: "off", TxSAs: []SAStatus{}, RxSCs: []RxSCState{},
	}
	p.mu.Lock()
	choice, secy, ka, lastErr := p.choice, p.secy, p.ka, p.lastErr
	p.mu.Unlock()
	if secy == nil {
		ps.State = "failed"
		if lastErr != nil {
			ps.Error = lastErr.Error()
		} else {
			ps.State = "starting"
		}
		return ps
	}
	ps.Backend, ps.BackendReason, ps.Offload = string(choice.Backend), choice.Reason, choice.Offload.String()
	st, err := secy.Status()
	if err != nil {
		ps.State, ps.Error = "failed", "reading SecY status: "+err.Error()
		return ps
	}
	if r, ok := secy.s.(dataplaneReporter); ok {
		ds := r.State()
		ps.Dataplane = &ds
	}
	ps.fillSecY(st)
	ps.Secured = securedFromSecY(st)
	ka.Status(&ps)
	switch {
	case ps.Secured:
		ps.State = "secured"
	case ps.ControlledPort && !cfg.MustSecure:
		ps.State = "insecure"
	default:
		ps.State = "securing"
	}
	return ps
}

// lockedSecY serialises calls into a SecY: the key agreement calls it from
// its goroutine while status requests read it from others.
type lockedSecY struct {
	mu sync.Mutex
	s  macsec.SecY
}

func (l *lockedSecY) SetPolicy(p macsec.Policy) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.SetPolicy(p)
}

func (l *lockedSecY) SetControlledPort(enabled bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.SetControlledPort(enabled)
}

func (l *lockedSecY) CreateRxSC(sci macsec.SCI) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.CreateRxSC(sci)
}

func (l *lockedSecY) DeleteRxSC(sci macsec.SCI) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.DeleteRxSC(sci)
}

func (l *lockedSecY) CreateRxSA(sci macsec.SCI, an macsec.AN, lowestPN uint64, key *macsec.SAK) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.CreateRxSA(sci, an, lowestPN, key)
}

func (l *lockedSecY) EnableRxSA(sci macsec.SCI, an macsec.AN) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.EnableRxSA(sci, an)
}

func (l *lockedSecY) DisableRxSA(sci macsec.SCI, an macsec.AN) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.DisableRxSA(sci, an)
}

func (l *lockedSecY) DeleteRxSA(sci macsec.SCI, an macsec.AN) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.DeleteRxSA(sci, an)
}

func (l *lockedSecY) CreateTxSA(an macsec.AN, nextPN uint64, key *macsec.SAK) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.CreateTxSA(an, nextPN, key)
}

func (l *lockedSecY) EnableTxSA(an macsec.AN) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.EnableTxSA(an)
}

func (l *lockedSecY) DisableTxSA(an macsec.AN) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.DisableTxSA(an)
}

func (l *lockedSecY) DeleteTxSA(an macsec.AN) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.DeleteTxSA(an)
}

func (l *lockedSecY) TxNextPN(an macsec.AN) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.TxNextPN(an)
}

func (l *lockedSecY) Status() (*macsec.Status, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.Status()
}

func (l *lockedSecY) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.Close()
}
