package userspace_test

import (
	"bytes"
	"fmt"
	"net"
	"slices"
	"testing"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"

	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/testenv"
)

// TestParentIsolation checks the nftables table that isolates the parent.
// It replaces a table of the same name left by a crashed run, holds a
// drop-everything chain on the parent's ingress hook and one that passes
// only MACsec and EAPOL (one rule each) on its egress hook, lets the
// backend's own traffic through both ways (its packet sockets read before
// the ingress hook), stops what the host's own stack sends on the parent,
// and is gone after Close, when the same datagrams reach the wire (so the
// capture would have seen them).
func TestParentIsolation(t *testing.T) {
	cs := macsec.GCMAES128
	p := newTopology(t, cs, strictPolicy(cs), 0)
	stale := &nftables.Table{Name: "macsecd-eth0", Family: nftables.TableFamilyNetdev}
	if err := p.a.Do(func() error {
		c, err := nftables.New()
		if err != nil {
			return err
		}
		c.AddTable(stale)
		accept := nftables.ChainPolicyAccept
		c.AddChain(&nftables.Chain{Name: "stale", Table: stale, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookIngress, Priority: nftables.ChainPriorityFilter,
			Device: "eth0", Policy: &accept})
		return c.Flush()
	}); err != nil {
		t.Fatalf("stale table: %v", err)
	}
	p.startBoth(t)

	want := []string{"macsecd-eth0/egress hook 1 policy drop rules 2", "macsecd-eth0/ingress hook 0 policy drop rules 0"}
	if got := netdevChains(t, p.a); !slices.Equal(got, want) {
		t.Fatalf("netdev chains with the backend running: %q, want %q", got, want)
	}

	// The host's own stack gets an address on the parent and a static
	// neighbour, so that it sends IPv4 at once, without ARP.
	parent, err := p.a.Netlink().LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := netlink.ParseAddr("10.78.0.1/24")
	if err := p.a.Netlink().AddrAdd(parent, addr); err != nil {
		t.Fatal(err)
	}
	if err := p.a.Netlink().NeighAdd(&netlink.Neigh{LinkIndex: parent.Attrs().Index, State: netlink.NUD_PERMANENT,
		IP: net.ParseIP("10.78.0.2"), HardwareAddr: p.macB}); err != nil {
		t.Fatal(err)
	}
	marker := []byte("HOST-STACK-ON-PARENT")
	send := func() error {
		return p.a.Do(func() error {
			c, err := net.Dial("udp4", "10.78.0.2:9")
			if err != nil {
				return err
			}
			defer c.Close()
			for i := 0; i < 3; i++ {
				if _, err := c.Write(marker); err != nil {
					return err
				}
			}
			return nil
		})
	}

	pcap := p.capture(t, p.b, "eth0")
	ping(t, p.a, p.ipB)
	// A drop on egress may or may not report an error to the sender; what
	// counts is the wire.
	if err := send(); err != nil {
		t.Logf("send with the parent isolated: %v", err)
	}
	assertOnlyMACsec(t, pcap.stop(t))

	if err := p.ba.Close(); err != nil {
		t.Fatal(err)
	}
	if got := netdevChains(t, p.a); len(got) != 0 {
		t.Fatalf("netdev chains after Close: %q", got)
	}
	pcap = p.capture(t, p.b, "eth0")
	if err := send(); err != nil {
		t.Fatalf("send after Close: %v", err)
	}
	seen := false
	for _, f := range pcap.stop(t) {
		seen = seen || bytes.Contains(f, marker)
	}
	if !seen {
		t.Fatal("after Close the host's datagram did not reach the wire either")
	}
}

// netdevChains lists h's netdev-family chains as
// "table/chain hook N policy P", sorted.
func netdevChains(t *testing.T, h *testenv.Host) []string {
	t.Helper()
	var out []string
	if err := h.Do(func() error {
		c, err := nftables.New()
		if err != nil {
			return err
		}
		chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyNetdev)
		if err != nil {
			return err
		}
		for _, ch := range chains {
			s := ch.Table.Name + "/" + ch.Name
			if ch.Hooknum != nil {
				s += fmt.Sprintf(" hook %d", *ch.Hooknum)
			}
			if ch.Policy != nil {
				s += map[nftables.ChainPolicy]string{nftables.ChainPolicyDrop: " policy drop", nftables.ChainPolicyAccept: " policy accept"}[*ch.Policy]
			}
			rules, err := c.GetRules(ch.Table, ch)
			if err != nil {
				return err
			}
			s += fmt.Sprintf(" rules %d", len(rules))
			out = append(out, s)
		}
		return nil
	}); err != nil {
		t.Fatalf("list netdev chains in %s: %v", h.Name, err)
	}
	slices.Sort(out)
	return out
}
