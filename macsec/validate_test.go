package macsec

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"
)

// Receive behaviour of 802.1AE-2018 10.6 for every validateFrames and
// replayProtect combination, with the exact counters each frame moves.

var (
	aliceSCI = MakeSCI([]byte{0x02, 0xaa, 0, 0, 0, 1}, 1)
	bobSCI   = MakeSCI([]byte{0x02, 0xbb, 0, 0, 0, 2}, 1)
	malSCI   = MakeSCI([]byte{0x02, 0xcc, 0, 0, 0, 3}, 1)
	testKey  = bytes.Repeat([]byte{0x42}, 16)
)

// clearFrame is an Ethernet frame from alice with n octets of user data
// (EtherType included).
func clearFrame(n int) []byte {
	f := make([]byte, 12+n)
	copy(f[0:6], bobSCI[:6])
	copy(f[6:12], aliceSCI[:6])
	f[12], f[13] = 0x08, 0x00
	for i := 14; i < len(f); i++ {
		f[i] = byte(i * 7)
	}
	return f
}

// txSecY returns a SecY that protects frames as sci with transmit SA an
// in use from nextPN.
func txSecY(t testing.TB, sci SCI, p Policy, an AN, nextPN uint64, sak *SAK) *SoftSecY {
	t.Helper()
	p.ProtectFrames = true
	s, err := NewSoftSecY(Config{SCI: sci, Policy: p})
	must(t, err)
	must(t, s.CreateTxSA(an, nextPN, sak))
	must(t, s.EnableTxSA(an))
	must(t, s.SetControlledPort(true))
	return s
}

// rxSecY returns bob's SecY with a receive SC for from and receive SA an
// in use from lowestPN.
func rxSecY(t testing.TB, from SCI, p Policy, an AN, lowestPN uint64, sak *SAK) *SoftSecY {
	t.Helper()
	s, err := NewSoftSecY(Config{SCI: bobSCI, Policy: p})
	must(t, err)
	must(t, s.CreateRxSC(from))
	must(t, s.CreateRxSA(from, an, lowestPN, sak))
	must(t, s.EnableRxSA(from, an))
	must(t, s.SetControlledPort(true))
	return s
}

// sender returns a Worker protecting frames as sci with key on SA an
// from nextPN.
func sender(t testing.TB, sci SCI, p Policy, an AN, nextPN uint64, key []byte) *Worker {
	t.Helper()
	return txSecY(t, sci, p, an, nextPN, &SAK{Key: key}).NewWorker()
}

// receiver returns a SecY receiving from alice on SA 0 with testKey.
func receiver(t testing.TB, p Policy, lowestPN uint64) *SoftSecY {
	t.Helper()
	return rxSecY(t, aliceSCI, p, 0, lowestPN, &SAK{Key: testKey})
}

func protect(t testing.TB, w *Worker, clear []byte) []byte {
	t.Helper()
	buf, off := frameBuf(clear)
	out, err := w.Protect(buf, off)
	if err != nil {
		t.Fatalf("Protect: %v", err)
	}
	return append([]byte{}, out...)
}

// counters flattens every nonzero receive counter of a SecY: SecY
// counters by name, the receive SC's with prefix "SC.", its SA 0's with
// "SA.".
func counters(t testing.TB, s *SoftSecY) map[string]uint64 {
	t.Helper()
	st, err := s.Status()
	must(t, err)
	m := map[string]uint64{}
	add := func(prefix string, v any) {
		rv := reflect.ValueOf(v)
		for i := 0; i < rv.NumField(); i++ {
			if n := rv.Field(i).Uint(); n != 0 {
				m[prefix+rv.Type().Field(i).Name] += n
			}
		}
	}
	add("", st.Stats)
	add("Tx.", st.TxSC.Stats)
	for _, sa := range st.TxSC.SAs {
		add(fmt.Sprintf("TxSA%d.", sa.AN), sa.Stats)
	}
	for _, sc := range st.RxSCs {
		add("SC.", sc.Stats)
		for _, sa := range sc.SAs {
			add(fmt.Sprintf("SA%d.", sa.AN), sa.Stats)
		}
	}
	return m
}

