package userspace

import (
	"encoding/binary"
	"errors"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/userspace/afpacket"
	"github.com/macsecd/macsecd/userspace/offload"
	"github.com/macsecd/macsecd/userspace/tap"
)

// rxBatch is the number of frames one recvmmsg call may return.
const rxBatch = 64

// rxSpins is how many times a receive goroutine looks for frames before it
// sleeps.
var rxSpins = 8

// txSpins is the same for transmit goroutines reading the TAP.
var txSpins = 8

// osYield gives the CPU to another runnable thread.
func osYield() { unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0) }

// rxOffset is where received frames start in their buffers: room for the
// virtio-net header in front of a frame that reaches the TAP unchanged
// (validated frames start a SecTAG length further in).
const rxOffset = offload.VnetHdrLen

// workerStats are the data-path counters that 802.1AE does not define
// (those are in the SecY). Each worker adds to its own entry once per
// batch.
type workerStats struct {
	txFrames      atomic.Uint64 // frames read from the TAP (super-frames count once)
	txSegments    atomic.Uint64 // wire frames handed to the socket
	txBadOffload  atomic.Uint64 // TAP frames with malformed GSO metadata
	txDropped     atomic.Uint64 // frames Protect refused (port down, no SA, too long)
	txSendErrors  atomic.Uint64 // frames the socket refused (parent down)
	rxFrames      atomic.Uint64 // frames received on the parent
	rxTruncated   atomic.Uint64 // frames longer than the parent MTU allows
	rxDropped     atomic.Uint64 // frames Validate dropped
	rxEAPOL       atomic.Uint64 // EAPOL frames passed to the FrameConn
	rxTAPWrites   atomic.Uint64 // writes to the TAP (after coalescing)
	rxTAPErrors   atomic.Uint64 // writes the TAP refused (deleted or down)
	rxRecvErrors  atomic.Uint64 // failed receive calls
	txWireDropped atomic.Uint64 // frames the driver dropped (queue full)
	_             [64]byte      // keep workers' counters off each other's cache lines
}

// startTx starts one transmit goroutine per TAP queue.
func (b *Backend) startTx(dev *tap.Device) {
	for i, q := range dev.Queues() {
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			err := b.txLoop(q, b.conns[i], &b.stats[i])
			b.txExit(dev, err)
		}()
	}
}

// startRx starts the receive goroutine of socket i.
func (b *Backend) startRx(i int) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		b.rxLoop(i, b.conns[i], &b.stats[i])
	}()
}

// txExit handles the end of a transmit goroutine: unless the backend is
// closing, the TAP is gone and the supervisor recreates it.
func (b *Backend) txExit(dev *tap.Device, err error) {
	select {
	case <-b.done:
		return
	default:
	}
	if b.dev.Load() != dev {
		return // already replaced
	}
	b.mu.Lock()
	if b.tapPresent {
		b.tapPresent = false
		b.lastErr = "TAP read: " + err.Error()
		b.cfg.Logger.Warn("TAP interface lost; recreating", "tap", b.tapName, "err", err)
	}
	b.mu.Unlock()
	select {
	case b.tapLost <- struct{}{}:
	default:
	}
}

// txPipe is the state of one transmit goroutine: the slots a TAP frame's
// segments are built and protected in (each with headroom for the SecTAG
// and tailroom for the ICV), which are slots of the socket's transmit ring
// when it has one, and the batch of protected frames.
type txPipe struct {
	w     *macsec.Worker
	conn  *afpacket.Conn
	down  func() // reports the parent down
	st    *workerStats
	slots [][]byte
	sizes []int
	batch [][]byte
	used  int // slots holding segments
	limit int // slots usable: claimed ring slots, or all of them

	frames, segs, bad, dropped, sendErr uint64
	lastWireDrops                       uint64
}

