package macsec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

func TestRecoverPN(t *testing.T) {
	for _, c := range []struct {
		low    uint32
		lowest uint64
		want   uint64
	}{
		{5, 1, 5},
		{0xffffffff, 0xfffffff0, 0xffffffff},
		// Below the lowest acceptable low half: the next epoch.
		{0, 0xfffffff0, 1 << 32},
		{3, 0xfffffff0, 1<<32 | 3},
		// At the window's lower edge: same epoch.
		{0xfffffff0, 0xfffffff0, 0xfffffff0},
		{0x10, 0x7_0000_0010, 0x7_0000_0010},
		{0x0f, 0x7_0000_0010, 0x8_0000_000f},
	} {
		if got := RecoverPN(c.low, c.lowest); got != c.want {
			t.Errorf("RecoverPN(%#x, %#x) = %#x, want %#x", c.low, c.lowest, got, c.want)
		}
	}
}

// XPN frames cross the 2^32 boundary: the receiver recovers the high
// half from its replay state, accepts reordering within the window on
// both sides of the boundary, and rejects a frame replayed from before it.
func TestXPNAcross2to32(t *testing.T) {
	for _, cs := range []CipherSuite{GCMAESXPN128, GCMAESXPN256} {
		t.Run(cs.String(), func(t *testing.T) {
			key := bytes.Repeat([]byte{0x5a}, cs.KeyLen())
			sak := &SAK{Key: key, SSCI: 7, Salt: Salt{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}}
			p := Policy{CipherSuite: cs, Confidentiality: ConfidentialityOffset0, ProtectFrames: true,
				Validate: ValidateStrict, ReplayProtect: true, ReplayWindow: 2, IncludeSCI: true}
			const start = 1<<32 - 3
			tw := txSecY(t, aliceSCI, p, 0, start, sak).NewWorker()
			var frames [][]byte // PNs 2^32-3 .. 2^32+2
			for range 6 {
				frames = append(frames, protect(t, tw, clearFrame(userLen)))
			}
			if got := binaryPN(frames[3]); got != 0 {
				t.Fatalf("wire PN of 2^32 = %#x, want 0 (low half)", got)
			}

			rx := rxSecY(t, aliceSCI, p, 0, start, sak)
			rw := rx.NewWorker()
			want := clearFrame(userLen)
			// Order 0, 2, 1, 4, 3, 5: every frame arrives within the
			// window of 2, two of them after a later PN, one of those
			// (index 3, PN 2^32) after PN 2^32+1.
			for _, i := range []int{0, 2, 1, 4, 3, 5} {
				got, err := rw.Validate(append([]byte{}, frames[i]...))
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("frame %d (PN %#x): err = %v", i, uint64(start+i), err)
				}
			}
			rw.Flush()
			st, _ := rx.Status()
			if sa := st.RxSCs[0].SAs[0]; sa.NextPN != 1<<32+3 || sa.LowestPN != 1<<32+1 || sa.Stats.InPktsOK != 6 {
				t.Fatalf("next PN %#x, lowest PN %#x, OK %d; want %#x, %#x, 6", sa.NextPN, sa.LowestPN, sa.Stats.InPktsOK,
					uint64(1<<32+3), uint64(1<<32+1))
			}
			// Replays: PN 2^32-3 has low half 0xfffffffd, recovered in the
			// current epoch as 2^32+0xfffffffd (above the window, so not
			// late) and fails the ICV; PN 2^32 (low 0) is now below the
			// window's low half 1 and is recovered as 2^33: also invalid.
			for _, i := range []int{0, 3} {
				if _, err := rw.Validate(append([]byte{}, frames[i]...)); !errors.Is(err, ErrNotValid) {
					t.Errorf("replayed frame %d: err = %v, want ErrNotValid", i, err)
				}
			}
		})
	}
}

func binaryPN(frame []byte) uint32 {
	return binary.BigEndian.Uint32(frame[16:20])
}

// The threshold callback fires exactly once per SA, and at the last PN
// the SA stops: no PN is ever used twice, including under concurrency.
func TestPNExhaustion(t *testing.T) {
	for _, cs := range []CipherSuite{GCMAES128, GCMAESXPN128} {
		t.Run(cs.String(), func(t *testing.T) {
			last := MaxPN(cs)
			var fired atomic.Int32
			var firedPN atomic.Uint64
			s, err := NewSoftSecY(Config{
				SCI:         aliceSCI,
				Policy:      Policy{CipherSuite: cs, ProtectFrames: true, IncludeSCI: true},
				PNThreshold: last - 100,
				OnPNThreshold: func(an AN, pn uint64) {
					fired.Add(1)
					firedPN.Store(pn)
					if an != 1 {
						t.Errorf("threshold AN = %d, want 1", an)
					}
				},
			})
			must(t, err)
			must(t, s.CreateTxSA(1, last-199, &SAK{Key: testKey}))
			must(t, s.EnableTxSA(1))
			must(t, s.SetControlledPort(true))

			// 200 PNs remain; 4 goroutines race for them.
			var mu sync.Mutex
			seen := map[uint32]bool{}
			var exhausted atomic.Int32
			var wg sync.WaitGroup
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					w := s.NewWorker()
					defer w.Close()
					for {
						buf, off := frameBuf(clearFrame(60))
						out, err := w.Protect(buf, off)
						if errors.Is(err, ErrPNExhausted) {
							exhausted.Add(1)
							return
						}
						if err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						pn := binaryPN(out)
						if seen[pn] {
							t.Errorf("PN %#x used twice", pn)
						}
						seen[pn] = true
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if len(seen) != 200 {
				t.Errorf("%d frames sent, want the 200 remaining PNs", len(seen))
			}
			if !seen[uint32(last)] {
				t.Errorf("last PN %#x not used", last)
			}
			if n := fired.Load(); n != 1 {
				t.Errorf("threshold fired %d times, want once", n)
			}
			if pn := firedPN.Load(); pn != last-100 {
				t.Errorf("threshold fired at PN %#x, want %#x", pn, last-100)
			}
			if exhausted.Load() != 4 {
				t.Errorf("%d workers saw ErrPNExhausted, want 4", exhausted.Load())
			}
			// Stopped for good.
			w := s.NewWorker()
			for range 3 {
				if _, err := w.Protect(frameBuf(clearFrame(60))); !errors.Is(err, ErrPNExhausted) {
					t.Fatalf("after exhaustion: err = %v", err)
				}
			}
			w.Flush()
			st, _ := s.Status()
			if st.TxSC.Stats.OutPktsProtected != 200 {
				t.Errorf("OutPktsProtected = %d, want 200", st.TxSC.Stats.OutPktsProtected)
			}
		})
	}
}

// A fresh SA after rekey has its own threshold state.
func TestPNThresholdPerSA(t *testing.T) {
	var fired []AN
	s, err := NewSoftSecY(Config{SCI: aliceSCI, PNThreshold: 3,
		Policy:        Policy{CipherSuite: GCMAES128, ProtectFrames: true},
		OnPNThreshold: func(an AN, _ uint64) { fired = append(fired, an) }})
	must(t, err)
	must(t, s.SetControlledPort(true))
	w := s.NewWorker()
	for _, an := range []AN{0, 1} {
		must(t, s.CreateTxSA(an, 1, &SAK{Key: testKey}))
		must(t, s.EnableTxSA(an))
		for range 5 {
			protect(t, w, clearFrame(60))
		}
	}
	if len(fired) != 2 || fired[0] != 0 || fired[1] != 1 {
		t.Fatalf("fired for %v, want [0 1]", fired)
	}
}
