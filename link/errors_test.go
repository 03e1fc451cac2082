package link

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

func TestOpErr(t *testing.T) {
	kernel := &netlink.OpError{Op: "receive", Err: unix.EBUSY, Message: "SA in use"}
	err := opErr("add TX SA", "ms0 AN 1", kernel, addSAReasons)
	want := "link: add TX SA ms0 AN 1: association number already in use (device or resource busy): kernel says: SA in use"
	if err.Error() != want {
		t.Errorf("got  %q\nwant %q", err, want)
	}
	if !errors.Is(err, unix.EBUSY) {
		t.Error("errors.Is(err, EBUSY) is false")
	}
	var e *Error
	if !errors.As(err, &e) || e.Op != "add TX SA" || e.Object != "ms0 AN 1" {
		t.Errorf("errors.As: %+v", e)
	}

	if err := opErr("add RX SC", "ms0 RX SC 0200000000bb0001", &netlink.OpError{Err: unix.EEXIST}, rxscReasons); !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), "the RX SC exists") {
		t.Errorf("EEXIST: %v", err)
	}
	if err := opErr("set offload mac", "ms0", &netlink.OpError{Err: unix.EOPNOTSUPP}, offloadReasons); !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "does not offload") {
		t.Errorf("EOPNOTSUPP: %v", err)
	}
	// An errno without a specific reason still reads and matches.
	if err := opErr("delete TX SA", "ms0 AN 1", &netlink.OpError{Err: unix.ENOMEM}, delSAReasons); !errors.Is(err, unix.ENOMEM) || !strings.HasSuffix(err.Error(), "cannot allocate memory") {
		t.Errorf("ENOMEM: %v", err)
	}
	if opErr("x", "y", nil, nil) != nil {
		t.Error("nil error wrapped")
	}
}

func TestImmutableError(t *testing.T) {
	err := error(&Error{Op: "change", Object: "ms0", Err: &immutableError{attrs: "SCI, cipher suite", err: unix.EINVAL}})
	if !errors.Is(err, ErrImmutable) || !errors.Is(err, unix.EINVAL) {
		t.Errorf("errors.Is ErrImmutable/EINVAL false for %v", err)
	}
	if !strings.Contains(err.Error(), "SCI, cipher suite: SCI, port, ICV length and cipher suite cannot change") {
		t.Errorf("message %q", err)
	}
}

// TestNilSARefused: a nil SA is an error before anything is sent, not a
// panic.
func TestNilSARefused(t *testing.T) {
	c := &Conn{rt: &nlsock{}, gn: &nlsock{}}
	sent := false
	c.gn.send = func([]byte) error { sent = true; return nil }
	c.rt.send = func([]byte) error { return unix.ENOBUFS } // ifname lookup for the message
	err := c.AddTxSA(3, nil)
	if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "no SA given") || sent {
		t.Errorf("AddTxSA(nil) = %v, sent=%v", err, sent)
	}
	y := &SecY{c: c, index: 3}
	if err := y.CreateTxSA(1, 1, nil); !errors.Is(err, unix.EINVAL) {
		t.Errorf("CreateTxSA(nil key) = %v", err)
	}
}
