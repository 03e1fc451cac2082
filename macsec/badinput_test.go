package macsec

import (
	"errors"
	"testing"
)

// Malformed frames are dropped with the counter 802.1AE names for them,
// never delivered, never a panic, and leave the replay state alone.
func TestBadInput(t *testing.T) {
	p := Policy{CipherSuite: GCMAES128, Validate: ValidateCheck, ReplayProtect: true}
	good := protect(t, sender(t, aliceSCI, Policy{CipherSuite: GCMAES128, IncludeSCI: true}, 0, 1000, testKey), clearFrame(userLen))
	short := protect(t, sender(t, aliceSCI, Policy{CipherSuite: GCMAES128, IncludeSCI: true}, 0, 1000, testKey), clearFrame(10))
	if short[15] != 10 || len(short) >= minFrameLen {
		t.Fatalf("SL of a 10-octet frame = %d, frame %d octets", short[15], len(short))
	}
	mod := func(f []byte, fn func([]byte) []byte) []byte { return fn(append([]byte{}, f...)) }

	cases := []struct {
		name    string
		frame   []byte
		err     error // specific error, also matching wantCtr's class
		counter string
	}{
		{"empty", nil, ErrTruncated, "InPktsBadTag"},
		{"13 octets", good[:13], ErrTruncated, "InPktsBadTag"},
		{"EtherType only", good[:14], ErrTruncated, "InPktsBadTag"},
		{"SecTAG cut before PN", good[:18], ErrTruncated, "InPktsBadTag"},
		{"SecTAG cut in SCI", good[:24], ErrTruncated, "InPktsBadTag"},
		{"no room for ICV", good[:12+SecTAGLenSCI+ICVLen-1], ErrTruncated, "InPktsBadTag"},
		{"V=1", mod(good, func(f []byte) []byte { f[14] |= TCIVersion; return f }), ErrVersion, "InPktsBadTag"},
		{"ES and SC", mod(good, func(f []byte) []byte { f[14] |= TCIES; return f }), ErrTCI, "InPktsBadTag"},
		{"SCB and SC", mod(good, func(f []byte) []byte { f[14] |= TCISCB; return f }), ErrTCI, "InPktsBadTag"},
		{"C without E", mod(good, func(f []byte) []byte { f[14] |= TCIC; return f }), ErrCWithoutE, "InPktsBadTag"},
		{"SL reserved bits", mod(short, func(f []byte) []byte { f[15] |= 0x40; return f }), ErrReserved, "InPktsBadTag"},
		{"SL set on a long frame", mod(good, func(f []byte) []byte { f[15] = 47; return f }), ErrShortLen, "InPktsBadTag"},
		{"SL larger than the data", mod(short, func(f []byte) []byte { f[15] = 11; return f }), ErrShortLen, "InPktsBadTag"},
		{"SL zero on a short frame", mod(short, func(f []byte) []byte { f[15] = 0; return f }), ErrShortLen, "InPktsBadTag"},
		{"PN zero", mod(good, func(f []byte) []byte { clear(f[16:20]); return f }), ErrZeroPN, "InPktsBadTag"},
		{"padding beyond minimum frame", append(append([]byte{}, short...), make([]byte, 64-len(short))...), ErrShortLen, "InPktsBadTag"},
		{"unknown SCI, encrypted", mod(good, func(f []byte) []byte { f[14] |= TCIE | TCIC; f[22] ^= 1; return f }), ErrNoSCI, "InPktsNoSCI"},
		{"wrong ICV, encrypted", mod(good, func(f []byte) []byte { f[14] |= TCIE | TCIC; return f }), ErrNotValid, "SC.InPktsNotValid"},
		{"E without C", mod(good, func(f []byte) []byte { f[14] |= TCIE; return f }), ErrKaYFrame, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := receiver(t, p, 100)
			w := s.NewWorker()
			got, err := w.Validate(c.frame)
			if !errors.Is(err, c.err) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if got != nil {
				t.Errorf("dropped frame returned %d octets", len(got))
			}
			if errors.Is(c.err, ErrBadTag) != (c.counter == "InPktsBadTag") {
				t.Errorf("error %v and counter %s disagree", err, c.counter)
			}
			w.Flush()
			m := counters(t, s)
			var want map[string]uint64
			switch c.counter {
			case "":
				want = map[string]uint64{}
			case "SC.InPktsNotValid":
				want = map[string]uint64{c.counter: 1, "SA0.InPktsNotValid": 1, "SC.InOctetsDecrypted": userLen}
			default:
				want = map[string]uint64{c.counter: 1}
			}
			if len(m) != len(want) {
				t.Fatalf("counters %v, want %v", m, want)
			}
			for k, v := range want {
				if m[k] != v {
					t.Fatalf("counters %v, want %v", m, want)
				}
			}
			st, _ := s.Status()
			if next := st.RxSCs[0].SAs[0].NextPN; next != 100 {
				t.Errorf("next PN moved to %d", next)
			}
		})
	}

	// Padding after the ICV of a frame under the minimum size is removed
	// using SL, and the frame is valid.
	padded := append(append([]byte{}, short...), make([]byte, 60-len(short))...)
	s := receiver(t, p, 100)
	got, err := s.NewWorker().Validate(padded)
	if err != nil || len(got) != 12+10 {
		t.Fatalf("padded minimum frame: err = %v, %d octets", err, len(got))
	}
}

