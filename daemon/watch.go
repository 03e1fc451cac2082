package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/macsecd/macsecd/internal/ipconfig"
)

// watchInterval is how often a running port looks at its parent and
// records the IP configuration of its secured interface.
const watchInterval = 500 * time.Millisecond

// errParentReplaced ends a port's run when its parent interface was
// deleted and one of the same name appeared: the backend is bound to the
// old one (and a kernel MACsec interface went with it), so the port
// starts over on the new one.
var errParentReplaced = errors.New("parent interface replaced")

// errSecuredGone ends a port's run when the kernel MACsec interface it
// created was deleted (by an operator, or with its parent): the port
// starts over and creates it again. (The userspace backend recreates a
// deleted TAP by itself.)
var errSecuredGone = errors.New("secured interface deleted")

// restoreFor is how long a port keeps trying to put the previous
// configuration back: a kernel MACsec interface is down until MKA secures
// it, and routes through a down interface cannot be added before that.
const restoreFor = 30 * time.Second

// watch runs beside a port's key agreement until ctx ends: it cancels the
// run with errParentReplaced when the parent's interface index changes
// from parentIndex, and with errSecuredGone when watchSecured is set and
// the secured interface no longer exists; it puts ip, the secured interface's addresses and
// routes from the previous run, back on the new secured interface; then
// it keeps ip current so that the next run can do the same.
func (p *port) watch(ctx context.Context, cancel context.CancelCauseFunc, parentIndex int, watchSecured bool, ip *ipconfig.Snapshot) {
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	restoring := !ip.Empty()
	giveUp := time.Now().Add(restoreFor)
	for {
		if restoring {
			// Until it is all back, a snapshot would record less than
			// the operator had.
			restoring = p.restoreIP(ip, time.Now().After(giveUp))
		} else {
			// A failure (interface gone or down) keeps the last good
			// picture.
			_ = ip.Take(p.cfg.Interface)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if ifi, err := net.InterfaceByName(p.cfg.Parent); err == nil && ifi.Index != parentIndex {
			cancel(fmt.Errorf("%w: %s is now interface %d, was %d", errParentReplaced, p.cfg.Parent, ifi.Index, parentIndex))
			return
		}
		if watchSecured {
			var gone netlink.LinkNotFoundError
			if _, err := netlink.LinkByName(p.cfg.Interface); errors.As(err, &gone) {
				cancel(fmt.Errorf("%w: %s", errSecuredGone, p.cfg.Interface))
				return
			}
		}
	}
}

// restoreIP puts ip back on the secured interface and reports whether to
// try again later: some of it failed and last is false.
func (p *port) restoreIP(ip *ipconfig.Snapshot, last bool) bool {
	addrs, routes, err := ip.Restore(p.cfg.Interface)
	if err != nil && !last {
		return true
	}
	if err != nil {
		p.log.Warn("IP configuration of the secured interface not all restored", "interface", p.cfg.Interface, "err", err)
	}
	p.log.Info("IP configuration of the secured interface restored", "interface", p.cfg.Interface, "addresses", addrs, "routes", routes)
	return false
}
