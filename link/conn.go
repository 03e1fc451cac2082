package link

import (
	"fmt"
	"sync"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Conn talks to kernel MACsec in the network namespace it was opened in:
// rtnetlink for the macsec interfaces (the SecYs), the generic netlink
// family "macsec" for their secure channels and associations, and the
// family's dump for state and counters. A Conn is safe for concurrent use;
// requests are serialised.
type Conn struct {
	mu     sync.Mutex
	rt     *nlsock // NETLINK_ROUTE
	gn     *nlsock // NETLINK_GENERIC
	family uint16  // id of the "macsec" family

	dumpsInterrupted uint64 // dumps the kernel flagged NLM_F_DUMP_INTR, retried
}

// Dial opens both netlink sockets and resolves the "macsec" generic netlink
// family (version 1). The sockets stay in the calling thread's network
// namespace even when the thread later moves.
func Dial() (*Conn, error) {
	rt, err := dialSock(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, &Error{Op: "dial", Object: "rtnetlink", Err: err}
	}
	gn, err := dialSock(unix.NETLINK_GENERIC)
	if err != nil {
		rt.close()
		return nil, &Error{Op: "dial", Object: "generic netlink", Err: err}
	}
	fam, err := genetlink.NewConn(gn.c).GetFamily(genlName)
	if err != nil {
		rt.close()
		gn.close()
		return nil, opErr("resolve", "generic netlink family \"macsec\"", err, map[unix.Errno]string{
			unix.ENOENT: "no MACsec in this kernel (module macsec not loaded or not built)",
		})
	}
	if fam.Version != genlVersion {
		rt.close()
		gn.close()
		return nil, &Error{Op: "resolve", Object: "generic netlink family \"macsec\"",
			Err: fmt.Errorf("version %d, want %d", fam.Version, genlVersion)}
	}
	return &Conn{rt: rt, gn: gn, family: fam.ID}, nil
}

// Close closes the sockets. Interfaces, SCs and SAs stay in the kernel.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err1 := c.rt.close()
	err2 := c.gn.close()
	if err1 != nil {
		return err1
	}
	return err2
}

// genl starts a request of the macsec family in the generic socket's
// buffer.
func (c *Conn) genl(cmd uint8, flags netlink.HeaderFlags) *encoder {
	e := &c.gn.enc
	e.reset(c.family, uint16(flags))
	e.genl(cmd, genlVersion)
	return e
}

// ifname names an interface for error messages; it asks the kernel over
// the Conn's own socket so that the answer comes from the right namespace.
func (c *Conn) ifname(index int) string {
	l, err := c.getLink(index, "")
	if err != nil {
		return fmt.Sprintf("ifindex %d", index)
	}
	return l.Name
}
