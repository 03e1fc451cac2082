package userspace

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// The parent carries only MACsec and EAPOL. The backend's packet sockets
// are bound to ETH_P_ALL, so the kernel hands them every received frame
// (as a packet tap) before the netdev ingress hook runs: a drop-everything
// chain there keeps clear frames from an attacker on the wire away from
// the host's own stack, which would otherwise accept an IP packet for the
// TAP's address arriving on the parent (weak host model).
//
// Egress cannot simply drop everything: packet sockets with
// PACKET_QDISC_BYPASS skip traffic control but do pass the netdev egress
// hook (af_packet runs it itself since Linux 5.16, where the hook came).
// So the egress chain drops every frame except those of the EtherTypes
// the parent exists for, MACsec and the configured EAPOL ones: the host's
// own stack sends nothing in the clear there (no IP, ARP or neighbour
// discovery). The netns tests prove both sides (TestParentIsolation,
// TestInjectedClearFrame, and traffic in every test).
//
// The chains live in an nftables table of the netdev family, one per
// parent. Creating it needs only CAP_NET_ADMIN, the capability the
// daemon's systemd unit grants for links and SAs anyway; a tc filter
// would need a BPF program (CAP_BPF) or the gact action, which kernels
// often lack.

// isolationTablePrefix starts the name of the table that isolates a
// parent: "macsecd-<parent>".
const isolationTablePrefix = "macsecd-"

// isolation records the table isolateParent installed, for undo.
type isolation struct {
	table *nftables.Table
	log   *slog.Logger
}

// isolateParent installs the isolation chains on the parent; etherTypes
// are those its egress chain lets pass. A table of the same name left by
// a run that did not end cleanly is replaced in the same transaction, so
// that the parent is never open in between. On a kernel without the
// netdev egress hook (before 5.16, or built without NETFILTER_EGRESS) it
// isolates ingress only and logs a warning.
//
// Like the rest of the backend's netlink use, it acts in the calling
// thread's network namespace.
func isolateParent(parent string, etherTypes []uint16, log *slog.Logger) (*isolation, error) {
	t := &nftables.Table{Name: isolationTablePrefix + parent, Family: nftables.TableFamilyNetdev}
	egress := true
	err := installIsolation(t, parent, etherTypes, egress)
	if errors.Is(err, unix.EOPNOTSUPP) {
		egress = false
		if err = installIsolation(t, parent, nil, egress); err == nil {
			log.Warn("parent egress not isolated: the kernel has no netdev egress hook (Linux 5.16 with NETFILTER_EGRESS); the host's own stack can send in the clear on the parent",
				"parent", parent)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("nftables netdev table %s: %w (needs CAP_NET_ADMIN and a kernel with nf_tables and its netdev family)", t.Name, err)
	}
	hooks := "ingress (drop all)"
	if egress {
		hooks += ", egress (MACsec and EAPOL only)"
	}
	log.Info("parent isolated", "parent", parent, "mechanism", "nftables netdev table", "table", t.Name, "hooks", hooks)
	return &isolation{table: t, log: log}, nil
}

// installIsolation replaces table t (if any) with one whose ingress chain
// drops every frame on the parent and, with egress, whose egress chain
// drops every frame not of etherTypes, in one transaction.
func installIsolation(t *nftables.Table, parent string, etherTypes []uint16, egress bool) error {
	c, err := nftables.New()
	if err != nil {
		return err
	}
	// Adding an existing table is no error, so add, delete and add again
	// is "replace": nft's own idiom for a script that owns a table.
	c.AddTable(t)
	c.DelTable(t)
	c.AddTable(t)
	drop := nftables.ChainPolicyDrop
	c.AddChain(&nftables.Chain{
		Name: "ingress", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookIngress, Priority: nftables.ChainPriorityFilter,
		Device: parent, Policy: &drop,
	})
	if egress {
		out := c.AddChain(&nftables.Chain{
			Name: "egress", Table: t, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookEgress, Priority: nftables.ChainPriorityFilter,
			Device: parent, Policy: &drop,
		})
		for _, et := range etherTypes {
			// meta protocol is the frame's EtherType: af_packet sets it
			// from the Ethernet header when the sender gives none.
			c.AddRule(&nftables.Rule{Table: t, Chain: out, Exprs: []expr.Any{
				&expr.Meta{Key: expr.MetaKeyPROTOCOL, Register: 1},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.BigEndian.AppendUint16(nil, et)},
				&expr.Verdict{Kind: expr.VerdictAccept},
			}})
		}
	}
	return c.Flush()
}

// undo removes what isolateParent installed.
func (iso *isolation) undo() {
	if iso == nil {
		return
	}
	c, err := nftables.New()
	if err == nil {
		c.DelTable(iso.table)
		err = c.Flush()
	}
	if err != nil && !errors.Is(err, unix.ENOENT) {
		iso.log.Warn("could not remove the parent's isolation table", "table", iso.table.Name, "err", err)
	}
}