type frameKind int

const (
	kindUntagged frameKind = iota
	kindIntegrity
	kindEncrypted
	kindIntegrityBadICV
	kindEncryptedBadICV
	kindIntegrityUnknownSCI
	kindEncryptedUnknownSCI
	kindIntegrityNoSA
	kindEncryptedNoSA
	kindIntegrityOld // PN 50 below the lowest acceptable PN 100
	kindEncryptedOld
	kindBadTag
)

var kindNames = map[frameKind]string{
	kindUntagged: "untagged", kindIntegrity: "integrity", kindEncrypted: "encrypted",
	kindIntegrityBadICV: "integrity-bad-ICV", kindEncryptedBadICV: "encrypted-bad-ICV",
	kindIntegrityUnknownSCI: "integrity-unknown-SCI", kindEncryptedUnknownSCI: "encrypted-unknown-SCI",
	kindIntegrityNoSA: "integrity-SA-not-in-use", kindEncryptedNoSA: "encrypted-SA-not-in-use",
	kindIntegrityOld: "integrity-PN-below-window", kindEncryptedOld: "encrypted-PN-below-window",
	kindBadTag: "bad-tag",
}

const userLen = 100 // octets of user data in the test frames

// makeFrame builds the received frame of a kind.
func makeFrame(t *testing.T, k frameKind) []byte {
	integ := Policy{CipherSuite: GCMAES128, IncludeSCI: true}
	enc := integ
	enc.Confidentiality = ConfidentialityOffset0
	clear := clearFrame(userLen)
	switch k {
	case kindUntagged:
		return clear
	case kindIntegrity:
		return protect(t, sender(t, aliceSCI, integ, 0, 1000, testKey), clear)
	case kindEncrypted:
		return protect(t, sender(t, aliceSCI, enc, 0, 1000, testKey), clear)
	case kindIntegrityBadICV, kindEncryptedBadICV:
		f := makeFrame(t, k-kindIntegrityBadICV+kindIntegrity)
		f[len(f)-1] ^= 1
		return f
	case kindIntegrityUnknownSCI:
		return protect(t, sender(t, malSCI, integ, 0, 1000, testKey), clear)
	case kindEncryptedUnknownSCI:
		return protect(t, sender(t, malSCI, enc, 0, 1000, testKey), clear)
	case kindIntegrityNoSA:
		return protect(t, sender(t, aliceSCI, integ, 1, 1000, testKey), clear)
	case kindEncryptedNoSA:
		return protect(t, sender(t, aliceSCI, enc, 1, 1000, testKey), clear)
	case kindIntegrityOld:
		return protect(t, sender(t, aliceSCI, integ, 0, 50, testKey), clear)
	case kindEncryptedOld:
		return protect(t, sender(t, aliceSCI, enc, 0, 50, testKey), clear)
	case kindBadTag:
		f := makeFrame(t, kindIntegrity)
		f[14] |= TCIVersion
		return f
	}
	panic("unknown kind")
}

// rxCase is the outcome 802.1AE-2018 10.6 prescribes for one frame kind
// under one validateFrames/replayProtect setting.
type rxCase struct {
	kind     frameKind
	validate ValidateFrames
	replay   bool
	err      error             // nil: delivered
	counters map[string]uint64 // every nonzero counter afterwards
}

