package mkpdu

import (
	"testing"
)

// A typical MKPDU of a two-peer CA with a SAK in use.
func benchFrame(b *testing.B) []byte {
	f := fullFrame()
	f.PDU.DistCAK, f.PDU.KMD, f.PDU.Unknown, f.PDU.XPN = nil, nil, nil, nil
	out, err := f.Marshal(testICK)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

func BenchmarkParse(b *testing.B) {
	frame := benchFrame(b)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(frame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalReuse(b *testing.B) {
	frame := benchFrame(b)
	var f Frame
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if err := f.Unmarshal(frame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyICV(b *testing.B) {
	frame := benchFrame(b)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if !VerifyICV(frame, testICK) {
			b.Fatal("ICV")
		}
	}
}

func BenchmarkMarshal(b *testing.B) {
	f := fullFrame()
	f.PDU.DistCAK, f.PDU.KMD, f.PDU.Unknown, f.PDU.XPN = nil, nil, nil, nil
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.AppendMarshal(buf[:0], testICK); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkICVKeyVerify(b *testing.B) {
	frame := benchFrame(b)
	k, err := NewICVKey(testICK)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if !k.Verify(frame) {
			b.Fatal("ICV")
		}
	}
}

func BenchmarkMarshalKey(b *testing.B) {
	f := fullFrame()
	f.PDU.DistCAK, f.PDU.KMD, f.PDU.Unknown, f.PDU.XPN = nil, nil, nil, nil
	k, _ := NewICVKey(testICK)
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.AppendMarshalKey(buf[:0], k); err != nil {
			b.Fatal(err)
		}
	}
}
