package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// nsPrefix starts the name of every namespace this package creates; the
// stale sweep only ever touches names with this prefix.
const nsPrefix = "mtv-"

// labSeq numbers the labs of this process so that parallel tests get
// distinct namespace names.
var labSeq atomic.Uint32

// RequireRoot skips the test with one clear message unless it runs as root,
// which creating namespaces and links needs. CI runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("testenv: needs root for network namespaces (run as root; CI does)")
	}
}

// Lab is a set of network namespaces owned by one test. Create it with New.
type Lab struct {
	t       testing.TB
	id      string
	hosts   []*Host
	bridges int // switch namespaces made so far, for their names

	mu   sync.Mutex
	cmds []*exec.Cmd // from Host.Command, killed by pid at cleanup
}

// Host is one network namespace of a Lab.
type Host struct {
	// Name is the namespace name, usable with `ip netns exec`.
	Name string
	lab  *Lab
	ns   netns.NsHandle
	nl   *netlink.Handle
}

// New returns an empty Lab whose namespaces are removed by t.Cleanup. It
// skips the test when not root, and first removes namespaces left behind by
// test processes that were killed before their cleanup ran.
func New(t testing.TB) *Lab {
	t.Helper()
	RequireRoot(t)
	sweepStale()
	l := &Lab{t: t, id: fmt.Sprintf("%d-%d", os.Getpid(), labSeq.Add(1))}
	t.Cleanup(l.close)
	return l
}

// Host creates a namespace named after name (unique within the lab) with
// its loopback up.
func (l *Lab) Host(name string) *Host {
	l.t.Helper()
	h, err := l.newHost(name)
	if err != nil {
		l.t.Fatalf("testenv: host %q: %v", name, err)
	}
	return h
}

func (l *Lab) newHost(name string) (*Host, error) {
	full := nsPrefix + l.id + "-" + name
	ns, err := newNamedNS(full)
	if err != nil {
		return nil, fmt.Errorf("create namespace %s: %w", full, err)
	}
	h := &Host{Name: full, lab: l, ns: ns}
	// Registered before anything else can fail so that close removes it.
	l.hosts = append(l.hosts, h)
	// Route only: the default set includes xfrm and netfilter, which a
	// kernel without those modules loaded refuses.
	if h.nl, err = netlink.NewHandleAt(ns, unix.NETLINK_ROUTE); err != nil {
		return nil, fmt.Errorf("netlink handle in %s: %w", full, err)
	}
	lo, err := h.nl.LinkByName("lo")
	if err == nil {
		err = h.nl.LinkSetUp(lo)
	}
	if err != nil {
		return nil, fmt.Errorf("loopback up in %s: %w", full, err)
	}
	return h, nil
}

// newNamedNS creates a namespace bound at /var/run/netns/name without
// leaving the calling thread in it.
func newNamedNS(name string) (netns.NsHandle, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return netns.None(), err
	}
	defer orig.Close()
	ns, nerr := netns.NewNamed(name)
	if err := netns.Set(orig); err != nil {
		// The thread is stuck in the wrong namespace: never hand it back.
		panic(fmt.Sprintf("testenv: restore namespace: %v", err))
	}
	return ns, nerr
}

// Veth joins a's interface aIf and b's interface bIf with a veth pair whose
// MAC addresses the kernel chooses, and sets both ends up.
func (l *Lab) Veth(a *Host, aIf string, b *Host, bIf string) {
	l.t.Helper()
	l.VethMAC(a, aIf, nil, b, bIf, nil)
}

// VethMAC is Veth with chosen MAC addresses (nil lets the kernel choose).
func (l *Lab) VethMAC(a *Host, aIf string, aMAC net.HardwareAddr, b *Host, bIf string, bMAC net.HardwareAddr) {
	l.t.Helper()
	if err := veth(a, aIf, aMAC, b, bIf, bMAC); err != nil {
		l.t.Fatalf("testenv: veth %s/%s <-> %s/%s: %v", a.Name, aIf, b.Name, bIf, err)
	}
}

// veth creates the pair directly across the two namespaces, so no
// temporary name ever exists in the caller's namespace.
func veth(a *Host, aIf string, aMAC net.HardwareAddr, b *Host, bIf string, bMAC net.HardwareAddr) error {
	v := &netlink.Veth{
		LinkAttrs:        netlink.LinkAttrs{Name: aIf, HardwareAddr: aMAC},
		PeerName:         bIf,
		PeerHardwareAddr: bMAC,
		PeerNamespace:    netlink.NsFd(int(b.ns)),
	}
	if err := a.nl.LinkAdd(v); err != nil {
		return fmt.Errorf("add: %w", err)
	}
	if err := a.setUp(aIf); err != nil {
		return err
	}
	return b.setUp(bIf)
}