func rxCases() []rxCase {
	const n = userLen
	var cs []rxCase
	for _, v := range []ValidateFrames{ValidateDisabled, ValidateCheck, ValidateStrict} {
		for _, replay := range []bool{false, true} {
			add := func(k frameKind, err error, c map[string]uint64) {
				cs = append(cs, rxCase{k, v, replay, err, c})
			}
			strict, disabled := v == ValidateStrict, v == ValidateDisabled

			// 10.6.1: no SecTAG.
			if strict {
				add(kindUntagged, ErrNoTag, map[string]uint64{"InPktsNoTag": 1})
			} else {
				add(kindUntagged, nil, map[string]uint64{"InPktsUntagged": 1})
			}
			add(kindBadTag, ErrBadTag, map[string]uint64{"InPktsBadTag": 1})

			// Valid frames. With validateFrames Disabled an integrity-
			// only frame is not checked at all (InPktsUnchecked) and no
			// octets are counted; encrypted frames are always decrypted.
			if disabled {
				add(kindIntegrity, nil, map[string]uint64{"SC.InPktsUnchecked": 1})
				add(kindEncrypted, nil, map[string]uint64{"SC.InPktsOK": 1, "SA0.InPktsOK": 1})
			} else {
				add(kindIntegrity, nil, map[string]uint64{"SC.InPktsOK": 1, "SA0.InPktsOK": 1, "SC.InOctetsValidated": n})
				add(kindEncrypted, nil, map[string]uint64{"SC.InPktsOK": 1, "SA0.InPktsOK": 1, "SC.InOctetsDecrypted": n})
			}

			// 10.6.5: ICV check fails.
			switch v {
			case ValidateDisabled:
				add(kindIntegrityBadICV, nil, map[string]uint64{"SC.InPktsUnchecked": 1})
				add(kindEncryptedBadICV, ErrNotValid, map[string]uint64{"SC.InPktsNotValid": 1, "SA0.InPktsNotValid": 1})
			case ValidateCheck:
				add(kindIntegrityBadICV, nil, map[string]uint64{"SC.InPktsInvalid": 1, "SA0.InPktsInvalid": 1, "SC.InOctetsValidated": n})
				add(kindEncryptedBadICV, ErrNotValid, map[string]uint64{"SC.InPktsNotValid": 1, "SA0.InPktsNotValid": 1, "SC.InOctetsDecrypted": n})
			case ValidateStrict:
				add(kindIntegrityBadICV, ErrNotValid, map[string]uint64{"SC.InPktsNotValid": 1, "SA0.InPktsNotValid": 1, "SC.InOctetsValidated": n})
				add(kindEncryptedBadICV, ErrNotValid, map[string]uint64{"SC.InPktsNotValid": 1, "SA0.InPktsNotValid": 1, "SC.InOctetsDecrypted": n})
			}

			// 10.6.2: no receive SC for the SCI.
			if strict {
				add(kindIntegrityUnknownSCI, ErrNoSCI, map[string]uint64{"InPktsNoSCI": 1})
			} else {
				add(kindIntegrityUnknownSCI, nil, map[string]uint64{"InPktsUnknownSCI": 1})
			}
			add(kindEncryptedUnknownSCI, ErrNoSCI, map[string]uint64{"InPktsNoSCI": 1})

			// 10.6.2: no receive SA in use for the AN.
			if strict {
				add(kindIntegrityNoSA, ErrNotUsingSA, map[string]uint64{"SC.InPktsNotUsingSA": 1})
			} else {
				add(kindIntegrityNoSA, nil, map[string]uint64{"SC.InPktsUnusedSA": 1})
			}
			add(kindEncryptedNoSA, ErrNotUsingSA, map[string]uint64{"SC.InPktsNotUsingSA": 1})

			// 10.6.2/10.6.5: PN below the lowest acceptable PN: late
			// (dropped) with replay protection, delayed otherwise.
			if replay {
				add(kindIntegrityOld, ErrLate, map[string]uint64{"SC.InPktsLate": 1})
				add(kindEncryptedOld, ErrLate, map[string]uint64{"SC.InPktsLate": 1})
			} else if disabled {
				add(kindIntegrityOld, nil, map[string]uint64{"SC.InPktsDelayed": 1})
				add(kindEncryptedOld, nil, map[string]uint64{"SC.InPktsDelayed": 1})
			} else {
				add(kindIntegrityOld, nil, map[string]uint64{"SC.InPktsDelayed": 1, "SC.InOctetsValidated": n})
				add(kindEncryptedOld, nil, map[string]uint64{"SC.InPktsDelayed": 1, "SC.InOctetsDecrypted": n})
			}
		}
	}
	return cs
}

