//go:build vmlab

package link

import (
	"errors"
	"testing"

	"github.com/macsecd/macsecd/macsec"
	"golang.org/x/sys/unix"
)

// TestSecYPolicyAndPort drives the macsec.SecY side of the backend:
// policy changes in place, the Controlled Port, a cipher suite change that
// recreates the interface, refusals, Status and Close.
func TestSecYPolicyAndPort(t *testing.T) {
	cs := macsec.GCMAES256
	a, b := newPair(t, pairPolicy(cs, true))
	keyUp(t, a, b, cs)
	a.h.Run(t, "ping", "-c", "1", "-W", "5", b.ip)

	// Controlled Port down: nothing passes; up again: traffic resumes.
	if err := b.y.SetControlledPort(false); err != nil {
		t.Fatal(err)
	}
	if out, err := a.h.Command("ping", "-c", "1", "-W", "1", b.ip).CombinedOutput(); err == nil {
		t.Errorf("ping passed a disabled Controlled Port:\n%s", out)
	}
	if err := b.y.SetControlledPort(true); err != nil {
		t.Fatal(err)
	}
	a.h.Run(t, "ping", "-c", "1", "-W", "5", b.ip)

	// Changeable settings change in place, and the kernel reports them.
	p := pairPolicy(cs, false)
	p.Validate = macsec.ValidateCheck
	p.ReplayWindow = 64
	if err := a.y.SetPolicy(p); err != nil {
		t.Fatal(err)
	}
	st, err := a.y.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.Policy != p || st.Backend != "kernel" || st.Offload != "off" || st.Interface != "ms0" || st.Parent != "eth0" ||
		!st.ControlledPort || st.SCI != a.sci || len(st.TxSC.SAs) != 1 || len(st.RxSCs) != 1 {
		t.Errorf("Status after SetPolicy: %+v\nwant policy %+v", st, p)
	}
	checkAgainstIP(t, a, mustState(t, a))
	a.h.Run(t, "ping", "-c", "1", "-W", "5", b.ip) // integrity only now on a's side, b still validates

	// The kernel refuses confidentiality offsets; nothing changes.
	p30 := p
	p30.Confidentiality = macsec.ConfidentialityOffset30
	if err := a.y.SetPolicy(p30); !errors.Is(err, unix.EOPNOTSUPP) {
		t.Errorf("offset 30: %v", err)
	}
	// A new cipher suite while SAs exist is refused.
	pxpn := p
	pxpn.CipherSuite = macsec.GCMAESXPN128
	if err := a.y.SetPolicy(pxpn); !errors.Is(err, unix.EBUSY) {
		t.Errorf("cipher change with SAs: %v", err)
	}
	// Offload needs hardware: veth has none.
	if err := a.y.SetOffload(OffloadMAC); !errors.Is(err, unix.EOPNOTSUPP) {
		t.Errorf("SetOffload on veth: %v", err)
	}
	if up := mustLink(t, a).Up; !up {
		t.Error("SetOffload left the interface down")
	}

	// Without SAs the cipher suite changes by recreating the interface,
	// keeping name, SCI, RX SC and state.
	for _, step := range []func() error{
		func() error { return a.y.DisableTxSA(0) },
		func() error { return a.y.DeleteTxSA(0) },
		func() error { return a.y.DisableRxSA(b.sci, 0) },
		func() error { return a.y.DeleteRxSA(b.sci, 0) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	oldIndex := a.y.Index()
	if err := a.y.SetPolicy(pxpn); err != nil {
		t.Fatal(err)
	}
	st2 := mustState(t, a)
	if a.y.Index() == oldIndex || st2.CipherSuite != macsec.GCMAESXPN128 || st2.SCI != a.sci || len(st2.RxSCs) != 1 ||
		st2.RxSCs[0].SCI != b.sci || !mustLink(t, a).Up {
		t.Errorf("recreated SecY: index %d (was %d), %+v", a.y.Index(), oldIndex, st2)
	}

	// Close deletes the interface.
	if err := a.y.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.c.LinkByName("ms0"); !errors.Is(err, unix.ENODEV) {
		t.Errorf("ms0 after Close: %v", err)
	}
	if err := a.y.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func mustState(t *testing.T, n *node) *State {
	t.Helper()
	st, err := n.y.State()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func mustLink(t *testing.T, n *node) *Link {
	t.Helper()
	l, err := n.c.LinkByIndex(n.y.Index())
	if err != nil {
		t.Fatal(err)
	}
	return l
}
