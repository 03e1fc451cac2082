package macsec

import (
	"bytes"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// Several workers protect and validate while MKA-style management rekeys
// underneath (install new SAs, switch the encoding SA, delete the old
// ones). Run with -race: the data path takes no lock, so this is where a
// missing atomic would show. Every frame is either delivered intact or
// dropped because its SA was gone, and the counters add up.
func TestConcurrentRekey(t *testing.T) {
	const (
		workers   = 4
		perWorker = 300
		rekeys    = 3
	)
	p := Policy{CipherSuite: GCMAESXPN128, Confidentiality: ConfidentialityOffset0, ProtectFrames: true,
		Validate: ValidateStrict, ReplayProtect: true, ReplayWindow: 1 << 20, IncludeSCI: true}
	tx, err := NewSoftSecY(Config{SCI: aliceSCI, Policy: p})
	must(t, err)
	rx, err := NewSoftSecY(Config{SCI: bobSCI, Policy: p})
	must(t, err)
	must(t, rx.CreateRxSC(aliceSCI))
	key := func(i int) *SAK { return &SAK{Key: bytes.Repeat([]byte{byte(i + 1)}, 16), SSCI: 1} }
	must(t, rx.CreateRxSA(aliceSCI, 0, 1, key(0)))
	must(t, rx.EnableRxSA(aliceSCI, 0))
	must(t, tx.CreateTxSA(0, 1, key(0)))
	must(t, tx.EnableTxSA(0))
	must(t, tx.SetControlledPort(true))
	must(t, rx.SetControlledPort(true))

	frames := make(chan []byte, 64)
	var protected, finished atomic.Int64
	var wg, rwg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer finished.Add(1)
			w := tx.NewWorker()
			defer w.Close()
			for range perWorker {
				buf, off := frameBuf(clearFrame(userLen))
				out, err := w.Protect(buf, off)
				if errors.Is(err, ErrNoTxSA) {
					continue // between disabling the old and enabling the new
				}
				if err != nil {
					t.Error(err)
					return
				}
				protected.Add(1)
				frames <- out
			}
		}()
	}
	var mu sync.Mutex
	delivered, gone := 0, 0
	want := clearFrame(userLen)
	for range workers {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			w := rx.NewWorker()
			defer w.Close()
			for f := range frames {
				got, err := w.Validate(f)
				mu.Lock()
				switch {
				case err == nil && bytes.Equal(got, want):
					delivered++
				case errors.Is(err, ErrNotUsingSA):
					gone++
				default:
					t.Errorf("Validate: %v", err)
				}
				mu.Unlock()
			}
		}()
	}
	// Management: the 802.1X-2020 installation order (receive first,
	// then transmit, then retire the old SA).
	for i := 1; i <= rekeys; i++ {
		// Rekey while frames are in flight: after each quarter.
		for protected.Load() < int64(i*workers*perWorker/(rekeys+1)) && finished.Load() < workers {
			runtime.Gosched()
		}
		an, old := AN(i%4), AN((i-1)%4)
		must(t, rx.CreateRxSA(aliceSCI, an, 1, key(i)))
		must(t, rx.EnableRxSA(aliceSCI, an))
		must(t, tx.CreateTxSA(an, 1, key(i)))
		must(t, tx.EnableTxSA(an))
		must(t, tx.DeleteTxSA(old))
		must(t, rx.DeleteRxSA(aliceSCI, old))
		if _, err := tx.Status(); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(frames)
	rwg.Wait()

	ts, _ := tx.Status()
	rs, _ := rx.Status()
	sent := ts.TxSC.Stats.OutPktsEncrypted
	ok := rs.RxSCs[0].Stats.InPktsOK
	notUsing := rs.RxSCs[0].Stats.InPktsNotUsingSA
	if sent != uint64(delivered+gone) || ok != uint64(delivered) || notUsing != uint64(gone) {
		t.Fatalf("sent %d, delivered %d (InPktsOK %d), dropped for a deleted SA %d (InPktsNotUsingSA %d)",
			sent, delivered, ok, gone, notUsing)
	}
	if delivered == 0 {
		t.Fatal("nothing delivered")
	}
	t.Logf("%d frames delivered, %d dropped for a deleted SA", delivered, gone)
}
