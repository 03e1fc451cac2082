package macsec

import (
	"crypto/rand"
	"fmt"
	"slices"
	"testing"
	"time"
)

// Benchmarks of the per-frame paths. Each size is the clear Ethernet frame
// length (DA, SA, EtherType, payload). BenchmarkBaselineSeal and
// BenchmarkBaselineOpen run a bare cipher.AEAD on the same buffer layout
// (encrypting the user data with the header as additional data), so
// Protect/Validate divided by the baseline is the cost of the framing:
// SecTAG, PN assignment, replay state, counters.

var benchSizes = []int{64, 512, 1500, 9000}

func benchSecY(b *testing.B, cs CipherSuite) *SoftSecY {
	b.Helper()
	sci := MakeSCI([]byte{2, 0, 0, 0, 0, 1}, 1)
	s, err := NewSoftSecY(Config{SCI: sci, Policy: Policy{
		CipherSuite:     cs,
		Confidentiality: ConfidentialityOffset0,
		ProtectFrames:   true,
		Validate:        ValidateStrict,
		ReplayProtect:   true,
		IncludeSCI:      true,
	}})
	if err != nil {
		b.Fatal(err)
	}
	key := make([]byte, cs.KeyLen())
	rand.Read(key)
	sak := &SAK{Key: key}
	must(b, s.CreateTxSA(0, 1, sak))
	must(b, s.EnableTxSA(0))
	must(b, s.CreateRxSC(sci))
	must(b, s.CreateRxSA(sci, 0, 1, sak))
	must(b, s.EnableRxSA(sci, 0))
	must(b, s.SetControlledPort(true))
	return s
}

func benchFrame(size int) []byte {
	f := make([]byte, size)
	for i := range f {
		f[i] = byte(i)
	}
	f[12], f[13] = 0x08, 0x00
	return f
}

// BenchmarkProtect: Protect of a clear frame into an encrypted one
// (GCM-AES, confidentiality offset 0, explicit SCI).
func BenchmarkProtect(b *testing.B) { benchOp(b, "protect", false) }

// BenchmarkBaselineSeal: a bare AEAD Seal of the same octets.
func BenchmarkBaselineSeal(b *testing.B) { benchOp(b, "protect", true) }

// BenchmarkValidate: Validate of the protected frame back to the clear one.
func BenchmarkValidate(b *testing.B) { benchOp(b, "validate", false) }

// BenchmarkBaselineOpen: a bare AEAD Open of the same octets.
func BenchmarkBaselineOpen(b *testing.B) { benchOp(b, "validate", true) }

func benchOp(b *testing.B, dir string, bare bool) {
	for _, cs := range []CipherSuite{GCMAES128, GCMAES256} {
		for _, size := range benchSizes {
			b.Run(fmt.Sprintf("%s/%d", cs, size), func(b *testing.B) {
				op, baseline := overheadPair(b, dir, cs, size)
				if bare {
					op = baseline
				}
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					op()
				}
			})
		}
	}
}

// BenchmarkOverhead measures Protect against a bare Seal, and Validate
// against a bare Open, on the same buffer layout. It alternates the two in
// chunks of 32 frames (taking turns at going first) and reports "x-bare",
// the median over all chunks of framed time / bare time (1.00 = no
// overhead). The median of many short paired chunks discards the chunks
// in which the goroutine was preempted, so the ratio holds on a loaded
// machine where absolute ns/op do not. ns/op is the time of one framed
// plus one bare operation.
func BenchmarkOverhead(b *testing.B) {
	for _, dir := range []string{"protect", "validate"} {
		for _, cs := range []CipherSuite{GCMAES128, GCMAES256} {
			for _, size := range benchSizes {
				b.Run(fmt.Sprintf("%s/%s/%d", dir, cs, size), func(b *testing.B) {
					framed, bare := overheadPair(b, dir, cs, size)
					const chunk = 32
					ratios := make([]float64, 0, b.N/chunk+1)
					run := func(f func(), n int) time.Duration {
						t0 := time.Now()
						for range n {
							f()
						}
						return time.Since(t0)
					}
					b.ReportAllocs()
					b.ResetTimer()
					for done := 0; done < b.N; done += chunk {
						n := min(chunk, b.N-done)
						var tf, tb time.Duration
						if len(ratios)%2 == 0 {
							tf = run(framed, n)
							tb = run(bare, n)
						} else {
							tb = run(bare, n)
							tf = run(framed, n)
						}
						ratios = append(ratios, float64(tf)/float64(tb))
					}
					b.StopTimer()
					slices.Sort(ratios)
					b.ReportMetric(ratios[len(ratios)/2], "x-bare")
				})
			}
		}
	}
}

// overheadPair returns the framed operation and its bare AEAD baseline.
func overheadPair(b *testing.B, dir string, cs CipherSuite, size int) (framed, bare func()) {
	s := benchSecY(b, cs)
	// The validate benchmarks validate the same protected frame over and
	// over; a window of 2^32-1 accepts it each time as a valid frame
	// (InPktsOK), not a replay. (In a real stream each frame also
	// advances the SA's next PN: one uncontended compare-and-swap more.)
	p := s.Policy()
	p.ReplayWindow = 1<<32 - 1
	must(b, s.SetPolicy(p))
	w := s.NewWorker()
	aead, err := NewAEAD(cs, make([]byte, cs.KeyLen()))
	if err != nil {
		b.Fatal(err)
	}
	var iv [NonceLen]byte
	hdr := macHeaderLen + SecTAGLenSCI
	clear := benchFrame(size)
	buf := make([]byte, Headroom+size, Headroom+size+Tailroom)
	bareBuf := make([]byte, Headroom+size, Headroom+size+Tailroom)
	if dir == "protect" {
		framed = func() {
			copy(buf[Headroom:], clear)
			if _, err := w.Protect(buf, Headroom); err != nil {
				b.Fatal(err)
			}
		}
		bare = func() {
			copy(bareBuf[Headroom:], clear)
			pt := bareBuf[hdr : Headroom+size]
			aead.Seal(pt[:0], iv[:], pt, bareBuf[:hdr])
		}
		return framed, bare
	}
	copy(buf[Headroom:], clear)
	prot, err := w.Protect(buf, Headroom)
	if err != nil {
		b.Fatal(err)
	}
	protected := append([]byte{}, prot...)
	frame := make([]byte, len(protected))
	sealed := make([]byte, len(protected))
	copy(sealed, clear[:macHeaderLen])
	copy(sealed[hdr:], clear[macHeaderLen:])
	pt := sealed[hdr : len(sealed)-ICVLen]
	aead.Seal(pt[:0], iv[:], pt, sealed[:hdr])
	bareFrame := make([]byte, len(sealed))
	framed = func() {
		copy(frame, protected)
		if _, err := w.Validate(frame); err != nil {
			b.Fatal(err)
		}
	}
	bare = func() {
		copy(bareFrame, sealed)
		ct := bareFrame[hdr:]
		if _, err := aead.Open(ct[:0], iv[:], ct, bareFrame[:hdr]); err != nil {
			b.Fatal(err)
		}
	}
	return framed, bare
}
