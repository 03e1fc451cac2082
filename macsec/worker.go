package macsec

import (
	"crypto/cipher"
	"encoding/binary"
)

// cacheSize is the number of SA ciphers a Worker keeps. SAs are numbered
// consecutively, so a direct-mapped cache of 64 holds the 4 transmit SAs
// and the receive SAs of 15 peers without a collision.
const cacheSize = 64

// flushEvery bounds how many frames a Worker counts locally per SA before
// it adds the counts to the SecY's counters on its own.
const flushEvery = 64

// Worker runs the per-frame procedures of a SoftSecY on one goroutine.
// Each data-plane goroutine owns one Worker: it holds that goroutine's
// AES-GCM instances (one per SA, built on first use from the SA's key),
// its scratch space, and its pending counts of the frequent counters, so
// Protect and Validate take no lock, allocate nothing once an SA's cipher
// is cached, and do one shared atomic write per frame (the transmit PN,
// or the receive SA's next PN). A Worker must not be used by two
// goroutines at once; a SoftSecY may have any number of Workers.
//
// Counters of frames a Worker passed (OutPktsProtected/Encrypted,
// InPktsOK, the octet counters) reach Status when the Worker flushes: on
// Flush, every 64 frames of an SA, and when it drops the SA's cipher.
// Data planes call Flush after each batch. Drop counters are immediate.
type Worker struct {
	s     *SoftSecY
	epoch uint64
	iv    [NonceLen]byte
	cache [cacheSize]cacheEntry
}

// cacheEntry is a Worker's cipher for one SA and the counts it has not
// yet added to the SA's counters.
type cacheEntry struct {
	k    *saKey
	tx   *txSA
	rx   *rxSA
	aead cipher.AEAD
	n    uint32    // frames counted since the last flush
	c    [4]uint64 // tx: protected, encrypted, octets protected, octets encrypted; rx: ok, octets validated, octets decrypted
}

func (e *cacheEntry) flush() {
	if e.n == 0 {
		return
	}
	if sa := e.tx; sa != nil {
		sa.protected.Add(e.c[0])
		sa.encrypted.Add(e.c[1])
		sa.octetsProtected.Add(e.c[2])
		sa.octetsEncrypted.Add(e.c[3])
	} else if sa := e.rx; sa != nil {
		sa.ok.Add(e.c[0])
		sa.octetsValidated.Add(e.c[1])
		sa.octetsDecrypted.Add(e.c[2])
	}
	e.n, e.c = 0, [4]uint64{}
}

// count adds to a pending counter and flushes every flushEvery frames.
func (e *cacheEntry) count(pkt, octetIdx int, octets uint64) {
	e.c[pkt]++
	e.c[octetIdx] += octets
	if e.n++; e.n >= flushEvery {
		e.flush()
	}
}

// NewWorker returns a Worker for the SecY.
func (s *SoftSecY) NewWorker() *Worker {
	return &Worker{s: s, epoch: s.epoch.Load()}
}

// Flush adds the Worker's pending counts to the SecY's counters and drops
// the ciphers of deleted SAs. Call it after each batch of frames.
func (w *Worker) Flush() {
	for i := range w.cache {
		w.cache[i].flush()
	}
	w.sweep()
}

// Close flushes and drops the Worker's ciphers. The Worker must not be
// used after.
func (w *Worker) Close() {
	w.Flush()
	clear(w.cache[:])
}

// sweep drops cached ciphers of deleted SAs when an SA was deleted since
// the last look: one atomic load per frame otherwise.
func (w *Worker) sweep() {
	if ep := w.s.epoch.Load(); ep != w.epoch {
		w.sweepDeleted(ep)
	}
}

func (w *Worker) sweepDeleted(ep uint64) {
	w.epoch = ep
	for i := range w.cache {
		if e := &w.cache[i]; e.k != nil && e.k.deleted.Load() {
			e.flush()
			*e = cacheEntry{}
		}
	}
}

// entry returns the Worker's cache entry for an SA with its cipher,
// building the cipher on first use; nil if the SA was deleted meanwhile.
// The hit is small enough to inline.
func (w *Worker) entry(k *saKey, tx *txSA, rx *rxSA) *cacheEntry {
	if e := &w.cache[k.slot]; e.k == k {
		return e
	}
	return w.fill(k, tx, rx)
}

// fill is entry's miss: build the SA's cipher and evict the previous
// occupant of the slot after flushing its counts.
func (w *Worker) fill(k *saKey, tx *txSA, rx *rxSA) *cacheEntry {
	e := &w.cache[k.slot]
	a := k.newAEAD()
	if a == nil {
		return nil
	}
	e.flush()
	*e = cacheEntry{k: k, tx: tx, rx: rx, aead: a}
	return e
}

