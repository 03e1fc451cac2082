// Package ipconfig saves the IP configuration an operator put on an
// interface that macsecd owns (a TAP, a kernel MACsec interface) and puts
// it back on the interface that replaces it: a TAP recreated after an
// operator deleted it, or a secured interface recreated when its port
// restarts (the parent was deleted and came back). Without it, the
// secured link would carry nothing until someone re-typed the addresses.
//
// Functions act in the network namespace of the calling thread.
package ipconfig

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Snapshot is the configuration last seen on an interface: its permanent
// addresses (IPv6 link-local ones come back by themselves) and the routes
// through it that neither the kernel made from an address nor a router
// advertisement taught.
type Snapshot struct {
	Index  int // the interface index when taken; 0 before the first
	Addrs  []netlink.Addr
	Routes []netlink.Route
}

// Empty reports whether there is nothing to restore.
func (s *Snapshot) Empty() bool { return len(s.Addrs) == 0 && len(s.Routes) == 0 }

// Take replaces s with the configuration of interface name. On an error s
// is unchanged: an interface being deleted has its addresses flushed
// before it goes, and that empty picture must not replace the last good
// one.
func (s *Snapshot) Take(name string) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	idx := link.Attrs().Index
	addrs, err := netlink.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return fmt.Errorf("ipconfig: list addresses of %s: %w", name, err)
	}
	routes, err := netlink.RouteListFiltered(netlink.FAMILY_ALL,
		&netlink.Route{LinkIndex: idx, Table: unix.RT_TABLE_UNSPEC},
		netlink.RT_FILTER_OIF|netlink.RT_FILTER_TABLE)
	if err != nil {
		return fmt.Errorf("ipconfig: list routes of %s: %w", name, err)
	}
	if l, err := netlink.LinkByIndex(idx); err != nil || l.Attrs().Name != name || l.Attrs().Flags&unix.IFF_UP == 0 {
		return fmt.Errorf("ipconfig: %s changed or went down while it was read", name)
	}
	s.Index = idx
	s.Addrs = s.Addrs[:0]
	for _, a := range addrs {
		if a.Flags&unix.IFA_F_PERMANENT == 0 || a.IP.To4() == nil && a.IP.IsLinkLocalUnicast() {
			continue
		}
		s.Addrs = append(s.Addrs, a)
	}
	s.Routes = s.Routes[:0]
	for _, r := range routes {
		if r.Protocol == unix.RTPROT_KERNEL || r.Protocol == unix.RTPROT_RA ||
			r.Table == unix.RT_TABLE_LOCAL || len(r.MultiPath) > 0 || r.Type != unix.RTN_UNICAST {
			continue
		}
		s.Routes = append(s.Routes, r)
	}
	return nil
}

// Restore puts s on interface name, which must be up: addresses first,
// then the routes, which may need them for their gateways. It returns how
// many of each it put back and what failed; what exists already is no
// failure.
func (s *Snapshot) Restore(name string) (addrs, routes int, err error) {
	link, err := netlink.LinkByName(name)
	if err != nil {
		return 0, 0, err
	}
	idx := link.Attrs().Index
	var errs []error
	for _, a := range s.Addrs {
		a.LinkIndex = idx
		a.Label = name
		if err := netlink.AddrReplace(link, &a); err != nil {
			errs = append(errs, fmt.Errorf("address %s: %w", a.IPNet, err))
			continue
		}
		addrs++
	}
	for _, r := range s.Routes {
		r.LinkIndex = idx
		if err := netlink.RouteReplace(&r); err != nil {
			errs = append(errs, fmt.Errorf("route %s: %w", r.Dst, err))
			continue
		}
		routes++
	}
	s.Index = idx
	if err := errors.Join(errs...); err != nil {
		return addrs, routes, fmt.Errorf("ipconfig: restore on %s: %w", name, err)
	}
	return addrs, routes, nil
}
