// Package userspace is the userspace SecY backend: MACsec for kernels
// without it. A TAP interface carries the clear traffic of the host; an
// AF_PACKET socket on the parent interface carries the protected frames.
//
// Frames the host sends through the TAP are protected with the encoding SA
// and sent on the parent; MACsec frames received on the parent are
// validated against the receive SCs and written to the TAP; EAPOL frames
// go to the key agreement through EAPOL(); other frames reach the TAP only
// when validateFrames is not Strict. The SecY state, the per-frame
// procedures and the counters are those of macsec.SoftSecY, which Backend
// embeds: MKA installs and rotates SAs exactly as on the kernel backend.
//
// The data path is built for speed on few cores: one transmit and one
// receive goroutine per queue, each locked to an OS thread with its own
// buffers, AEADs (macsec.Worker) and AF_PACKET socket; the TAP is opened
// with the virtio-net header so that TCP arrives in 64 KB super-frames
// (split here, package offload) and leaves coalesced; the wire side moves
// up to 128 frames per system call (package afpacket); received flows are
// spread over the sockets by PACKET_FANOUT. The transmit PN is the only
// state the goroutines share for writing.
package userspace

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/userspace/afpacket"
	"github.com/macsecd/macsecd/userspace/tap"
)

// Backend is a userspace SecY. Its SecY methods (embedded from
// macsec.SoftSecY) are for one management goroutine at a time, as the
// macsec.SecY contract says; Status, State and EAPOL may be called from
// any goroutine.
type Backend struct {
	*macsec.SoftSecY

	cfg      Config
	parent   *net.Interface
	mac      net.HardwareAddr
	tapMTU   int
	maxFrame int // longest wire frame without FCS
	ns       netns.NsHandle

	dev   atomic.Pointer[tap.Device]
	lost  []*tap.Device // deleted TAPs, closed at Close (writers may hold them)
	conns []*afpacket.Conn
	eapol *FrameConn
	iso   *isolation
	eth   [4]uint16 // EAPOL EtherTypes; zero entries unused

	stats []workerStats

	tapLost chan struct{}
	done    chan struct{}
	wg      sync.WaitGroup

	mu         sync.Mutex // guards the fields below and Close
	closed     bool
	tapName    string
	tapPresent bool
	parentUp   bool
	recreated  uint64
	restored   uint64
	parentDown uint64
	lastErr    string
}

var fanoutSeq atomic.Uint32

// New creates the TAP interface and opens the parent, in the network
// namespace of the calling goroutine's thread, and starts the data path
// with the Controlled Port disabled: no user frame passes until MKA (or a
// static configuration) installs SAs and enables the port.
func New(c Config) (*Backend, error) {
	cfg, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	// Every netlink and TUN call below must happen in one namespace.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	parent, err := net.InterfaceByName(cfg.Parent)
	if err != nil {
		return nil, fmt.Errorf("userspace: parent %q: %w", cfg.Parent, err)
	}
	if len(parent.HardwareAddr) != 6 {
		return nil, fmt.Errorf("userspace: parent %s has no Ethernet address", parent.Name)
	}
	mac := cfg.MAC
	if mac == nil {
		mac = parent.HardwareAddr
	}
	mac = append(net.HardwareAddr(nil), mac...)
	tapMTU := parent.MTU - macsec.Overhead
	if tapMTU < 68 {
		return nil, fmt.Errorf("userspace: parent %s MTU %d leaves no room for MACsec", parent.Name, parent.MTU)
	}
	b := &Backend{
		cfg:      cfg,
		parent:   parent,
		mac:      mac,
		tapMTU:   tapMTU,
		maxFrame: parent.MTU + 14,
		stats:    make([]workerStats, cfg.Queues),
		tapLost:  make(chan struct{}, 1),
		done:     make(chan struct{}),
		// A parent still without carrier at start is not a "down" event.
		parentUp: linkUp(parent),
	}
	for i, et := range cfg.EAPOLEtherTypes {
		if i >= len(b.eth) {
			return nil, fmt.Errorf("userspace: config: at most %d EAPOL EtherTypes", len(b.eth))
		}
		b.eth[i] = et
	}
	b.SoftSecY, err = macsec.NewSoftSecY(macsec.Config{
		SCI:           macsec.MakeSCI(mac, cfg.Port),
		Policy:        cfg.Policy,
		MaxFrameLen:   b.maxFrame,
		PNThreshold:   cfg.PNThreshold,
		OnPNThreshold: cfg.OnPNThreshold,
	})
	if err != nil {
		return nil, fmt.Errorf("userspace: %w", err)
	}
	if b.ns, err = netns.Get(); err != nil {
		return nil, fmt.Errorf("userspace: current network namespace: %w", err)
	}
	if err := b.open(); err != nil {
		b.iso.undo()
		b.release()
		return nil, err
	}
	for i := range b.conns {
		b.startRx(i)
	}
	b.startTx(b.dev.Load())
	b.wg.Add(1)
	go b.supervise()
	return b, nil
}