func (b *Backend) newTxPipe(conn *afpacket.Conn, st *workerStats) *txPipe {
	p := &txPipe{
		w:     b.SoftSecY.NewWorker(),
		conn:  conn,
		st:    st,
		slots: make([][]byte, afpacket.MaxBatch),
		sizes: make([]int, afpacket.MaxBatch),
		batch: make([][]byte, 0, afpacket.MaxBatch),
	}
	if conn != nil && conn.TxRing() {
		return p // slots are claimed from the ring batch by batch
	}
	slot := b.txSlotSize()
	mem := make([]byte, slot*afpacket.MaxBatch)
	for i := range p.slots {
		p.slots[i] = mem[i*slot : (i+1)*slot : (i+1)*slot]
	}
	p.limit = len(p.slots)
	return p
}

// txSlotSize is the room one segment needs: at most a parent-MTU frame
// (plus a VLAN tag the TAP may carry; Protect refuses what the wire cannot
// take) with the SecTAG in front and the ICV behind.
func (b *Backend) txSlotSize() int { return macsec.Headroom + b.maxFrame + 4 + macsec.Tailroom }

// txClaim is how many ring slots a batch claims at a time beyond what the
// frame at hand needs: enough that small frames do not claim one by one,
// few enough that claiming does not read the status of slots never used.
const txClaim = 16

// ring reports whether segments are built in the socket's transmit ring.
func (p *txPipe) ring() bool { return p.conn != nil && p.conn.TxRing() }

// reserve makes room in the batch for need more segments: it claims
// further free ring slots and, when the ring has too few, sends the batch
// or waits for the kernel to free slots.
func (p *txPipe) reserve(need int) error {
	for p.limit-p.used < need {
		want := min(len(p.slots), p.used+max(need, txClaim))
		n := p.conn.TxSlots(p.slots[p.limit:want], p.limit)
		p.limit += n
		if p.limit-p.used >= need {
			return nil
		}
		if n > 0 && p.limit < want {
			continue // look at the next slot once more
		}
		if p.used > 0 {
			p.flush() // the batch is full: start a fresh one
			continue
		}
		if err := p.conn.TxWait(p.limit); err != nil {
			return err
		}
	}
	return nil
}

// txLoop moves frames from a TAP queue to the wire until the queue fails.
func (b *Backend) txLoop(q *tap.Queue, conn *afpacket.Conn, st *workerStats) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p := b.newTxPipe(conn, st)
	p.down = b.noteParentDown
	defer p.w.Close()
	rbuf := make([]byte, offload.VnetHdrLen+offload.MaxFrame)
	for {
		// As on receive: look again before sleeping.
		n, err := 0, error(nil)
		for spin := 0; spin < txSpins && n == 0 && err == nil; spin++ {
			if spin > 0 {
				osYield()
			}
			n, err = q.TryRead(rbuf)
		}
		if n == 0 && err == nil {
			n, err = q.Read(rbuf)
		}
		if err != nil {
			return err
		}
		// Gather what else is queued, up to a full batch, so that small
		// frames share one sendmmsg.
		for n > 0 {
			p.add(rbuf[:n])
			if p.used == p.limit {
				p.flush()
			}
			if n, err = q.TryRead(rbuf); err != nil {
				p.flush()
				return err
			}
		}
		p.flush()
	}
}