func (h *Host) setUp(ifname string) error {
	link, err := h.nl.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("find %s in %s: %w", ifname, h.Name, err)
	}
	if err := h.nl.LinkSetUp(link); err != nil {
		return fmt.Errorf("set %s up in %s: %w", ifname, h.Name, err)
	}
	return nil
}

// Bridge puts hosts on one Ethernet segment: it creates a switch namespace
// holding a Linux bridge "br0", and connects each host's interface ifname to
// a bridge port ("p0", "p1", ...). The bridge forwards the PAE group address
// 01:80:C2:00:00:03, which Linux bridges drop by default, so MKA works
// across it. It returns the switch namespace (for captures on br0).
func (l *Lab) Bridge(ifname string, hosts ...*Host) *Host {
	l.t.Helper()
	sw, err := l.bridge(ifname, hosts)
	if err != nil {
		l.t.Fatalf("testenv: bridge: %v", err)
	}
	return sw
}

func (l *Lab) bridge(ifname string, hosts []*Host) (*Host, error) {
	sw, err := l.newHost(fmt.Sprintf("sw%d", l.bridges))
	l.bridges++
	if err != nil {
		return nil, err
	}
	paeOnly := uint16(1 << 3) // bit n forwards 01:80:C2:00:00:0n
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br0"}, GroupFwdMask: &paeOnly}
	if err := sw.nl.LinkAdd(br); err != nil {
		return nil, fmt.Errorf("add br0 in %s: %w", sw.Name, err)
	}
	for i, h := range hosts {
		port := fmt.Sprintf("p%d", i)
		if err := veth(sw, port, nil, h, ifname, nil); err != nil {
			return nil, fmt.Errorf("port %s to %s/%s: %w", port, h.Name, ifname, err)
		}
		link, err := sw.nl.LinkByName(port)
		if err == nil {
			err = sw.nl.LinkSetMasterByIndex(link, br.Index)
		}
		if err != nil {
			return nil, fmt.Errorf("enslave %s to br0: %w", port, err)
		}
	}
	return sw, sw.setUp("br0")
}

// Do runs fn with the calling goroutine locked to an OS thread that is in
// h's namespace, and moves the thread back afterwards. Sockets opened in fn
// stay in h's namespace after Do returns; goroutines started by fn do not
// run in it. fn may call t.Fatal: the namespace is restored on Goexit too.
func (h *Host) Do(fn func() error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("testenv: current namespace: %w", err)
	}
	defer func() {
		if err := netns.Set(orig); err != nil {
			// Leave the thread locked so the runtime discards it with the
			// goroutine instead of reusing a thread in the wrong namespace.
			panic(fmt.Sprintf("testenv: restore namespace: %v", err))
		}
		orig.Close()
		runtime.UnlockOSThread()
	}()
	if err := netns.Set(h.ns); err != nil {
		return fmt.Errorf("testenv: enter %s: %w", h.Name, err)
	}
	return fn()
}

// Command returns a command that runs name with args inside h's namespace
// (through `ip netns exec`, which also shows the namespace's devices in
// /sys). Processes still running in the namespace are killed at cleanup.
func (h *Host) Command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command("ip", append([]string{"netns", "exec", h.Name, name}, args...)...)
	h.lab.mu.Lock()
	h.lab.cmds = append(h.lab.cmds, cmd)
	h.lab.mu.Unlock()
	return cmd
}

// Netlink returns a netlink handle bound to h's namespace, valid until the
// lab is cleaned up.
func (h *Host) Netlink() *netlink.Handle { return h.nl }

// NsHandle returns h's namespace file descriptor, valid until the lab is
// cleaned up.
func (h *Host) NsHandle() netns.NsHandle { return h.ns }

// close removes the lab's namespaces after killing what still runs in them.
func (l *Lab) close() {
	// By pid first: a command still starting up (ip has not yet entered
	// the namespace) is invisible to the namespace scan in removeNS, and
	// would otherwise enter the namespace after its name is gone and
	// outlive the test. ip netns exec execs the command in place, so the
	// pid is the command's. Kill on a reaped process is a no-op.
	l.mu.Lock()
	for _, c := range l.cmds {
		if c.Process != nil {
			c.Process.Kill()
		}
	}
	l.cmds = nil
	l.mu.Unlock()
	for i := len(l.hosts) - 1; i >= 0; i-- {
		h := l.hosts[i]
		if err := removeNS(h.Name); err != nil {
			l.t.Errorf("testenv: cleanup %s: %v", h.Name, err)
		}
		if h.nl != nil {
			h.nl.Close()
		}
		h.ns.Close()
	}
	l.hosts = nil
}
