package macsec

import (
	"bytes"
	"errors"
	"sync"
	"testing"
)

// fuzzSecYs holds one receiving SecY per cipher suite with the receive
// SCs and SAs of every Annex C case, so that the seeds are valid frames
// and mutations explore every branch of the receive path.
var fuzzSecYs = sync.OnceValue(func() (ss [4]*SoftSecY) {
	t := &testing.T{}
	vs := annexCVectors(t)
	for i, cs := range annexCSuites {
		s, err := NewSoftSecY(Config{SCI: bobSCI, Policy: Policy{CipherSuite: cs, Validate: ValidateStrict}})
		if err != nil {
			panic(err)
		}
		for _, v := range vs {
			if v.suite != cs {
				continue
			}
			s.CreateRxSC(v.sci) // cases share SCs: C.1/C.6, C.2/C.5, C.3/C.7, C.4/C.8
			s.CreateRxSA(v.sci, v.tag.AN, 1, &SAK{Key: v.key, SSCI: v.ssci, Salt: v.salt})
			s.EnableRxSA(v.sci, v.tag.AN)
		}
		s.SetControlledPort(true)
		ss[i] = s
	}
	return ss
})

// FuzzValidate runs arbitrary frames through the receive path with each
// validateFrames setting: no panic, a delivered frame is the input minus
// a SecTAG and ICV (or the untagged input), and a dropped one is counted
// or is a KaY frame.
func FuzzValidate(f *testing.F) {
	for _, v := range annexCVectors(f) {
		f.Add(v.protected, uint8(0))
		f.Add(v.protected[:len(v.protected)-1], uint8(1))
	}
	f.Add(clearFrame(60), uint8(2))
	f.Fuzz(func(t *testing.T, frame []byte, sel uint8) {
		s := fuzzSecYs()[sel%4]
		validate := ValidateFrames(sel / 4 % 3)
		p := s.Policy()
		p.Validate = validate
		p.Confidentiality = Confidentiality(sel / 12 % 4)
		p.ReplayProtect = sel&0x80 != 0
		// The fuzz engine runs one input at a time per process, so the
		// shared SecY's policy is set per input.
		if err := s.SetPolicy(p); err != nil {
			t.Fatal(err)
		}
		w := s.NewWorker()
		in := append([]byte{}, frame...)
		before := total(t, s)
		out, err := w.Validate(in)
		w.Flush()
		after := total(t, s)
		if err != nil {
			if out != nil {
				t.Fatalf("dropped frame returned %d octets", len(out))
			}
			if after == before && !errors.Is(err, ErrKaYFrame) {
				t.Fatalf("drop (%v) not counted", err)
			}
			return
		}
		if after == before {
			t.Fatal("delivery not counted")
		}
		if len(frame) >= 14 && frame[12] == 0x88 && frame[13] == 0xe5 {
			if len(out) > len(frame)-SecTAGLen-ICVLen {
				t.Fatalf("delivered %d octets of a %d-octet MACsec frame", len(out), len(frame))
			}
			if !bytes.Equal(out[:12], frame[:12]) {
				t.Fatal("MAC addresses changed")
			}
		} else if !bytes.Equal(out, frame) {
			t.Fatal("untagged frame changed")
		}
	})
}

// total sums every counter of a SecY.
func total(t testing.TB, s *SoftSecY) uint64 {
	var n uint64
	for _, v := range counters(t, s) {
		n += v
	}
	return n
}

// FuzzParseFrame checks the SecTAG codec: whatever ParseFrame accepts
// re-encodes to the same octets, and its offsets lie inside the frame.
func FuzzParseFrame(f *testing.F) {
	for _, v := range annexCVectors(f) {
		f.Add(v.protected, false)
		f.Add(v.protected, true)
	}
	f.Fuzz(func(t *testing.T, frame []byte, xpn bool) {
		fr, err := ParseFrame(frame, macHeaderLen, xpn)
		if err != nil {
			if !errors.Is(err, ErrBadTag) {
				t.Fatalf("error %v does not match ErrBadTag", err)
			}
			return
		}
		if fr.DataOffset > fr.ICVOffset || fr.ICVOffset+ICVLen > len(frame) {
			t.Fatalf("offsets %+v outside a %d-octet frame", fr, len(frame))
		}
		tag := make([]byte, fr.Tag.Len())
		fr.Tag.MarshalTo(tag)
		if !bytes.Equal(tag, frame[macHeaderLen:fr.DataOffset]) {
			t.Fatalf("re-encoded SecTAG %X, frame has %X", tag, frame[macHeaderLen:fr.DataOffset])
		}
	})
}