// add splits and protects one frame read from the TAP into the batch.
func (p *txPipe) add(frame []byte) {
	p.frames++
	hdr, err := offload.DecodeVnetHdr(frame)
	if err != nil {
		p.bad++
		return
	}
	frame = frame[offload.VnetHdrLen:]
	// At most this many segments (capped: Split refuses more).
	need := 1
	if hdr.GSOType&^offload.GSOECN != offload.GSONone && hdr.GSOSize > 0 {
		need = min(len(frame)/int(hdr.GSOSize)+1, len(p.slots))
	}
	if p.ring() {
		if err := p.reserve(need); err != nil {
			p.dropped++
			return
		}
	}
	k, err := offload.Split(hdr, frame, p.slots[p.used:p.limit], macsec.Headroom, p.sizes[p.used:p.limit])
	if errors.Is(err, offload.ErrTooManySegs) && p.used > 0 {
		// Start a batch with room for all of it.
		p.flush()
		if p.ring() {
			if err := p.reserve(need); err != nil {
				p.dropped++
				return
			}
		}
		k, err = offload.Split(hdr, frame, p.slots[:p.limit], macsec.Headroom, p.sizes)
	}
	if err != nil {
		p.bad++
		return
	}
	for j := p.used; j < p.used+k; j++ {
		out, err := p.w.Protect(p.slots[j][:macsec.Headroom+p.sizes[j]], macsec.Headroom)
		if err != nil {
			p.dropped++
			continue
		}
		p.batch = append(p.batch, out)
	}
	p.used += k
}

// flush sends the batch and publishes the counters.
func (p *txPipe) flush() {
	if len(p.batch) > 0 {
		var n int
		var err error
		if p.ring() {
			// The frames are in their slots already, unless Protect
			// refused one before them: TxPut then moves them up.
			for _, f := range p.batch {
				p.conn.TxPut(f)
			}
			n, err = p.conn.TxSend()
		} else {
			n, err = p.conn.Send(p.batch)
		}
		p.segs += uint64(n)
		if err != nil {
			p.sendErr += uint64(len(p.batch) - n)
			if errors.Is(err, unix.ENETDOWN) && p.down != nil {
				p.down()
			}
		}
	}
	if p.ring() {
		p.limit = 0 // the slots are the kernel's now
	}
	p.batch = p.batch[:0]
	p.used = 0
	p.w.Flush()
	st := p.st
	st.txFrames.Add(p.frames)
	st.txSegments.Add(p.segs)
	st.txBadOffload.Add(p.bad)
	st.txDropped.Add(p.dropped)
	st.txSendErrors.Add(p.sendErr)
	if d := p.conn.Drops; d != p.lastWireDrops {
		st.txWireDropped.Add(d - p.lastWireDrops)
		p.lastWireDrops = d
	}
	p.frames, p.segs, p.bad, p.dropped, p.sendErr = 0, 0, 0, 0, 0
}

// tapWriter writes to queue i of whatever TAP is current, so that the
// receive goroutines survive the TAP being recreated.
type tapWriter struct {
	b *Backend
	i int
}

var errNoTAP = errors.New("userspace: no TAP interface")

func (t *tapWriter) Write(p []byte) (int, error) {
	d := t.b.dev.Load()
	if d == nil {
		return 0, errNoTAP
	}
	qs := d.Queues()
	return qs[t.i%len(qs)].Write(p)
}

// rxPipe is the state of one receive goroutine.
type rxPipe struct {
	b  *Backend
	w  *macsec.Worker
	co *offload.Coalescer
	st *workerStats

	frames, trunc, dropped, eapol uint64
}

// handle classifies and processes one received frame, slot[start:];
// slot[:start] is free room (at least the virtio-net header).
func (p *rxPipe) handle(slot []byte, start int, truncated bool) {
	p.frames++
	if truncated {
		p.trunc++
		return
	}
	frame := slot[start:]
	if len(frame) < 14 {
		p.dropped++
		return
	}
	if p.b.isEAPOL(binary.BigEndian.Uint16(frame[12:])) {
		p.eapol++
		p.b.eapol.deliver(frame)
		return
	}
	clear, err := p.w.Validate(frame)
	if err != nil {
		p.dropped++
		return
	}
	at := cap(slot) - cap(clear)
	p.co.Add(slot[:at+len(clear)], at)
}

// publish adds the counters to the worker's statistics.
func (p *rxPipe) publish() {
	p.w.Flush()
	st := p.st
	st.rxFrames.Add(p.frames)
	st.rxTruncated.Add(p.trunc)
	st.rxDropped.Add(p.dropped)
	st.rxEAPOL.Add(p.eapol)
	st.rxTAPWrites.Store(p.co.Writes)
	st.rxTAPErrors.Store(p.co.Errors)
	p.frames, p.trunc, p.dropped, p.eapol = 0, 0, 0, 0
}

