package daemon

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/mka"
)

// mkaAgreement runs the MKA participant (package mka) of a port over the
// port's EAPOL connection.
//
// The SAK rekey interval is kept here rather than in mka.Config so that a
// reload can change it without restarting the participant: the port stays
// secured and no frame is lost. When this port is key server and the SA in
// use is older than the interval, it asks the KaY for a new SAK, exactly
// as `macsecctl rekey` does. The MKA timers are in mka.Config and a reload
// changes them with KaY.SetTimers, also without a restart.
type mkaAgreement struct {
	k    *mka.KaY
	conn FrameConn
	cfg  *PortConfig
	log  *slog.Logger

	mu            sync.Mutex
	rekeyInterval time.Duration
	lastAsk       time.Time
}

func newMKAAgreement(p *PortConfig, att *Attachment, log *slog.Logger) (Agreement, error) {
	if att.EAPOL == nil {
		return nil, errors.New("mka: backend gave no EAPOL connection")
	}
	st, err := att.SecY.Status()
	if err != nil {
		return nil, fmt.Errorf("mka: read SCI of the SecY: %w", err)
	}
	cfg := mkaConfig(p, st.SCI, att.EAPOL.HardwareAddr())
	secy := att.SecY
	if p.TestInitialPN != 0 {
		secy = &initialPNSecY{SecY: secy, pn: p.TestInitialPN}
	}
	// mka.New copies the keys, and zeroes its copies when stopped.
	k, err := mka.New(cfg, secy, mka.ConnTransport(att.EAPOL), rand.Reader, log)
	if err != nil {
		return nil, err
	}
	return &mkaAgreement{k: k, conn: att.EAPOL, cfg: p, log: log, rekeyInterval: p.MKA.RekeyInterval}, nil
}

// mkaConfig is the participant's configuration for port p with the SecY's
// SCI, sending from src. Its keys are p's (mka.New copies them).
func mkaConfig(p *PortConfig, sci macsec.SCI, src net.HardwareAddr) mka.Config {
	m := p.MKA
	cfg := mka.Config{
		SCI:                sci,
		Priority:           m.Priority,
		HelloTime:          m.HelloTime,
		BoundedHelloTime:   m.BoundedHelloTime,
		LifeTime:           m.LifeTime,
		Policy:             mka.ShouldSecure,
		CipherSuite:        p.Policy.CipherSuite,
		Confidentiality:    p.Policy.Confidentiality,
		ReplayProtect:      p.Policy.ReplayProtect,
		ReplayWindow:       p.Policy.ReplayWindow,
		IncludeSCI:         p.Policy.IncludeSCI,
		PNExhaustion:       m.PNExhaustion,
		MKAVersion:         m.Version,
		Destination:        m.EAPOLDest,
		EtherType:          m.EAPOLEtherType,
		Source:             src,
		AlwaysICVIndicator: m.AlwaysICVIndex,
	}
	if p.MustSecure {
		cfg.Policy = mka.MustSecure
	}
	for i := range m.Keys {
		e := &m.Keys[i]
		k := mka.Key{CKN: e.CKN, CAK: e.CAK, Start: e.Start, End: e.End}
		if e.Fallback {
			cfg.Fallback = &k
		} else {
			cfg.Keys = append(cfg.Keys, k)
		}
	}
	return cfg
}

func (a *mkaAgreement) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go a.rekeyTimer(ctx)
	err := a.k.Run(ctx, a.conn)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// rekeyTimer asks for a new SAK when the current one has been in use for
// the rekey interval (only the key server can; others ignore it).
func (a *mkaAgreement) rekeyTimer(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			a.mu.Lock()
			interval, lastAsk := a.rekeyInterval, a.lastAsk
			a.mu.Unlock()
			if interval == 0 || now.Sub(lastAsk) < interval {
				continue
			}
			st := a.k.Status()
			if st.KeyServer == nil || !st.KeyServer.Self || st.Current == nil || now.Sub(st.Current.Since) < interval {
				continue
			}
			if err := a.k.Rekey(now, "rekey interval"); err == nil {
				a.mu.Lock()
				a.lastAsk = now
				a.mu.Unlock()
				a.log.Info("rekey requested", "reason", "rekey interval", "interval", interval)
			}
		}
	}
}

