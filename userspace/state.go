package userspace

import (
	"net"
	"runtime"
	"time"

	"github.com/vishvananda/netns"

	"github.com/macsecd/macsecd/internal/ipconfig"
)

// superviseInterval is how often the supervisor looks at the parent's
// link state and retries a lost TAP.
const superviseInterval = 200 * time.Millisecond

// State is the health of the backend's interfaces and its data-path
// counters (the 802.1AE counters are in Status).
type State struct {
	TAP        string `json:"tap"`         // clear-side interface
	TAPPresent bool   `json:"tap_present"` // false between an operator deleting the TAP and its recreation
	Parent     string `json:"parent"`
	ParentUp   bool   `json:"parent_up"` // parent administratively up with carrier
	// TAPRecreated counts TAP interfaces recreated after a loss.
	TAPRecreated uint64 `json:"tap_recreated"`
	// TAPRestored counts the addresses and routes put back on recreated
	// TAPs: the operator's permanent addresses and static routes on the
	// TAP, as last seen (every 200 ms) before it was deleted.
	TAPRestored uint64 `json:"tap_restored"`
	// ParentDownEvents counts transitions of the parent to down.
	ParentDownEvents uint64 `json:"parent_down_events"`
	LastError        string `json:"last_error,omitempty"`

	TxFrames      uint64 `json:"tx_frames"`       // frames read from the TAP (a super-frame counts once)
	TxSegments    uint64 `json:"tx_segments"`     // protected frames sent on the parent
	TxBadOffload  uint64 `json:"tx_bad_offload"`  // TAP frames with malformed offload metadata, dropped
	TxDropped     uint64 `json:"tx_dropped"`      // frames the SecY refused to protect (port, SA, length)
	TxSendErrors  uint64 `json:"tx_send_errors"`  // frames the parent refused (down)
	TxWireDropped uint64 `json:"tx_wire_dropped"` // frames the parent's driver dropped (queue full)
	RxFrames      uint64 `json:"rx_frames"`       // frames received on the parent
	RxTruncated   uint64 `json:"rx_truncated"`    // frames too long for the parent MTU, dropped
	RxDropped     uint64 `json:"rx_dropped"`      // frames the SecY refused (counted in Status too)
	RxEAPOL       uint64 `json:"rx_eapol"`        // EAPOL frames passed to the FrameConn
	RxEAPOLDrops  uint64 `json:"rx_eapol_drops"`  // EAPOL frames dropped because nobody read them
	RxTAPWrites   uint64 `json:"rx_tap_writes"`   // writes to the TAP, after coalescing
	RxTAPErrors   uint64 `json:"rx_tap_errors"`   // writes the TAP refused (deleted or down)
	RxRecvErrors  uint64 `json:"rx_recv_errors"`  // failed receive calls (parent down)
}

// State returns the backend's health and data-path counters.
func (b *Backend) State() State {
	b.mu.Lock()
	s := State{
		TAP:              b.tapName,
		TAPPresent:       b.tapPresent,
		Parent:           b.parent.Name,
		ParentUp:         b.parentUp,
		TAPRecreated:     b.recreated,
		TAPRestored:      b.restored,
		ParentDownEvents: b.parentDown,
		LastError:        b.lastErr,
	}
	b.mu.Unlock()
	for i := range b.stats {
		w := &b.stats[i]
		s.TxFrames += w.txFrames.Load()
		s.TxSegments += w.txSegments.Load()
		s.TxBadOffload += w.txBadOffload.Load()
		s.TxDropped += w.txDropped.Load()
		s.TxSendErrors += w.txSendErrors.Load()
		s.TxWireDropped += w.txWireDropped.Load()
		s.RxFrames += w.rxFrames.Load()
		s.RxTruncated += w.rxTruncated.Load()
		s.RxDropped += w.rxDropped.Load()
		s.RxEAPOL += w.rxEAPOL.Load()
		s.RxTAPWrites += w.rxTAPWrites.Load()
		s.RxTAPErrors += w.rxTAPErrors.Load()
		s.RxRecvErrors += w.rxRecvErrors.Load()
	}
	if b.eapol != nil {
		s.RxEAPOLDrops = b.eapol.Dropped.Load()
	}
	return s
}

