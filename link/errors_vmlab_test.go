//go:build vmlab

package link

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/testenv"
	"golang.org/x/sys/unix"
)

// TestKernelErrors triggers each error class against the real kernel and
// checks that the error names the operation and the object, explains the
// errno, matches it with errors.Is, and that the refused request changed
// nothing.
func TestKernelErrors(t *testing.T) {
	lab := testenv.New(t)
	h := lab.Host("err")
	peer := lab.Host("peer")
	lab.Veth(h, "eth0", peer, "eth0")
	c := dialIn(t, h)
	cs := macsec.GCMAESXPN128
	l, err := c.CreateLink(fxLinkConfig(cs, true))
	if err != nil {
		t.Fatal(err)
	}
	defer c.DeleteLink(l.Index)
	tx := fxTxSAs(cs)[0]
	if err := c.AddTxSA(l.Index, &tx); err != nil {
		t.Fatal(err)
	}
	if err := c.AddRxSC(l.Index, fxPeerSCI, true); err != nil {
		t.Fatal(err)
	}
	eth0, err := c.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	before, err := c.State(l.Index)
	if err != nil {
		t.Fatal(err)
	}

	cs128 := macsec.GCMAES128
	sci := fxPeerSCI
	port := uint16(7)
	icv := uint8(8)
	offMAC := OffloadMAC
	short := tx
	short.AN = 2
	short.Key = fxKey(macsec.GCMAES128, 1)[:15] // XPN-128 wants 16 octets
	pn32 := tx
	pn32.AN = 3
	pn32.XPN = false // a 4-octet PN on an XPN SecY
	pn32.PN = 5

	cases := []struct {
		name     string
		do       func() error
		errno    unix.Errno
		is       error    // another target errors.Is must match
		contains []string // op, object, reason
	}{
		{"EBUSY AN in use", func() error { return c.AddTxSA(l.Index, &tx) },
			unix.EBUSY, nil, []string{"add TX SA", "ms0 AN 1", "association number already in use"}},
		{"EBUSY delete active SA", func() error { return c.DeleteTxSA(l.Index, 1) },
			unix.EBUSY, nil, []string{"delete TX SA", "ms0 AN 1", "deactivate it first"}},
		{"EEXIST RX SC", func() error { return c.AddRxSC(l.Index, fxPeerSCI, true) },
			unix.EEXIST, fs.ErrExist, []string{"add RX SC", "ms0 RX SC 02000000bb020005", "the RX SC exists"}},
		{"EOPNOTSUPP offload on veth", func() error { return c.UpdateOffload(l.Index, OffloadMAC) },
			unix.EOPNOTSUPP, errors.ErrUnsupported, []string{"set offload mac", "ms0", "does not offload"}},
		{"EOPNOTSUPP create with offload", func() error {
			cfg := fxLinkConfig(cs, true)
			cfg.Name = "ms1"
			cfg.Offload = OffloadMAC
			_, err := c.CreateLink(cfg)
			return err
		}, unix.EOPNOTSUPP, errors.ErrUnsupported, []string{"create macsec interface", "ms1 on eth0", "offload mode mac is not supported by eth0"}},
		{"ENODEV no such SA", func() error { on := true; return c.UpdateTxSA(l.Index, SAUpdate{AN: 3, Active: &on, XPN: true}) },
			unix.ENODEV, nil, []string{"update TX SA", "ms0 AN 3", "no such"}},
		{"ENODEV no such RX SC", func() error { return c.DeleteRxSC(l.Index, macsec.SCI{1}) },
			unix.ENODEV, nil, []string{"delete RX SC", "ms0 RX SC 0100000000000000", "no such"}},
		{"ENODEV not a macsec interface", func() error { return c.AddTxSA(eth0.Index, &tx) },
			unix.ENODEV, nil, []string{"add TX SA", "eth0 AN 1", "no such macsec interface"}},
		{"EINVAL key length", func() error { return c.AddTxSA(l.Index, &short) },
			unix.EINVAL, nil, []string{"add TX SA", "ms0 AN 2", "does not match the SecY's cipher suite"}},
		{"EINVAL PN length", func() error { return c.AddRxSA(l.Index, fxPeerSCI, &pn32) },
			unix.EINVAL, nil, []string{"add RX SA", "ms0 RX SC 02000000bb020005 AN 3", "PN"}},
		{"EINVAL immutable cipher", func() error { return c.ChangeLink(l.Index, LinkChange{CipherSuite: &cs128}) },
			unix.EINVAL, ErrImmutable, []string{"change", "ms0", "cipher suite: SCI, port, ICV length and cipher suite cannot change"}},
		{"EINVAL immutable SCI", func() error { return c.ChangeLink(l.Index, LinkChange{SCI: &sci}) },
			unix.EINVAL, ErrImmutable, []string{"change", "ms0", "SCI: SCI, port"}},
		{"EINVAL immutable port", func() error { return c.ChangeLink(l.Index, LinkChange{Port: &port}) },
			unix.EINVAL, ErrImmutable, []string{"port: SCI, port"}},
		{"EINVAL immutable ICV length", func() error { return c.ChangeLink(l.Index, LinkChange{ICVLen: &icv}) },
			unix.EINVAL, ErrImmutable, []string{"ICV length: SCI, port"}},
		{"EINVAL immutable with changeable", func() error {
			an := macsec.AN(3)
			return c.ChangeLink(l.Index, LinkChange{EncodingSA: &an, Offload: &offMAC, CipherSuite: &cs128})
		}, unix.EINVAL, ErrImmutable, []string{"change", "ms0"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			t.Logf("%v", err)
			if err == nil {
				t.Fatal("the kernel accepted it")
			}
			if !errors.Is(err, tc.errno) {
				t.Errorf("errors.Is(err, %v) is false: %v", tc.errno, err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("errors.Is(err, %v) is false", tc.is)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("not an *Error: %T", err)
			}
			for _, s := range tc.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%q does not say %q", err, s)
				}
			}
		})
	}
	after, err := c.State(l.Index)
	if err != nil {
		t.Fatal(err)
	}
	if after.Settings != before.Settings || len(after.TxSAs) != 1 || len(after.RxSCs) != 1 || len(after.RxSCs[0].SAs) != 0 {
		t.Errorf("refused requests changed the SecY:\nbefore %+v\nafter  %+v", before, after)
	}
	if _, err := c.LinkByName("ms1"); !errors.Is(err, unix.ENODEV) {
		t.Errorf("ms1 exists after a refused create: %v", err)
	}
}