func (a *mkaAgreement) Rekey(reason string) error {
	return a.k.Rekey(time.Now(), reason)
}

func (a *mkaAgreement) SetTunables(t Tunables) error {
	if t.PNExhaustion != a.cfg.MKA.PNExhaustion {
		return errors.New("pn_exhaustion_threshold changes need a restart of the participant")
	}
	// The timers were checked when the file was loaded; an error here
	// leaves the KaY as it was and makes the reload rebuild the port.
	if m := a.cfg.MKA; t.HelloTime != m.HelloTime || t.BoundedHelloTime != m.BoundedHelloTime || t.LifeTime != m.LifeTime {
		if err := a.k.SetTimers(time.Now(), t.HelloTime, t.BoundedHelloTime, t.LifeTime); err != nil {
			return err
		}
	}
	a.mu.Lock()
	a.rekeyInterval = t.RekeyInterval
	a.mu.Unlock()
	return nil
}

func (a *mkaAgreement) Status(ps *PortStatus) {
	st := a.k.Status()
	now := time.Now()
	ms := &MKAStatus{CKN: st.Principal, Priority: a.cfg.MKA.Priority, LivePeers: []PeerStatus{}, PotentialPeers: []PeerStatus{},
		LastRekey: st.LastRekeyReason, RekeyCount: st.RekeyCount, MKPDUs: st.Counters,
		HelloTime: st.Timers.Hello.Seconds(), BoundedHelloTime: st.Timers.BoundedHello.Seconds(), LifeTime: st.Timers.Life.Seconds()}
	if ks := st.KeyServer; ks != nil {
		ms.KeyServer = &PeerStatus{SCI: ks.SCI, Priority: ks.Priority, Self: ks.Self}
	}
	for _, p := range st.Participants {
		if !p.Principal {
			continue
		}
		ms.MI, ms.MN = p.MI, p.MN
		for _, pr := range p.Peers {
			e := PeerStatus{SCI: pr.SCI, MI: pr.MI, MN: pr.MN, Priority: pr.Priority, LastHeard: now.Sub(pr.LastHeard).Seconds()}
			if pr.Live {
				ms.LivePeers = append(ms.LivePeers, e)
			} else {
				ms.PotentialPeers = append(ms.PotentialPeers, e)
			}
			if ms.KeyServer != nil && !ms.KeyServer.Self && ms.KeyServer.SCI == pr.SCI {
				ms.KeyServer.MI, ms.KeyServer.MN, ms.KeyServer.LastHeard = e.MI, e.MN, e.LastHeard
			}
		}
	}
	ps.MKA = ms
	ps.CurrentSA = mkaSA(ps, st.Current)
	ps.PreviousSA = mkaSA(ps, st.Previous)
	ps.Secured = ps.Secured && st.Secured
}

// mkaSA joins MKA's view of an SA (AN, key identifier) with the SecY's
// (next PN).
func mkaSA(ps *PortStatus, s *mka.SAStatus) *SAStatus {
	if s == nil {
		return nil
	}
	if sa := ps.txSA(s.AN, s.KeyID); sa != nil {
		return sa
	}
	return &SAStatus{AN: s.AN, KeyID: s.KeyID, Active: s.Transmit}
}

// initialPNSecY starts every transmit SA at a test PN (testing.initial_pn)
// so that interop tests reach the PN exhaustion threshold in seconds. It
// changes nothing else; receive SAs accept any PN above their lowest.
type initialPNSecY struct {
	macsec.SecY
	pn uint64
}

func (s *initialPNSecY) CreateTxSA(an macsec.AN, nextPN uint64, key *macsec.SAK) error {
	return s.SecY.CreateTxSA(an, max(nextPN, s.pn), key)
}
