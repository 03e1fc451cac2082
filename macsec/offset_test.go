package macsec

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// Confidentiality offsets 30 and 50 (802.1AE-2018 10.7.24, 14.5): the
// first offset octets of the user data travel in the clear, the rest is
// encrypted, and the ICV covers both. No published vector uses them, so
// these tests check the structure and round trip instead.
func TestConfidentialityOffsets(t *testing.T) {
	for _, conf := range []Confidentiality{ConfidentialityOffset30, ConfidentialityOffset50} {
		for _, cs := range annexCSuites {
			// 20: shorter than either offset; 30/50: exactly the offset;
			// 100, 1500: longer.
			for _, n := range []int{20, 30, 50, 100, 1500} {
				t.Run(fmt.Sprintf("%s/%s/%d", conf, cs, n), func(t *testing.T) {
					testOffset(t, conf, cs, n)
				})
			}
		}
	}
}

func testOffset(t *testing.T, conf Confidentiality, cs CipherSuite, n int) {
	key := bytes.Repeat([]byte{0x3c}, cs.KeyLen())
	sak := &SAK{Key: key, SSCI: 1, Salt: Salt{9}}
	p := Policy{CipherSuite: cs, Confidentiality: conf, ProtectFrames: true,
		Validate: ValidateStrict, ReplayProtect: true, IncludeSCI: true}
	clear := clearFrame(n)
	frame := protect(t, txSecY(t, aliceSCI, p, 0, 1, sak).NewWorker(), clear)

	if frame[14]&(TCIE|TCIC) != TCIE|TCIC {
		t.Fatalf("TCI %#x: want E and C", frame[14])
	}
	data := 12 + SecTAGLenSCI
	off := min(conf.Offset(), n)
	if !bytes.Equal(frame[data:data+off], clear[12:12+off]) {
		t.Errorf("first %d octets of user data not in the clear", off)
	}
	if n > off {
		enc := frame[data+off : data+n]
		if bytes.Equal(enc, clear[12+off:]) {
			t.Errorf("user data after the offset not encrypted")
		}
	}

	w := rxSecY(t, aliceSCI, p, 0, 1, sak).NewWorker()
	// The clear part is covered by the ICV: change one octet of it (and,
	// separately, of the encrypted part) and the frame is rejected. (Before
	// the genuine frame, which would make these replays.)
	for _, i := range []int{data + off - 1, data + n - 1} {
		bad := append([]byte{}, frame...)
		bad[i] ^= 0x80
		if _, err := w.Validate(bad); !errors.Is(err, ErrNotValid) {
			t.Errorf("octet %d changed: err = %v, want ErrNotValid", i-data, err)
		}
	}

	got, err := w.Validate(append([]byte{}, frame...))
	if err != nil || !bytes.Equal(got, clear) {
		t.Fatalf("round trip: err = %v", err)
	}

	// A receiver with another offset computes a different ICV input, so
	// the offset is part of what both ends must agree on.
	if n > 30 {
		p0 := p
		p0.Confidentiality = ConfidentialityOffset0
		rx0 := rxSecY(t, aliceSCI, p0, 0, 1, sak)
		if _, err := rx0.NewWorker().Validate(append([]byte{}, frame...)); !errors.Is(err, ErrNotValid) {
			t.Errorf("offset-0 receiver: err = %v, want ErrNotValid", err)
		}
	}
}