// open prepares the parent, creates the TAP and opens the sockets.
func (b *Backend) open() error {
	cfg := &b.cfg
	if !cfg.KeepParentIPv6 {
		p := "/proc/sys/net/ipv6/conf/" + b.parent.Name + "/disable_ipv6"
		if err := os.WriteFile(p, []byte("1\n"), 0); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("userspace: disable IPv6 on parent %s: %w", b.parent.Name, err)
		}
	}
	if !cfg.KeepParentTraffic {
		iso, err := isolateParent(b.parent.Name, append([]uint16{macsec.EtherType}, cfg.EAPOLEtherTypes...), cfg.Logger)
		if err != nil {
			return fmt.Errorf("userspace: isolate parent %s: %w", b.parent.Name, err)
		}
		b.iso = iso
	}
	dev, err := b.openTAP(cfg.Name)
	if err != nil {
		return err
	}
	b.dev.Store(dev)
	b.tapName, b.tapPresent = dev.Name(), true

	group := uint16(os.Getpid()*31+int(fanoutSeq.Add(1))) | 1
	promisc := !macEqual(b.mac, b.parent.HardwareAddr)
	for i := 0; i < cfg.Queues; i++ {
		ac := afpacket.Config{Promiscuous: promisc, BufferBytes: 4 << 20,
			RingFrames: 4096, RingFrameSize: b.maxFrame + 4,
			TxRingFrames: 512, TxRingFrameSize: b.txSlotSize()}
		if cfg.Queues > 1 {
			ac.FanoutGroup = group
		}
		c, err := afpacket.Listen(b.parent, ac)
		if err != nil {
			return fmt.Errorf("userspace: %w", err)
		}
		b.conns = append(b.conns, c)
	}
	b.eapol, err = newFrameConn(b.parent, b.mac)
	return err
}

// openTAP creates the TAP interface with the SecY's MAC and an MTU that
// leaves room for the SecTAG and ICV, and sets it up.
func (b *Backend) openTAP(name string) (*tap.Device, error) {
	dev, err := tap.Open(name, b.cfg.Queues)
	if err != nil {
		return nil, fmt.Errorf("userspace: %w", err)
	}
	fail := func(op string, err error) (*tap.Device, error) {
		dev.Close()
		return nil, fmt.Errorf("userspace: TAP %s: %s: %w", dev.Name(), op, err)
	}
	link, err := netlink.LinkByName(dev.Name())
	if err != nil {
		return fail("find link", err)
	}
	if err := netlink.LinkSetHardwareAddr(link, b.mac); err != nil {
		return fail("set MAC", err)
	}
	if err := netlink.LinkSetMTU(link, b.tapMTU); err != nil {
		return fail("set MTU", err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fail("set up", err)
	}
	return dev, nil
}

// interrupt wakes every data-path goroutine so that it returns.
func (b *Backend) interrupt() {
	if d := b.dev.Load(); d != nil {
		d.Interrupt()
	}
	for _, c := range b.conns {
		c.Interrupt()
	}
	if b.eapol != nil {
		b.eapol.Close()
	}
}

// release closes whatever open and New created; no data-path goroutine
// may be running. The parent's isolation is removed by the supervisor,
// which runs in the backend's namespace, or by New on failure.
func (b *Backend) release() {
	b.interrupt()
	if d := b.dev.Load(); d != nil {
		d.Close()
	}
	for _, d := range b.lost {
		d.Close()
	}
	for _, c := range b.conns {
		c.Close()
	}
	if b.ns.IsOpen() {
		b.ns.Close()
	}
	b.SoftSecY.Close()
}

// Close stops the data path, deletes the TAP interface (it exists only
// while the backend holds it open), removes the parent's isolation, zeroes
// every key and closes the EAPOL FrameConn.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	// Disable the port first so that nothing is sent while goroutines
	// wind down.
	b.SoftSecY.SetControlledPort(false)
	close(b.done)
	b.interrupt()
	b.wg.Wait()
	b.release()
	return nil
}

// Status implements macsec.SecY.
func (b *Backend) Status() (*macsec.Status, error) {
	s, err := b.SoftSecY.Status()
	if err != nil {
		return nil, err
	}
	s.Backend = "userspace"
	s.Offload = "off"
	b.mu.Lock()
	s.Interface = b.tapName
	b.mu.Unlock()
	s.Parent = b.parent.Name
	return s, nil
}

// EAPOL returns the connection that carries EAPOL frames (the EtherTypes
// of Config.EAPOLEtherTypes) on the parent: MKA reads and writes MKPDUs
// through it, since the backend's sockets receive every frame.
func (b *Backend) EAPOL() *FrameConn { return b.eapol }

// HardwareAddr is the SecY's MAC address (the TAP's).
func (b *Backend) HardwareAddr() net.HardwareAddr { return append(net.HardwareAddr(nil), b.mac...) }

// TAPName is the clear-side interface's name.
func (b *Backend) TAPName() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tapName
}

// USO reports whether the TAP takes UDP segmentation offload
// super-frames (kernel 6.2 and later): received trains of datagrams of a
// UDP flow are then written to it merged.
func (b *Backend) USO() bool {
	d := b.dev.Load()
	return d != nil && d.USO()
}

// MTU is the TAP interface's MTU: the parent's minus the SecTAG and ICV.
func (b *Backend) MTU() int { return b.tapMTU }

func macEqual(a, b net.HardwareAddr) bool { return string(a) == string(b) }

// Compile-time check: Backend is a SecY.
var _ macsec.SecY = (*Backend)(nil)
