package userspace

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// tapConfig is the IP configuration an operator put on the TAP, as the
// supervisor last saw it: a TAP recreated after a deletion gets it back,
// so that the secured link carries traffic again without the operator.
// The supervisor goroutine owns it.
type tapConfig struct {
	index  int // the TAP's interface index when seen
	addrs  []netlink.Addr
	routes []netlink.Route
}

// snapshotTAP records the TAP's permanent addresses (IPv6 link-local ones
// come back by themselves) and the routes through it that are not the
// kernel's own (those follow from the addresses) or learnt from router
// advertisements.
func (b *Backend) snapshotTAP(name string, cfg *tapConfig) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	idx := link.Attrs().Index
	addrs, err := netlink.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return fmt.Errorf("list addresses: %w", err)
	}
	routes, err := netlink.RouteListFiltered(netlink.FAMILY_ALL,
		&netlink.Route{LinkIndex: idx, Table: unix.RT_TABLE_UNSPEC},
		netlink.RT_FILTER_OIF|netlink.RT_FILTER_TABLE)
	if err != nil {
		return fmt.Errorf("list routes: %w", err)
	}
	// Deleting an interface flushes its addresses before it goes: a
	// snapshot taken meanwhile is empty, and must not replace the last
	// good one.
	if l, err := netlink.LinkByIndex(idx); err != nil || l.Attrs().Name != name {
		return errors.New("TAP changed while it was read")
	}
	cfg.index = idx
	cfg.addrs = cfg.addrs[:0]
	for _, a := range addrs {
		if a.Flags&unix.IFA_F_PERMANENT == 0 || a.IP.To4() == nil && a.IP.IsLinkLocalUnicast() {
			continue
		}
		cfg.addrs = append(cfg.addrs, a)
	}
	cfg.routes = cfg.routes[:0]
	for _, r := range routes {
		if r.Protocol == unix.RTPROT_KERNEL || r.Protocol == unix.RTPROT_RA ||
			r.Table == unix.RT_TABLE_LOCAL || len(r.MultiPath) > 0 || r.Type != unix.RTN_UNICAST {
			continue
		}
		cfg.routes = append(cfg.routes, r)
	}
	return nil
}

// restoreTAP puts cfg back on the TAP name: addresses first, then the
// routes, which may need them for their gateways. It returns how many of
// each it restored and what failed.
func (b *Backend) restoreTAP(name string, cfg *tapConfig) (addrs, routes int, err error) {
	link, err := netlink.LinkByName(name)
	if err != nil {
		return 0, 0, err
	}
	var errs []error
	for _, a := range cfg.addrs {
		a.LinkIndex = link.Attrs().Index
		a.Label = name
		if err := netlink.AddrReplace(link, &a); err != nil {
			errs = append(errs, fmt.Errorf("address %s: %w", a.IPNet, err))
			continue
		}
		addrs++
	}
	for _, r := range cfg.routes {
		r.LinkIndex = link.Attrs().Index
		if err := netlink.RouteReplace(&r); err != nil {
			errs = append(errs, fmt.Errorf("route %s: %w", r.Dst, err))
			continue
		}
		routes++
	}
	cfg.index = link.Attrs().Index
	return addrs, routes, errors.Join(errs...)
}
