package mka

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/macsecd/macsecd/mka/mkpdu"
)

// BenchmarkTimeToSecure starts N participants at once on a LAN with 1-4 ms
// of delivery jitter and reports the virtual time until every one of them
// transmits and receives with one SAK (virtual-ms/op). ns/op is the CPU
// time the simulation took.
func BenchmarkTimeToSecure(b *testing.B) {
	for _, peers := range []int{2, 32} {
		b.Run(fmt.Sprintf("peers=%d", peers), func(b *testing.B) {
			var total time.Duration
			for i := 0; b.Loop(); i++ {
				n := newSimNet(b, uint64(i))
				n.jitter = 3 * time.Millisecond
				for j := range peers {
					n.add(fmt.Sprint(j), baseConfig(j))
				}
				if !n.runUntil(t0.Add(60*time.Second), n.secured) {
					b.Fatalf("%d peers not secured in 60 s", peers)
				}
				total += n.now.Sub(t0)
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "virtual-ms/op")
		})
	}
}

// BenchmarkHandleMKPDU measures the CPU cost of processing one MKPDU from a
// live peer of a secured link (parse, ICV check, peer update, CP step),
// and reports it as a ratio to the ICV check alone (x-icv: AES-CMAC with a
// prepared key over the same frames), measured in the same run.
func BenchmarkHandleMKPDU(b *testing.B) {
	n := newSimNet(b, 99)
	a, p := n.add("a", baseConfig(0)), n.add("b", baseConfig(1))
	if !n.runUntil(t0.Add(5*time.Second), n.secured) {
		b.Fatal("not secured")
	}
	tmpl, err := mkpdu.Parse(p.sent[len(p.sent)-1])
	if err != nil {
		b.Fatal(err)
	}
	ick := p.k.parts[0].ick
	icv, err := mkpdu.NewICVKey(ick)
	if err != nil {
		b.Fatal(err)
	}
	const chunk = 1024
	frames := make([][]byte, chunk)
	mn := tmpl.PDU.Basic.MN
	refill := func() {
		for i := range frames {
			mn++
			tmpl.PDU.Basic.MN = mn
			frames[i], err = tmpl.Marshal(ick)
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	before := a.k.Status().Counters.RxMKPDU
	var verify time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%chunk == 0 {
			b.StopTimer()
			refill()
			// Baseline: the ICV check alone over the same frames.
			start := time.Now()
			for _, f := range frames[:min(chunk, b.N-i)] {
				if !icv.Verify(f) {
					b.Fatal("ICV")
				}
			}
			verify += time.Since(start)
			b.StartTimer()
		}
		if err := a.k.HandleFrame(n.now, frames[i%chunk]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if got := a.k.Status().Counters.RxMKPDU - before; got != uint64(b.N) {
		b.Fatalf("accepted %d of %d MKPDUs", got, b.N)
	}
	if verify > 0 {
		b.ReportMetric(float64(b.Elapsed())/float64(verify), "x-icv")
	}
}

// FuzzHandleFrame feeds arbitrary frames to a secured KaY: it must never
// panic, and a frame that fails the checks must change nothing.
func FuzzHandleFrame(f *testing.F) {
	n := newSimNet(f, 5)
	a, p := n.add("a", baseConfig(0)), n.add("b", baseConfig(1))
	if !n.runUntil(t0.Add(5*time.Second), n.secured) {
		f.Fatal("not secured")
	}
	for _, fr := range p.sent {
		f.Add(fr)
	}
	f.Add([]byte{})
	f.Add(make([]byte, 64))
	f.Fuzz(func(t *testing.T, frame []byte) {
		before := statusSansCounters(a.k)
		calls := len(a.rec.Calls())
		if err := a.k.HandleFrame(n.now, frame); err != nil {
			if after := statusSansCounters(a.k); !reflect.DeepEqual(before, after) {
				t.Fatalf("rejected frame (%v) changed state", err)
			}
			if len(a.rec.Calls()) != calls {
				t.Fatalf("rejected frame (%v) made SecY calls", err)
			}
		}
	})
}
