package userspace

import (
	"fmt"
	"log/slog"
	"net"

	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/mka/mkpdu"
)

// Config configures a userspace SecY.
type Config struct {
	// Name is the name of the clear-side TAP interface (for example
	// "macsec0"); the kernel picks one ("tap%d") when empty.
	Name string
	// Parent is the wire-side interface that carries the protected
	// frames, opened with AF_PACKET.
	Parent string
	// MAC is the TAP interface's MAC address; nil uses the parent's. The
	// parent is put in promiscuous mode when the two differ, since the
	// peer addresses frames to this MAC.
	MAC net.HardwareAddr
	// Port is the port identifier of the SecY's SCI (MAC, Port); zero
	// means 1, as the kernel's default SCI.
	Port uint16
	// Policy is the initial SecY policy (MKA changes it with SetPolicy).
	Policy macsec.Policy
	// Queues is the number of TAP queues and of worker pairs (one
	// transmit and one receive goroutine each, each on its own thread);
	// zero means 1. One pair already runs transmit and receive on two
	// cores. More pairs spread flows over more cores, but the transmit
	// workers then interleave their PNs on the wire: a receiver with
	// replay protection needs a replay window of about 128 × Queues, or
	// it drops the frames that arrive behind a higher PN (InPktsLate).
	Queues int
	// EAPOLEtherTypes are the EtherTypes delivered to the FrameConn
	// (Backend.EAPOL) instead of the Controlled Port; empty means
	// mkpdu.EtherTypeEAPOL (0x888E) only. Add mkpdu.EtherTypeWANEAPOL
	// (0x876F) when MKA uses it.
	EAPOLEtherTypes []uint16
	// KeepParentIPv6 leaves IPv6 enabled on the parent. By default the
	// backend disables it: the parent carries only MACsec and EAPOL, and
	// an IPv6 stack on it would send neighbour discovery in the clear.
	KeepParentIPv6 bool
	// KeepParentTraffic leaves the parent's own traffic alone. By default
	// the backend drops, with an nftables netdev table on the parent
	// ("macsecd-<parent>"), every frame the host's stack would receive or
	// send there: the backend's sockets see received frames before the
	// table's ingress chain and send around its egress chain, so only
	// MACsec and EAPOL pass, and a clear frame injected on the wire cannot
	// reach the host through the parent.
	KeepParentTraffic bool
	// PNThreshold and OnPNThreshold are passed to the SecY model (see
	// macsec.Config): the callback runs on a data-path goroutine and must
	// not block.
	PNThreshold   uint64
	OnPNThreshold func(an macsec.AN, pn uint64)
	// Logger receives state changes (TAP lost and recreated, parent down
	// and up); nil discards them.
	Logger *slog.Logger
}

func (c *Config) withDefaults() (Config, error) {
	cfg := *c
	if cfg.Parent == "" {
		return cfg, fmt.Errorf("userspace: config: no parent interface")
	}
	if cfg.Port == 0 {
		cfg.Port = 1
	}
	if cfg.Queues <= 0 {
		cfg.Queues = 1
	}
	if cfg.Queues > 16 {
		cfg.Queues = 16
	}
	if len(cfg.EAPOLEtherTypes) == 0 {
		cfg.EAPOLEtherTypes = []uint16{mkpdu.EtherTypeEAPOL}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MAC != nil && len(cfg.MAC) != 6 {
		return cfg, fmt.Errorf("userspace: config: MAC %s is not a 48-bit address", cfg.MAC)
	}
	return cfg, nil
}