// linkUp is what ParentUp means: administratively up, with carrier.
func linkUp(ifi *net.Interface) bool {
	return ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagRunning != 0
}

// noteParentDown records a parent failure seen by the data path.
func (b *Backend) noteParentDown() {
	b.mu.Lock()
	b.setParentUp(false)
	b.mu.Unlock()
}

// setParentUp records the parent's state; b.mu is held.
func (b *Backend) setParentUp(up bool) {
	if up == b.parentUp {
		return
	}
	b.parentUp = up
	if up {
		b.cfg.Logger.Info("parent interface up", "parent", b.parent.Name)
		return
	}
	b.parentDown++
	b.cfg.Logger.Warn("parent interface down", "parent", b.parent.Name)
}

// supervise watches the parent's link state and recreates the TAP after
// an operator deleted it. It runs on its own thread in the backend's
// network namespace, since TUN and netlink act on the caller's namespace.
func (b *Backend) supervise() {
	defer b.wg.Done()
	runtime.LockOSThread()
	// The thread is never unlocked: if it was moved to another namespace
	// it must die with the goroutine rather than serve other goroutines.
	if cur, err := netns.Get(); err == nil {
		if !cur.Equal(b.ns) {
			if err := netns.Set(b.ns); err != nil {
				b.mu.Lock()
				b.lastErr = "supervisor: enter namespace: " + err.Error()
				b.mu.Unlock()
			}
		}
		cur.Close()
	}
	t := time.NewTicker(superviseInterval)
	defer t.Stop()
	var cfg ipconfig.Snapshot
	for {
		select {
		case <-b.done:
			b.iso.undo()
			return
		case <-b.tapLost:
			b.recreateTAP(&cfg)
		case <-t.C:
			b.checkParent()
			b.mu.Lock()
			lost, name := !b.tapPresent, b.tapName
			b.mu.Unlock()
			if lost {
				b.recreateTAP(&cfg)
			} else {
				// Failures keep the last good snapshot.
				_ = cfg.Take(name)
			}
		}
	}
}

func (b *Backend) checkParent() {
	ifi, err := net.InterfaceByIndex(b.parent.Index)
	up := err == nil && linkUp(ifi)
	b.mu.Lock()
	b.setParentUp(up)
	if err != nil {
		b.lastErr = "parent: " + err.Error()
	}
	b.mu.Unlock()
}

// recreateTAP replaces a lost TAP with a new one of the same name, puts
// the operator's addresses and routes (cfg) back on it and restarts the
// transmit goroutines on it. The receive goroutines pick it up by
// themselves.
func (b *Backend) recreateTAP(cfg *ipconfig.Snapshot) {
	b.mu.Lock()
	if b.closed || b.tapPresent {
		b.mu.Unlock()
		return
	}
	name := b.tapName
	b.mu.Unlock()
	dev, err := b.openTAP(name)
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		b.lastErr = err.Error()
		return
	}
	if b.closed {
		dev.Close()
		return
	}
	// Receive goroutines may still be writing to the old queues (the
	// writes fail): keep their descriptors until Close so that a number
	// is never reused under them.
	b.lost = append(b.lost, b.dev.Load())
	b.dev.Store(dev)
	b.tapPresent = true
	b.recreated++
	b.startTx(dev)
	addrs, routes, err := cfg.Restore(name)
	b.restored += uint64(addrs + routes)
	b.cfg.Logger.Info("TAP interface recreated", "tap", name, "addresses_restored", addrs, "routes_restored", routes)
	if err != nil {
		b.lastErr = "TAP " + name + " recreated, configuration not all restored: " + err.Error()
		b.cfg.Logger.Warn("TAP configuration not all restored", "tap", name, "err", err)
	}
}
