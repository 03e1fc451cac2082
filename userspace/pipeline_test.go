package userspace

import (
	"encoding/binary"
	"testing"

	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/userspace/afpacket"
	"github.com/macsecd/macsecd/userspace/offload"
)

// These benchmarks run the per-frame stages of both directions without
// the system calls, on the goroutine's own buffers, to show the cost per
// frame and that the steady state allocates nothing. The "seal" baseline
// is Go's AES-GCM over the same octets in the same run: the pipeline's
// overhead is the ratio to it.

func benchSecY(b *testing.B, cs macsec.CipherSuite, replay bool) *macsec.SoftSecY {
	s, err := macsec.NewSoftSecY(macsec.Config{
		SCI: macsec.MakeSCI([]byte{2, 0, 0, 0, 0, 1}, 1),
		Policy: macsec.Policy{CipherSuite: cs, Confidentiality: macsec.ConfidentialityOffset0,
			ProtectFrames: true, Validate: macsec.ValidateStrict, ReplayProtect: replay, IncludeSCI: true},
		MaxFrameLen: 1514,
	})
	if err != nil {
		b.Fatal(err)
	}
	key := make([]byte, cs.KeyLen())
	sak := &macsec.SAK{Key: key, SSCI: 1}
	peer := macsec.MakeSCI([]byte{2, 0, 0, 0, 0, 1}, 1) // loop back to itself
	must(b, s.CreateRxSC(peer))
	must(b, s.CreateRxSA(peer, 0, 1, sak))
	must(b, s.EnableRxSA(peer, 0))
	must(b, s.CreateTxSA(0, 1, sak))
	must(b, s.EnableTxSA(0))
	must(b, s.SetControlledPort(true))
	return s
}

func must(b *testing.B, err error) {
	if err != nil {
		b.Fatal(err)
	}
}

// tcpSuperFrame is a 64 KB TCP/IPv4 super-frame with its virtio-net
// header, as the TAP delivers it.
func tcpSuperFrame(payload int) []byte {
	f := make([]byte, offload.VnetHdrLen+14+20+20+payload)
	h := offload.VnetHdr{Flags: offload.FlagNeedsCsum, GSOType: offload.GSOTCPv4, HdrLen: 54,
		GSOSize: 1428, CsumStart: 34, CsumOffset: 16}
	h.Encode(f)
	e := f[offload.VnetHdrLen:]
	copy(e, []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00})
	ip := e[14:]
	ip[0], ip[8], ip[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(ip[2:], uint16(len(e)-14))
	copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	tcp := ip[20:]
	tcp[12], tcp[13] = 5<<4, 0x10
	for i := range e[54:] {
		e[54+i] = byte(i)
	}
	return f
}

// BenchmarkTxPipeline: one 64 KB super-frame read from the TAP is split
// into 45 segments and each is protected in place (no sendmmsg).
func BenchmarkTxPipeline(b *testing.B) {
	for _, cs := range []macsec.CipherSuite{macsec.GCMAES128, macsec.GCMAES256} {
		b.Run(cs.String(), func(b *testing.B) {
			be := &Backend{SoftSecY: benchSecY(b, cs, true), maxFrame: 1514}
			p := be.newTxPipe(nil, &workerStats{})
			frame := tcpSuperFrame(45 * 1428)
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			for b.Loop() {
				p.add(frame)
				if len(p.batch) != 45 {
					b.Fatalf("%d frames in batch (dropped %d, bad %d)", len(p.batch), p.dropped, p.bad)
				}
				p.batch, p.used = p.batch[:0], 0
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*45), "ns/frame")
		})
	}
}

// BenchmarkRxPipeline: a batch of 45 protected segments is validated in
// place and coalesced into one TAP write (discarded).
func BenchmarkRxPipeline(b *testing.B) {
	for _, cs := range []macsec.CipherSuite{macsec.GCMAES128, macsec.GCMAES256} {
		b.Run(cs.String(), func(b *testing.B) {
			// Every iteration validates the same PNs again: no replay
			// protection here.
			s := benchSecY(b, cs, false)
			be := &Backend{SoftSecY: s, maxFrame: 1514}
			p := be.newTxPipe(nil, &workerStats{})
			p.add(tcpSuperFrame(45 * 1428))
			// Keep the protected frames; validation works on copies so
			// that every iteration sees the same input.
			wire := make([][]byte, len(p.batch))
			for i, f := range p.batch {
				wire[i] = append([]byte(nil), f...)
			}
			slot := rxOffset + 1518
			mem := make([]byte, slot*len(wire))
			w := s.NewWorker()
			co := offload.NewCoalescer(discardWriter{})
			var octets int
			for _, f := range wire {
				octets += len(f)
			}
			b.SetBytes(int64(octets))
			b.ReportAllocs()
			for b.Loop() {
				for i, f := range wire {
					buf := mem[i*slot : (i+1)*slot]
					n := copy(buf[rxOffset:], f)
					clear, err := w.Validate(buf[rxOffset : rxOffset+n])
					if err != nil {
						b.Fatal(err)
					}
					start := cap(buf) - cap(clear)
					co.Add(buf[:start+len(clear)], start)
				}
				co.Flush()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(wire)), "ns/frame")
		})
	}
}

// BenchmarkSealBaseline is Go's AES-GCM sealing 1428+54 octets: the floor
// under the per-frame cost of the pipelines.
func BenchmarkSealBaseline(b *testing.B) {
	for _, cs := range []macsec.CipherSuite{macsec.GCMAES128, macsec.GCMAES256} {
		b.Run(cs.String(), func(b *testing.B) {
			aead, err := macsec.NewAEAD(cs, make([]byte, cs.KeyLen()))
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 1482+16)
			nonce := make([]byte, 12)
			b.SetBytes(1482)
			b.ReportAllocs()
			for b.Loop() {
				aead.Seal(buf[:0], nonce, buf[:1482], nil)
			}
		})
	}
}

type discardWriter struct{}

func (discardWriter) Write(b []byte) (int, error) { return len(b), nil }

var _ = afpacket.MaxBatch