// Protect applies the SecY's transmit procedure (802.1AE-2018 10.5) to
// the clear Ethernet frame buf[offset:] (destination and source MAC,
// EtherType, payload; no FCS), in place. The SecTAG goes into the
// headroom buf[:offset], which must hold it (Headroom is always enough),
// and the ICV into the capacity after len(buf), which must hold Tailroom
// octets. It returns the protected frame, a slice of buf's array from
// offset-SecTAG length to len(buf)+ICVLen.
//
// When protectFrames is off the frame is returned unchanged
// (OutPktsUntagged). Errors are the sentinels of this package; the frame
// is then not to be sent.
func (w *Worker) Protect(buf []byte, offset int) ([]byte, error) {
	s := w.s
	w.sweep()
	if !s.portUp.Load() {
		return nil, ErrPortDisabled
	}
	if offset < 0 || offset > len(buf) {
		return nil, ErrBuffer
	}
	frameLen := len(buf) - offset
	if frameLen < ethHeaderLen {
		return nil, ErrTruncated
	}
	p := s.policy.Load()
	if !p.ProtectFrames {
		s.stats.outPktsUntagged.Add(1)
		return buf[offset:], nil
	}
	sa := s.encoding.Load()
	if sa == nil || !sa.active.Load() {
		return nil, ErrNoTxSA
	}

	tag := SecTAG{AN: sa.an}
	tagLen := SecTAGLen
	switch {
	case p.IncludeSCI:
		tag.TCI |= TCISC
		tag.SCI = s.sci
		tagLen = SecTAGLenSCI
	case p.UseES:
		tag.TCI |= TCIES
	}
	if p.UseSCB && !p.IncludeSCI {
		tag.TCI |= TCISCB
	}
	encrypt := p.Confidentiality.Encrypt()
	if encrypt {
		tag.TCI |= TCIE | TCIC
	}
	if offset < tagLen || cap(buf)-len(buf) < ICVLen {
		return nil, ErrBuffer
	}
	outLen := tagLen + frameLen + ICVLen
	if s.maxFrameLen > 0 && outLen > s.maxFrameLen {
		s.stats.outPktsTooLong.Add(1)
		return nil, ErrTooLong
	}
	e := w.entry(&sa.saKey, sa, nil)
	if e == nil {
		return nil, ErrNoTxSA
	}
	pn, ok := sa.assignPN()
	if !ok {
		return nil, ErrPNExhausted
	}
	if pn >= sa.threshold && !sa.fired.Load() && sa.fired.CompareAndSwap(false, true) && s.onThreshold != nil {
		s.onThreshold(sa.an, pn)
	}

	start := offset - tagLen
	out := buf[start : len(buf)+ICVLen]
	moveMACs(out, buf[offset:])
	n := frameLen - macHeaderLen // user data: EtherType and payload
	tag.SL = shortLen(n)
	tag.PN = uint32(pn)
	tag.MarshalTo(out[macHeaderLen:])
	data := macHeaderLen + tagLen
	if p.xpn {
		PutNonceXPN(&w.iv, sa.ssci, pn, &sa.salt)
	} else {
		PutNonce(&w.iv, s.sci, uint32(pn))
	}
	if encrypt {
		// The first confidentiality-offset octets of the user data are
		// authenticated with the header and sent in the clear
		// (802.1AE-2018 14.5); a frame shorter than the offset is
		// wholly clear but still covered by the ICV.
		clearEnd := data + min(p.offset, n)
		pt := out[clearEnd : data+n]
		e.aead.Seal(pt[:0], w.iv[:], pt, out[:clearEnd])
		e.count(1, 3, uint64(n))
	} else {
		e.aead.Seal(out[data+n:data+n], w.iv[:], nil, out[:data+n])
		e.count(0, 2, uint64(n))
	}
	return out, nil
}