func TestValidateFramesReplayProtect(t *testing.T) {
	frames := map[frameKind][]byte{}
	for k := range kindNames {
		frames[k] = makeFrame(t, k)
	}
	clear := clearFrame(userLen)
	for _, c := range rxCases() {
		name := fmt.Sprintf("%s/replay=%v/%s", c.validate, c.replay, kindNames[c.kind])
		t.Run(name, func(t *testing.T) {
			// Lowest acceptable PN 100; the senders use PN 1000 (or 50
			// for the old-PN kinds).
			s := receiver(t, Policy{CipherSuite: GCMAES128, Validate: c.validate, ReplayProtect: c.replay}, 100)
			w := s.NewWorker()
			frame := append([]byte{}, frames[c.kind]...)
			got, err := w.Validate(frame)
			if !errors.Is(err, c.err) || (err == nil) != (c.err == nil) {
				t.Fatalf("Validate: err = %v, want %v", err, c.err)
			}
			if err == nil && !bytes.Equal(got, clear) {
				t.Errorf("delivered frame:\n got %X\nwant %X", got, clear)
			}
			if err != nil && got != nil {
				t.Errorf("dropped frame returned %d octets", len(got))
			}
			w.Flush()
			if m := counters(t, s); !reflect.DeepEqual(m, c.counters) {
				t.Errorf("counters\n got %v\nwant %v", m, c.counters)
			}
		})
	}
}

// A SecTAG without SC or ES names the only peer of a point-to-point SecY
// (802.1AE-2018 9.9); with more than one peer it is unknown.
func TestImplicitSCI(t *testing.T) {
	p := Policy{CipherSuite: GCMAES128, Validate: ValidateStrict, ReplayProtect: true}
	sci := MakeSCI(aliceSCI[:6], 7) // not the port an ES tag implies
	frame := protect(t, sender(t, sci, p, 0, 1000, testKey), clearFrame(userLen))
	if frame[14]&(TCISC|TCIES) != 0 {
		t.Fatalf("TCI %#x: want neither SC nor ES", frame[14])
	}
	s := rxSecY(t, sci, p, 0, 1, &SAK{Key: testKey})
	if _, err := s.NewWorker().Validate(append([]byte{}, frame...)); err != nil {
		t.Fatalf("point-to-point: %v", err)
	}
	must(t, s.CreateRxSC(malSCI))
	if _, err := s.NewWorker().Validate(append([]byte{}, frame...)); !errors.Is(err, ErrNoSCI) {
		t.Fatalf("two peers: err = %v, want ErrNoSCI", err)
	}
}

// Transmit counters: protected and encrypted frames and octets per SA and
// SC, OutPktsUntagged without protection, OutPktsTooLong over the MTU.
func TestTransmitCounters(t *testing.T) {
	s, err := NewSoftSecY(Config{SCI: aliceSCI, MaxFrameLen: 12 + SecTAGLenSCI + 200 + ICVLen, Policy: Policy{
		CipherSuite: GCMAES256, ProtectFrames: true, IncludeSCI: true,
	}})
	must(t, err)
	key := bytes.Repeat([]byte{7}, 32)
	must(t, s.CreateTxSA(2, 1, &SAK{Key: key}))
	must(t, s.EnableTxSA(2))
	w := s.NewWorker()
	if _, err := w.Protect(frameBuf(clearFrame(50))); !errors.Is(err, ErrPortDisabled) {
		t.Fatalf("port disabled: err = %v", err)
	}
	must(t, s.SetControlledPort(true))
	protect(t, w, clearFrame(50))
	protect(t, w, clearFrame(200))
	if _, err := w.Protect(frameBuf(clearFrame(201))); !errors.Is(err, ErrTooLong) {
		t.Fatalf("too long: err = %v", err)
	}
	p := s.Policy()
	p.Confidentiality = ConfidentialityOffset30
	must(t, s.SetPolicy(p))
	protect(t, w, clearFrame(60))
	p.ProtectFrames = false
	must(t, s.SetPolicy(p))
	if out, err := w.Protect(frameBuf(clearFrame(70))); err != nil || !bytes.Equal(out, clearFrame(70)) {
		t.Fatalf("unprotected: err = %v, frame changed: %v", err, !bytes.Equal(out, clearFrame(70)))
	}
	// No buffer room for the SecTAG or ICV: a caller error, not counted.
	p.ProtectFrames = true
	must(t, s.SetPolicy(p))
	if _, err := w.Protect(clearFrame(60), 0); !errors.Is(err, ErrBuffer) {
		t.Fatalf("no headroom: err = %v", err)
	}
	w.Flush()
	want := map[string]uint64{
		"OutPktsUntagged": 1, "OutPktsTooLong": 1,
		"Tx.OutPktsProtected": 2, "Tx.OutOctetsProtected": 250,
		"Tx.OutPktsEncrypted": 1, "Tx.OutOctetsEncrypted": 60,
		"TxSA2.OutPktsProtected": 2, "TxSA2.OutPktsEncrypted": 1,
	}
	if m := counters(t, s); !reflect.DeepEqual(m, want) {
		t.Errorf("counters\n got %v\nwant %v", m, want)
	}
	if pn, _ := s.TxNextPN(2); pn != 4 {
		t.Errorf("TxNextPN = %d, want 4 (three frames sent)", pn)
	}
}

