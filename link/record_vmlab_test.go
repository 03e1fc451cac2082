//go:build vmlab

package link

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/macsecd/macsecd/testenv"
	"github.com/mdlayher/netlink"
)

// TestRecordFixtures configures the fixture SecY of fixture_test.go in
// this kernel for each cipher suite and writes the kernel's raw replies
// and iproute2's view to $MACSECD_LAB_OUT/link/<kernel>/ (committed under
// testdata/ for the host tests). It also checks the recording against the
// configuration, so that a bad recording fails here first.
func TestRecordFixtures(t *testing.T) {
	out := labOut(t)
	for _, fs := range fixtureSuites {
		t.Run(fs.name, func(t *testing.T) {
			lab := testenv.New(t)
			h := lab.Host("fx")
			peer := lab.Host("peer")
			quietIPv6(t, h)
			quietIPv6(t, peer) // its neighbour discovery would move ms0's InPktsNoTag
			lab.Veth(h, "eth0", peer, "eth0")
			c := dialIn(t, h)
			l, err := c.CreateLink(fxLinkConfig(fs.suite, fs.encrypt))
			if err != nil {
				t.Fatal(err)
			}
			defer c.DeleteLink(l.Index)
			for _, sa := range fxTxSAs(fs.suite) {
				if err := c.AddTxSA(l.Index, &sa); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.AddRxSC(l.Index, fxPeerSCI, true); err != nil {
				t.Fatal(err)
			}
			for _, sa := range fxRxSAs(fs.suite) {
				if err := c.AddRxSA(l.Index, fxPeerSCI, &sa); err != nil {
					t.Fatal(err)
				}
			}
			linkMsgs := rawGetLink(t, c, l.Index)
			dumpMsgs := rawDump(t, c)
			// A recording must describe the configuration it came from.
			states, _, err := parseDump(dumpMsgs)
			if err != nil || len(states) != 1 || states[0].Settings != fxLinkConfig(fs.suite, fs.encrypt).Settings ||
				len(states[0].TxSAs) != 2 || len(states[0].RxSCs) != 1 || len(states[0].RxSCs[0].SAs) != 2 {
				t.Fatalf("recorded dump does not match the configuration: %+v, %v", states, err)
			}
			write(t, out, fs.name+"-link.bin", linkMsgs)
			write(t, out, fs.name+"-dump.bin", dumpMsgs)
			writeText(t, out, fs.name+"-iplink.txt", h.Run(t, "ip", "-d", "link", "show", "ms0"))
			writeText(t, out, fs.name+"-ipmacsec.txt", h.Run(t, "ip", "-s", "macsec", "show", "ms0"))
		})
	}
	t.Run("traffic", func(t *testing.T) {
		cs := fixtureSuites[0].suite
		a, b := newPair(t, pairPolicy(cs, true))
		keyUp(t, a, b, cs)
		a.h.Run(t, "ping", "-c", "3", "-W", "5", b.ip)
		write(t, out, "traffic-dump.bin", rawDump(t, a.c))
		writeText(t, out, "traffic-ipmacsec.txt", a.h.Run(t, "ip", "-s", "macsec", "show", "ms0"))
	})
}

// rawGetLink returns the reply messages to RTM_GETLINK, as received.
func rawGetLink(t *testing.T, c *Conn, index int) []netlink.Message {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	e := &c.rt.enc
	e.reset(0x12 /* RTM_GETLINK */, uint16(netlink.Request|netlink.Acknowledge))
	e.ifinfo(int32(index), 0, 0)
	msgs, err := c.rt.do()
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// rawDump returns the messages of one GET_TXSC dump, as received.
func rawDump(t *testing.T, c *Conn) []netlink.Message {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.genl(cmdGetTxSC, netlink.Request|netlink.Dump)
	msgs, err := c.gn.do()
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func write(t *testing.T, dir, name string, msgs []netlink.Message) {
	t.Helper()
	b, err := marshalMessages(msgs)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeText(t *testing.T, dir, name, s string) {
	t.Helper()
	t.Logf("%s:\n%s", name, s)
	if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
