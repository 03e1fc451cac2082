package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/macsecd/macsecd/macsec"
)

// staticAgreement keys a SecY by hand, as `ip macsec` does: one transmit
// SA and one receive SA per peer, installed once. Changing keys means
// editing the key files and reloading; the port is then rebuilt.
type staticAgreement struct {
	cfg  *PortConfig
	secy macsec.SecY
	log  *slog.Logger
}

func newStaticAgreement(cfg *PortConfig, att *Attachment, log *slog.Logger) *staticAgreement {
	return &staticAgreement{cfg: cfg, secy: att.SecY, log: log}
}

// install follows the SecY installation order (receive before transmit)
// and enables the controlled port last, so that under must-secure no frame
// passes before the SAs are in place.
func (s *staticAgreement) install() error {
	st := s.cfg.Static
	if err := s.secy.SetControlledPort(false); err != nil {
		return fmt.Errorf("static: disable controlled port: %w", err)
	}
	if err := s.secy.SetPolicy(s.cfg.Policy); err != nil {
		return fmt.Errorf("static: set policy: %w", err)
	}
	for i := range st.RX {
		rx := &st.RX[i]
		if err := s.secy.CreateRxSC(rx.PeerSCI); err != nil {
			return fmt.Errorf("static: create receive SC %s: %w", rx.PeerSCI, err)
		}
		if err := s.secy.CreateRxSA(rx.PeerSCI, rx.AN, rx.PN, rx.SAK()); err != nil {
			return fmt.Errorf("static: create receive SA %s AN %d: %w", rx.PeerSCI, rx.AN, err)
		}
		if err := s.secy.EnableRxSA(rx.PeerSCI, rx.AN); err != nil {
			return fmt.Errorf("static: enable receive SA %s AN %d: %w", rx.PeerSCI, rx.AN, err)
		}
	}
	pn := st.TX.PN
	if s.cfg.TestInitialPN != 0 {
		pn = s.cfg.TestInitialPN
	}
	if err := s.secy.CreateTxSA(st.TX.AN, pn, st.TX.SAK()); err != nil {
		return fmt.Errorf("static: create transmit SA AN %d: %w", st.TX.AN, err)
	}
	if err := s.secy.EnableTxSA(st.TX.AN); err != nil {
		return fmt.Errorf("static: enable transmit SA AN %d: %w", st.TX.AN, err)
	}
	if err := s.secy.SetControlledPort(true); err != nil {
		return fmt.Errorf("static: enable controlled port: %w", err)
	}
	s.log.Info("static SAs installed", "tx_an", st.TX.AN, "tx_key_id", st.TX.KeyID, "rx_peers", len(st.RX))
	return nil
}

func (s *staticAgreement) Run(ctx context.Context) error {
	if err := s.install(); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

func (s *staticAgreement) Status(ps *PortStatus) {
	tx := &s.cfg.Static.TX
	ps.CurrentSA = ps.txSA(uint8(tx.AN), tx.KeyID.String())
}

func (s *staticAgreement) Rekey(string) error {
	return errors.New("static keys: put new keys in the key files and reload (systemctl reload macsecd)")
}

func (s *staticAgreement) SetTunables(Tunables) error { return nil }