// Validate applies the SecY's receive procedure (802.1AE-2018 10.6) to the
// frame (from the destination MAC to the end of the ICV or padding; no
// FCS), in place. On delivery it returns the clear frame — destination and
// source MAC followed by the user data — as a slice of frame's array that
// starts a SecTAG length in (the MAC addresses are moved up), and a nil
// error. A frame without a SecTAG is delivered unchanged unless
// validateFrames is Strict.
//
// A dropped frame returns one of the package's sentinel errors (ErrBadTag
// and its specific forms, ErrNoTag, ErrNoSCI, ErrNotUsingSA, ErrLate,
// ErrNotValid, ErrKaYFrame, ErrPortDisabled), after the counter that
// 802.1AE defines for the case was incremented. Malformed input of any
// kind is dropped, never a panic. An encrypted frame that fails its ICV
// check may be left partly decrypted or zeroed in place.
func (w *Worker) Validate(frame []byte) ([]byte, error) {
	s := w.s
	w.sweep()
	if !s.portUp.Load() {
		return nil, ErrPortDisabled
	}
	p := s.policy.Load()
	if len(frame) < ethHeaderLen {
		s.stats.inPktsBadTag.Add(1)
		return nil, ErrTruncated
	}
	if binary.BigEndian.Uint16(frame[macHeaderLen:]) != EtherType {
		// 10.6.1 (figure 10-4): untagged frames pass unless Strict.
		if p.Validate == ValidateStrict {
			s.stats.inPktsNoTag.Add(1)
			return nil, ErrNoTag
		}
		s.stats.inPktsUntagged.Add(1)
		return frame, nil
	}
	xpn := p.xpn
	var f Frame
	if err := f.parse(frame, macHeaderLen, xpn); err != nil {
		s.stats.inPktsBadTag.Add(1)
		return nil, err
	}
	tci := f.Tag.TCI
	changed := tci&TCIC != 0
	if tci&TCIE != 0 && !changed {
		return nil, ErrKaYFrame
	}

	// SCI: explicit, or implied by the source MAC for an end station,
	// or that of the only peer on a point-to-point LAN (9.9).
	rt := s.rx.Load()
	var sc *rxSC
	var sci SCI
	switch {
	case f.Tag.HasSCI():
		sci = f.Tag.SCI
		sc = rt.lookup(sci)
	case tci&TCIES == 0 && rt.only != nil:
		sc = rt.only
		sci = sc.sci
	default:
		copy(sci[:6], frame[6:12])
		binary.BigEndian.PutUint16(sci[6:], PortES)
		sc = rt.lookup(sci)
	}
	if sc == nil {
		if changed || p.Validate == ValidateStrict {
			s.stats.inPktsNoSCI.Add(1)
			return nil, ErrNoSCI
		}
		s.stats.inPktsUnknownSCI.Add(1)
		return strip(frame, &f), nil
	}

	sa := sc.sas[f.Tag.AN].Load()
	if sa == nil || !sa.active.Load() {
		if changed || p.Validate == ValidateStrict {
			sc.notUsingSA.Add(1)
			if sa != nil {
				sa.notUsingSA.Add(1)
			}
			return nil, ErrNotUsingSA
		}
		sc.unusedSA.Add(1)
		if sa != nil {
			sa.unusedSA.Add(1)
		}
		return strip(frame, &f), nil
	}

	// Preliminary replay check (10.6.2), before spending the cipher.
	lowest := sa.lowestPN(p.ReplayWindow)
	pn := uint64(f.Tag.PN)
	if xpn {
		pn = RecoverPN(f.Tag.PN, lowest)
	}
	if p.ReplayProtect && pn < lowest {
		sc.late.Add(1)
		return nil, ErrLate
	}

	n := f.SecureDataLen()
	valid := false
	var e *cacheEntry
	if changed || p.Validate != ValidateDisabled {
		e = w.entry(&sa.saKey, nil, sa)
		if e == nil { // deleted since the lookup
			sc.notUsingSA.Add(1)
			return nil, ErrNotUsingSA
		}
		if xpn {
			PutNonceXPN(&w.iv, sa.ssci, pn, &sa.salt)
		} else {
			PutNonce(&w.iv, sc.sci, uint32(pn))
		}
		if changed {
			clearEnd := f.DataOffset + min(p.offset, n)
			ct := frame[clearEnd : f.ICVOffset+ICVLen]
			_, err := e.aead.Open(ct[:0], w.iv[:], ct, frame[:clearEnd])
			valid = err == nil
		} else {
			_, err := e.aead.Open(frame[f.ICVOffset:f.ICVOffset], w.iv[:], frame[f.ICVOffset:f.ICVOffset+ICVLen], frame[:f.ICVOffset])
			valid = err == nil
		}
		// Octets count for every frame checked, valid or not (10.6.5);
		// the OK count is added below, both flushed together.
		e.n++
		if p.Validate != ValidateDisabled {
			if tci&TCIE != 0 {
				e.c[2] += uint64(n)
			} else {
				e.c[1] += uint64(n)
			}
		}
	}

	// Replay check again with the state other workers may have moved
	// meanwhile (10.6.5): no PN is accepted twice below the window.
	lowest = sa.lowestPN(p.ReplayWindow)
	if p.ReplayProtect && pn < lowest {
		sc.late.Add(1)
		return nil, ErrLate
	}
	if !valid {
		switch {
		case changed || p.Validate == ValidateStrict:
			sa.notValid.Add(1)
			return nil, ErrNotValid
		case p.Validate == ValidateCheck:
			sa.invalid.Add(1)
		case pn < lowest:
			sc.delayed.Add(1)
		default:
			sc.unchecked.Add(1)
		}
		return strip(frame, &f), nil
	}
	if pn < lowest {
		sc.delayed.Add(1)
	} else {
		e.c[0]++
	}
	if e.n >= flushEvery {
		e.flush()
	}
	sa.update(pn)
	return strip(frame, &f), nil
}

// strip removes the SecTAG and ICV: it moves the MAC addresses up to the
// user data and returns the clear frame.
func strip(frame []byte, f *Frame) []byte {
	start := f.DataOffset - macHeaderLen
	moveMACs(frame[start:f.DataOffset], frame[:macHeaderLen])
	return frame[start:f.ICVOffset]
}

// moveMACs copies the 12 octets of destination and source address between
// possibly overlapping places: two loads before two stores, cheaper than
// a memmove call for every frame.
func moveMACs(dst, src []byte) {
	_, _ = dst[11], src[11]
	a := binary.LittleEndian.Uint64(src)
	b := binary.LittleEndian.Uint32(src[8:])
	binary.LittleEndian.PutUint64(dst, a)
	binary.LittleEndian.PutUint32(dst[8:], b)
}
