package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/macsecd/macsecd/hwoffload"
	"github.com/macsecd/macsecd/link"
	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/mka/eapol"
	"github.com/macsecd/macsecd/userspace"
)

// SystemOpener opens the real backends: package link for software kernel
// MACsec, package hwoffload for MAC/PHY offload (kernel MACsec with the
// crypto in the NIC), package userspace for the TAP data plane.
//
// Every backend deletes its secured interface when closed: macsecd stops
// → no secured interface and no key remains in the kernel (see
// docs/operations.md, "Stopping").
type SystemOpener struct{}

// Open implements Opener.
func (SystemOpener) Open(spec *BackendSpec, log *slog.Logger) (*Attachment, error) {
	switch spec.Choice.Backend {
	case hwoffload.Userspace:
		return openUserspace(spec, log)
	case hwoffload.Kernel, hwoffload.Offload:
		return openKernel(spec)
	}
	return nil, fmt.Errorf("unknown backend %q", spec.Choice.Backend)
}

func openUserspace(spec *BackendSpec, log *slog.Logger) (*Attachment, error) {
	cfg := userspace.Config{
		Name:   spec.Interface,
		Parent: spec.Parent,
		Port:   spec.SCIPort,
		Policy: spec.Policy,
		Queues: spec.UserspaceQueues,
		Logger: log,
	}
	if q := spec.UserspaceQueues; q > 1 && spec.Policy.ReplayProtect && spec.Policy.ReplayWindow < uint32(128*q) {
		// The workers' batches interleave PNs on the wire.
		log.Warn("userspace.queues > 1 with a small replay window: a peer with the same window drops frames as late",
			"queues", q, "replay_window", spec.Policy.ReplayWindow, "suggested_window", 128*q)
	}
	if spec.EAPOL != nil {
		cfg.EAPOLEtherTypes = []uint16{spec.EAPOL.EtherType}
	}
	b, err := userspace.New(cfg)
	if err != nil {
		return nil, err
	}
	att := &Attachment{SecY: b, MAC: b.HardwareAddr()}
	if spec.EAPOL != nil {
		att.EAPOL = b.EAPOL()
	}
	return att, nil
}

// kernelSecY is a link.SecY or hwoffload.SecY that also closes its
// netlink connection when closed.
type kernelSecY struct {
	macsec.SecY
	conn *link.Conn
}

func (k *kernelSecY) Close() error {
	return errors.Join(k.SecY.Close(), k.conn.Close())
}

func openKernel(spec *BackendSpec) (*Attachment, error) {
	conn, err := link.Dial()
	if err != nil {
		return nil, err
	}
	cfg := link.Config{Parent: spec.Parent, Name: spec.Interface, Port: spec.SCIPort, Policy: spec.Policy, Offload: spec.Choice.Offload}
	var y macsec.SecY
	if spec.Choice.Backend == hwoffload.Offload {
		y, err = hwoffload.New(conn, cfg)
	} else {
		y, err = link.New(conn, cfg)
	}
	if err != nil {
		// A typed nil pointer in the interface must not be closed below.
		y = nil
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	att := &Attachment{SecY: &kernelSecY{SecY: y, conn: conn}}
	if spec.EAPOL != nil {
		c, err := eapol.Listen(spec.Parent, spec.EAPOL.EtherType, []net.HardwareAddr{spec.EAPOL.Destination})
		if err != nil {
			att.SecY.Close()
			return nil, err
		}
		att.EAPOL, att.MAC = c, c.HardwareAddr()
	} else {
		ifi, err := net.InterfaceByName(spec.Parent)
		if err != nil {
			att.SecY.Close()
			return nil, err
		}
		att.MAC = ifi.HardwareAddr
	}
	return att, nil
}
