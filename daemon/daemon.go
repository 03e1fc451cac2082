package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Options are the daemon's collaborators; zero fields select the real
// system (probes, backends, MKA).
type Options struct {
	Log          *slog.Logger
	Prober       Prober
	Opener       Opener
	NewAgreement AgreementFactory
	// Notify receives one-line summaries for systemd's STATUS= (nil: none).
	Notify func(status string)
	// MonitorInterval is how often secured/unsecured transitions are
	// looked for and logged (1s if zero).
	MonitorInterval time.Duration
}

// Daemon runs the ports of a configuration and applies reloads.
type Daemon struct {
	opts Options
	log  *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex // guards cfg, ports, reloaded; serialises reloads
	cfg      *Config
	ports    map[string]*port
	started  time.Time
	reloaded time.Time

	// resendStatus makes the monitor send STATUS= again on its next tick,
	// after a reload message replaced it.
	resendStatus atomic.Bool
}

// New returns a daemon for cfg; Start runs it. The daemon owns cfg (and
// zeroes its keys when they are retired).
func New(cfg *Config, opts Options) *Daemon {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Prober == nil {
		opts.Prober = SystemProber{}
	}
	if opts.Opener == nil {
		opts.Opener = SystemOpener{}
	}
	if opts.NewAgreement == nil {
		opts.NewAgreement = DefaultAgreement
	}
	if opts.MonitorInterval == 0 {
		opts.MonitorInterval = time.Second
	}
	return &Daemon{opts: opts, log: opts.Log, cfg: cfg, ports: map[string]*port{}}
}

// DefaultAgreement starts MKA or static keying as the port's config says.
func DefaultAgreement(p *PortConfig, att *Attachment, log *slog.Logger) (Agreement, error) {
	switch p.KeyAgreement {
	case KeyAgreementStatic:
		return newStaticAgreement(p, att, log), nil
	case KeyAgreementMKA:
		return newMKAAgreement(p, att, log)
	}
	return nil, fmt.Errorf("unknown key agreement %q", p.KeyAgreement)
}

// Start starts every port. Ports that cannot come up retry in the
// background and report why in their status; Start itself does not fail.
func (d *Daemon) Start() {
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.mu.Lock()
	d.started = time.Now()
	d.reloaded = d.started
	for _, pc := range d.cfg.Ports {
		d.startPort(pc)
	}
	d.mu.Unlock()
	d.wg.Add(1)
	go d.monitor()
}

func (d *Daemon) startPort(pc *PortConfig) {
	log := d.log.With("port", pc.Name)
	if pc.TestInitialPN != 0 {
		log.Warn("testing.initial_pn is set: transmit SAs start at a test PN; not for production", "initial_pn", pc.TestInitialPN)
	}
	p := &port{d: d, cfg: pc, log: log}
	d.ports[pc.Name] = p
	log.Info("port starting", "parent", pc.Parent, "interface", pc.Interface,
		"backend", pc.Backend, "key_agreement", pc.KeyAgreement, "cipher_suite", pc.Policy.CipherSuite, "policy", pc.PolicyName())
	p.start(d.ctx)
}

func (d *Daemon) stopPort(p *port, why string) {
	p.stop()
	delete(d.ports, p.cfg.Name)
	p.log.Info("port stopped", "why", why)
}

// Shutdown stops every port (each backend closes its SecY, see
// docs/operations.md) and zeroes the keys.
func (d *Daemon) Shutdown() {
	d.mu.Lock()
	for _, p := range d.ports {
		d.stopPort(p, "shutdown")
	}
	d.cfg.Zero()
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait()
}

// Config returns the running configuration (do not modify).
func (d *Daemon) Config() *Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg
}

// ReloadResult says what a reload did, port by port.
type ReloadResult struct {
	Added, Removed, Restarted, Retuned, Unchanged []string
	// Restart lists daemon settings that change only on restart.
	NeedRestart []string
}