// Management rejects what a backend cannot honour, with errors that name
// the operation, and changes nothing.
func TestManagementErrors(t *testing.T) {
	s, err := NewSoftSecY(Config{SCI: aliceSCI, Policy: Policy{CipherSuite: GCMAES128}})
	must(t, err)
	checks := []struct {
		name string
		err  error
	}{
		{"rx SA without SC", s.CreateRxSA(bobSCI, 0, 1, &SAK{Key: testKey})},
		{"AN 4", s.CreateTxSA(4, 1, &SAK{Key: testKey})},
		{"short key", s.CreateTxSA(0, 1, &SAK{Key: testKey[:8]})},
		{"256-bit key for GCM-AES-128", s.CreateTxSA(0, 1, &SAK{Key: make([]byte, 32)})},
		{"PN 0", s.CreateTxSA(0, 0, &SAK{Key: testKey})},
		{"PN beyond 32 bits", s.CreateTxSA(0, 1<<32, &SAK{Key: testKey})},
		{"nil key", s.CreateTxSA(0, 1, nil)},
		{"enable missing SA", s.EnableTxSA(3)},
		{"delete missing SC", s.DeleteRxSC(bobSCI)},
		{"bad suite", s.SetPolicy(Policy{CipherSuite: 7})},
		{"SCI with ES", s.SetPolicy(Policy{CipherSuite: GCMAES128, IncludeSCI: true, UseES: true})},
		{"ES with SCI port 7", func() error {
			_, err := NewSoftSecY(Config{SCI: MakeSCI(aliceSCI[:6], 7), Policy: Policy{CipherSuite: GCMAES128, UseES: true}})
			return err
		}()},
	}
	for _, c := range checks {
		if c.err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	if _, err := s.TxNextPN(0); err == nil {
		t.Error("TxNextPN of a missing SA: no error")
	}
	// The kernel reports GCM-AES-128 with its pre-standard identifier;
	// the SecY accepts it and keeps the standard one.
	must(t, s.SetPolicy(Policy{CipherSuite: GCMAES128Legacy}))
	if cs := s.Policy().CipherSuite; cs != GCMAES128 {
		t.Errorf("legacy GCM-AES-128 stored as %s", cs)
	}
	must(t, s.CreateTxSA(0, 1, &SAK{Key: testKey}))
	if err := s.SetPolicy(Policy{CipherSuite: GCMAES256}); err == nil {
		t.Error("cipher suite change with an SA installed: no error")
	}
	if err := s.CreateTxSA(0, 1, &SAK{Key: testKey}); err == nil {
		t.Error("second SA on AN 0: no error")
	}
}

// Keys are copied in, and zeroed when the SA is deleted or the SecY closed.
func TestKeysCopiedAndZeroed(t *testing.T) {
	s, err := NewSoftSecY(Config{SCI: aliceSCI, Policy: Policy{CipherSuite: GCMAES128}})
	must(t, err)
	key := append([]byte{}, testKey...)
	must(t, s.CreateTxSA(0, 1, &SAK{Key: key}))
	must(t, s.CreateRxSC(bobSCI))
	must(t, s.CreateRxSA(bobSCI, 1, 1, &SAK{Key: key}))
	clear(key) // the caller's copy; the SecY keeps its own
	tx := s.tx[0].Load()
	rx := s.rx.Load().bySCI[bobSCI].sas[1].Load()
	if tx.key[0] != 0x42 || rx.key[0] != 0x42 {
		t.Fatal("SecY did not copy the key")
	}
	txKey, rxKey := tx.key, rx.key
	must(t, s.DeleteTxSA(0))
	if tx.key != nil || txKey[0] != 0 || txKey[15] != 0 {
		t.Error("transmit key not zeroed on delete")
	}
	must(t, s.Close())
	if rx.key != nil || rxKey[0] != 0 || rxKey[15] != 0 {
		t.Error("receive key not zeroed on close")
	}
	if err := s.CreateTxSA(1, 1, &SAK{Key: testKey}); err == nil {
		t.Error("CreateTxSA after Close: no error")
	}
}