// Frames counted by a Worker reach Status on Flush, and still do when the
// SA was deleted in between (rekey while frames are in flight).
func TestCountersSurviveDelete(t *testing.T) {
	p := Policy{CipherSuite: GCMAES128, Validate: ValidateStrict, ReplayProtect: true}
	s := receiver(t, p, 1)
	w := s.NewWorker()
	tx := sender(t, aliceSCI, p, 0, 1, testKey)
	for range 3 {
		if _, err := w.Validate(protect(t, tx, clearFrame(userLen))); err != nil {
			t.Fatal(err)
		}
	}
	must(t, s.DeleteRxSA(aliceSCI, 0))
	w.Flush()
	m := counters(t, s)
	if m["SC.InPktsOK"] != 3 || m["SC.InOctetsValidated"] != 3*userLen {
		t.Fatalf("after delete: %v", m)
	}
	if _, err := w.Validate(protect(t, tx, clearFrame(userLen))); !errors.Is(err, ErrNotUsingSA) {
		t.Fatalf("deleted SA: err = %v", err)
	}
}

// A receive SA that is installed but not in use counts the frames for it
// in its own InPktsNotUsingSA/InPktsUnusedSA as well as the SC's; the data
// plane's overruns land in InPktsOverrun.
func TestSANotInUseAndOverrun(t *testing.T) {
	for _, v := range []ValidateFrames{ValidateCheck, ValidateStrict} {
		p := Policy{CipherSuite: GCMAES128, Validate: v, ReplayProtect: true}
		s := receiver(t, p, 1)
		must(t, s.DisableRxSA(aliceSCI, 0))
		frame := protect(t, sender(t, aliceSCI, Policy{CipherSuite: GCMAES128, IncludeSCI: true}, 0, 5, testKey), clearFrame(userLen))
		_, err := s.NewWorker().Validate(frame)
		s.CountOverrun(2)
		want := map[string]uint64{"SC.InPktsUnusedSA": 1, "SA0.InPktsUnusedSA": 1, "InPktsOverrun": 2}
		if v == ValidateStrict {
			want = map[string]uint64{"SC.InPktsNotUsingSA": 1, "SA0.InPktsNotUsingSA": 1, "InPktsOverrun": 2}
			if !errors.Is(err, ErrNotUsingSA) {
				t.Errorf("%s: err = %v, want ErrNotUsingSA", v, err)
			}
		} else if err != nil {
			t.Errorf("%s: err = %v, want delivery", v, err)
		}
		if m := counters(t, s); !reflect.DeepEqual(m, want) {
			t.Errorf("%s: counters\n got %v\nwant %v", v, m, want)
		}
	}
}