// Reload applies a new, already validated configuration: ports that did
// not change keep running untouched (their SecY and SAs are not touched,
// so no frame is lost), ports whose only changes are tunables get them
// live, and the rest are restarted, added or removed. The daemon owns
// next afterwards.
func (d *Daemon) Reload(next *Config) ReloadResult {
	d.mu.Lock()
	defer d.mu.Unlock()
	var r ReloadResult
	old := d.cfg
	merged := &Config{File: next.File, ControlSocket: old.ControlSocket, MetricsListen: old.MetricsListen, LogLevel: next.LogLevel}
	if next.ControlSocket != old.ControlSocket {
		r.NeedRestart = append(r.NeedRestart, "daemon.control_socket")
	}
	if next.MetricsListen != old.MetricsListen {
		r.NeedRestart = append(r.NeedRestart, "daemon.metrics_listen")
	}
	for _, np := range next.Ports {
		op := old.Port(np.Name)
		p := d.ports[np.Name]
		switch {
		case op == nil || p == nil:
			d.startPort(np)
			r.Added = append(r.Added, np.Name)
			merged.Ports = append(merged.Ports, np)
		case op.Equal(np):
			np.Zero() // the running port keeps its own copy
			r.Unchanged = append(r.Unchanged, np.Name)
			merged.Ports = append(merged.Ports, op)
		case op.EqualExceptTunables(np) && p.setTunables(np.MKA.Tunables()) == nil:
			p.log.Info("port retuned without restart", "rekey_interval", np.MKA.RekeyInterval, "pn_exhaustion_threshold", np.MKA.PNExhaustion,
				"hello_time", np.MKA.HelloTime, "bounded_hello_time", np.MKA.BoundedHelloTime, "life_time", np.MKA.LifeTime)
			op.MKA.setTunables(np.MKA.Tunables())
			np.Zero()
			r.Retuned = append(r.Retuned, np.Name)
			merged.Ports = append(merged.Ports, op)
		default:
			d.stopPort(p, "configuration changed")
			op.Zero()
			d.startPort(np)
			r.Restarted = append(r.Restarted, np.Name)
			merged.Ports = append(merged.Ports, np)
		}
	}
	for _, op := range old.Ports {
		if next.Port(op.Name) == nil {
			if p := d.ports[op.Name]; p != nil {
				d.stopPort(p, "removed from configuration")
			}
			op.Zero()
			r.Removed = append(r.Removed, op.Name)
		}
	}
	d.cfg = merged
	d.reloaded = time.Now()
	d.resendStatus.Store(true)
	return r
}

// setTunables hands live-changeable settings to a running agreement. A
// port that is between attempts has nothing to retune; it reads its
// config when it starts over, which the caller updates.
func (p *port) setTunables(t Tunables) error {
	p.mu.Lock()
	ka := p.ka
	p.mu.Unlock()
	if ka == nil {
		return nil
	}
	return ka.SetTunables(t)
}

// Status reports one port, or all when name is "".
func (d *Daemon) Status(name string) (*StatusReport, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	rep := &StatusReport{Version: StatusSchemaVersion, PID: os.Getpid(), ConfigFile: d.cfg.File,
		Started: d.started, Reloaded: d.reloaded, Ports: []PortStatus{}}
	for _, pc := range d.cfg.Ports {
		if name != "" && pc.Name != name {
			continue
		}
		if p := d.ports[pc.Name]; p != nil {
			rep.Ports = append(rep.Ports, p.status())
		}
	}
	if name != "" && len(rep.Ports) == 0 {
		return nil, fmt.Errorf("no port %q", name)
	}
	return rep, nil
}

// Rekey asks the port's key agreement for a new SAK.
func (d *Daemon) Rekey(name string) error {
	d.mu.Lock()
	p := d.ports[name]
	d.mu.Unlock()
	if p == nil {
		return fmt.Errorf("no port %q", name)
	}
	p.mu.Lock()
	ka := p.ka
	p.mu.Unlock()
	if ka == nil {
		return fmt.Errorf("port %q is not running", name)
	}
	if err := ka.Rekey("operator command"); err != nil {
		return err
	}
	p.log.Info("rekey requested", "reason", "operator command")
	return nil
}

// monitor logs each port's secured/unsecured transitions once and keeps
// systemd's STATUS= line current.
func (d *Daemon) monitor() {
	defer d.wg.Done()
	t := time.NewTicker(d.opts.MonitorInterval)
	defer t.Stop()
	last := ""
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-t.C:
		}
		rep, err := d.Status("")
		if err != nil {
			continue
		}
		n := 0
		d.mu.Lock()
		for _, ps := range rep.Ports {
			p := d.ports[ps.Name]
			if p == nil {
				continue
			}
			if ps.Secured {
				n++
			}
			if ps.Secured != p.announced {
				p.announced = ps.Secured
				if ps.Secured {
					attrs := []any{"backend", ps.Backend, "interface", ps.Interface}
					if ps.CurrentSA != nil {
						attrs = append(attrs, "an", ps.CurrentSA.AN, "key_id", ps.CurrentSA.KeyID)
					}
					p.log.Info("port secured", attrs...)
				} else {
					p.log.Warn("port no longer secured", "state", ps.State, "err", ps.Error)
				}
			}
		}
		d.mu.Unlock()
		s := fmt.Sprintf("%d of %d ports secured", n, len(rep.Ports))
		if (s != last || d.resendStatus.Swap(false)) && d.opts.Notify != nil {
			d.opts.Notify(s)
		}
		last = s
	}
}
