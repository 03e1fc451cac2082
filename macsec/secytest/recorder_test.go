package secytest

import (
	"errors"
	"testing"

	"github.com/macsecd/macsecd/macsec"
)

func sak(id byte, n int) *macsec.SAK {
	k := &macsec.SAK{Key: make([]byte, n)}
	k.ID[15] = id
	return k
}

func TestRecorderRejectsWrongSequences(t *testing.T) {
	peer := macsec.SCIFromUint64(0x0200000000020001)
	r := New(macsec.SCIFromUint64(0x0200000000010001))
	if err := r.EnableRxSA(peer, 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("enable SA of missing SC: %v, want ErrNotFound", err)
	}
	if err := r.CreateRxSC(peer); err != nil {
		t.Fatal(err)
	}
	if err := r.CreateRxSC(peer); !errors.Is(err, ErrExists) {
		t.Fatalf("second CreateRxSC: %v, want ErrExists", err)
	}
	if err := r.EnableRxSA(peer, 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("enable missing SA: %v, want ErrNotFound", err)
	}
	if err := r.CreateRxSA(peer, 1, 1, sak(1, 32)); !errors.Is(err, ErrBadKey) {
		t.Fatalf("256-bit key under GCM-AES-128: %v, want ErrBadKey", err)
	}
	if err := r.CreateRxSA(peer, 1, 1, sak(1, 16)); err != nil {
		t.Fatal(err)
	}
	if err := r.CreateRxSA(peer, 1, 1, sak(2, 16)); !errors.Is(err, ErrExists) {
		t.Fatalf("SA on AN in use: %v, want ErrExists", err)
	}
	if err := r.SetPolicy(macsec.Policy{CipherSuite: macsec.GCMAES256}); !errors.Is(err, ErrPolicy) {
		t.Fatalf("suite change with SAs: %v, want ErrPolicy", err)
	}
	if err := r.CreateTxSA(2, 1, sak(1, 16)); err != nil {
		t.Fatal(err)
	}
	if err := r.EnableTxSA(2); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteTxSA(2); !errors.Is(err, ErrInUse) {
		t.Fatalf("delete encoding SA: %v, want ErrInUse", err)
	}
	if err := r.SetTxNextPN(2, 1000); err != nil {
		t.Fatal(err)
	}
	if pn, err := r.TxNextPN(2); err != nil || pn != 1000 {
		t.Fatalf("TxNextPN = %d, %v; want 1000", pn, err)
	}
	if err := r.DisableTxSA(2); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.EncodingSA(); ok {
		t.Fatal("encoding SA after disabling it")
	}
	if err := r.DeleteTxSA(2); err != nil {
		t.Fatalf("delete disabled SA: %v", err)
	}
	r.FailNext(OpCreateTxSA, nil)
	if err := r.CreateTxSA(3, 1, sak(3, 16)); !errors.Is(err, ErrInjected) {
		t.Fatalf("injected failure: %v", err)
	}
	if err := r.CreateTxSA(3, 1, sak(3, 16)); err != nil {
		t.Fatalf("after injected failure: %v", err)
	}

	calls := r.Calls()
	if len(calls) != 16 {
		t.Fatalf("recorded %d calls, want 16:\n%v", len(calls), calls)
	}
	if c := calls[5]; c.Op != OpCreateRxSA || c.SCI != peer || c.AN != 1 || c.PN != 1 || c.KeyID[15] != 1 || c.Err != nil {
		t.Fatalf("call 5 = %v", c)
	}
	if c := calls[10]; c.Op != OpDeleteTxSA || !errors.Is(c.Err, ErrInUse) || !c.Encoding {
		t.Fatalf("call 10 = %v", c)
	}
	if c := calls[11]; c.Op != OpTxNextPN || c.PN != 1000 {
		t.Fatalf("call 11 = %v, want TxNextPN 1000", c)
	}
}

func TestRecorderTracksExposure(t *testing.T) {
	r := New(macsec.SCIFromUint64(1))
	_ = r.SetPolicy(macsec.Policy{CipherSuite: macsec.GCMAES128, ProtectFrames: false, Validate: macsec.ValidateCheck})
	_ = r.SetControlledPort(true)
	c := r.Calls()[1]
	if !c.PortEnabled || c.ProtectFrames || c.Validate != macsec.ValidateCheck {
		t.Fatalf("state after SetControlledPort: %+v", c)
	}
	st, err := r.Status()
	if err != nil || !st.ControlledPort {
		t.Fatalf("Status = %+v, %v", st, err)
	}
	var seen int
	r.OnKey = func(op Op, sci macsec.SCI, an macsec.AN, key *macsec.SAK) { seen += len(key.Key) }
	_ = r.CreateTxSA(0, 1, sak(1, 16))
	if seen != 16 {
		t.Fatalf("OnKey saw %d key octets, want 16", seen)
	}
	_ = r.Close()
	if err := r.SetControlledPort(false); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}
