package offload

import "testing"

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }

// BenchmarkChecksum1500 is the per-segment checksum cost.
func BenchmarkChecksum1500(b *testing.B) {
	buf := randPayload(1500, 1)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		Checksum(buf)
	}
}

// BenchmarkSplitTCP64K splits a 64 KB TCP super-frame into 1448-octet
// segments (copy plus checksums): the TAP-to-wire stage before Protect.
func BenchmarkSplitTCP64K(b *testing.B) {
	h, f := superFrame(false, false, randPayload(65000, 1), 1448, 0x10)
	outs, sizes := outBufs(64, 16+1600)
	b.SetBytes(int64(len(f)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Split(h, f, outs, 16, sizes); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCoalesceTCP merges 45 segments into one super-frame write: the
// wire-to-TAP stage after Validate.
func BenchmarkCoalesceTCP(b *testing.B) {
	h, f := superFrame(false, false, randPayload(65000, 1), 1448, 0x10)
	outs, sizes := outBufs(64, 16+1600)
	k, err := Split(h, f, outs, 16, sizes)
	if err != nil {
		b.Fatal(err)
	}
	c := NewCoalescer(discard{})
	b.SetBytes(int64(len(f)))
	b.ReportAllocs()
	for b.Loop() {
		for i := 0; i < k; i++ {
			c.Add(outs[i][:16+sizes[i]], 16)
		}
		c.Flush()
	}
	if c.Writes != c.Frames/uint64(k) {
		b.Fatalf("%d writes for %d frames", c.Writes, c.Frames)
	}
}