// rxError handles a failed receive; it reports whether the loop ends.
func (b *Backend) rxError(err error, st *workerStats) bool {
	select {
	case <-b.done:
		return true
	default:
	}
	st.rxRecvErrors.Add(1)
	switch {
	case errors.Is(err, afpacket.ErrClosed):
		return true
	case errors.Is(err, unix.ENETDOWN):
		b.noteParentDown()
	default:
		// Unknown failure: do not spin on it.
		time.Sleep(time.Millisecond)
	}
	return false
}

// rxLoop moves frames from socket i to the TAP (or the FrameConn) until
// the backend closes.
func (b *Backend) rxLoop(i int, conn *afpacket.Conn, st *workerStats) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p := &rxPipe{b: b, w: b.SoftSecY.NewWorker(), co: offload.NewCoalescer(&tapWriter{b: b, i: i}), st: st}
	// USO is a property of the kernel: a recreated TAP has it too.
	if d := b.dev.Load(); d != nil {
		p.co.UDP = d.USO()
	}
	defer p.w.Close()
	if conn.Ring() {
		b.rxRing(conn, p)
		return
	}
	slots := make([][]byte, rxBatch)
	bufs := make([][]byte, rxBatch)
	sizes := make([]int, rxBatch)
	slot := rxOffset + b.maxFrame + 4
	mem := make([]byte, slot*rxBatch)
	for j := range slots {
		slots[j] = mem[j*slot : (j+1)*slot : (j+1)*slot]
		bufs[j] = slots[j][rxOffset:]
	}
	for {
		// Look again a few times, yielding the CPU in between, before
		// sleeping: during a burst the next frames are microseconds away,
		// and a thread that is not asleep costs the sender no wake-up.
		n, err := 0, error(nil)
		for spin := 0; spin < rxSpins && n == 0 && err == nil; spin++ {
			if spin > 0 {
				osYield()
			}
			n, err = conn.TryRecv(bufs, sizes)
		}
		if n == 0 && err == nil {
			// Idle: hand what was merged to the TAP, then sleep. While
			// frames keep coming, super-frames grow across batches, and
			// the host's TCP stack runs (and acknowledges) once per
			// 64 KB rather than once per batch.
			p.co.Flush()
			n, err = conn.Recv(bufs, sizes)
		}
		if err != nil {
			if b.rxError(err, st) {
				return
			}
			continue
		}
		for j := 0; j < n; j++ {
			size := sizes[j]
			trunc := size > len(bufs[j])
			if trunc {
				size = 0
			}
			p.handle(slots[j][:rxOffset+size], rxOffset, trunc)
		}
		p.publish()
	}
}

// rxRing is rxLoop for a socket with a receive ring: frames are validated
// in the ring's memory and written to the TAP from there.
func (b *Backend) rxRing(conn *afpacket.Conn, p *rxPipe) {
	for {
		n := 0
		for spin := 0; spin < rxSpins; spin++ {
			if spin > 0 {
				osYield()
			}
			for n < rxBatch {
				slot, start, trunc, ok := conn.RingFrame(n)
				if !ok {
					break
				}
				p.handle(slot, start, trunc)
				n++
			}
			if n > 0 {
				break
			}
		}
		if n > 0 {
			conn.RingRelease(n)
			p.publish()
			continue
		}
		p.co.Flush()
		if err := conn.RingWait(); err != nil {
			if b.rxError(err, p.st) {
				return
			}
		}
	}
}

// isEAPOL reports whether frames of EtherType et belong to the key
// agreement.
func (b *Backend) isEAPOL(et uint16) bool {
	for _, e := range b.eth {
		if e == et && e != 0 {
			return true
		}
	}
	return false
}
