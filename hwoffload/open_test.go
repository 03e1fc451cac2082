package hwoffload

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/macsecd/macsecd/link"
	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/macsec/secytest"
	"golang.org/x/sys/unix"
)

func TestOpenFallsBack(t *testing.T) {
	d := Choose(capsFrom("MPKU"), Auto)
	var tried []string
	refuse := map[string]error{
		"offload (mac)": unix.ENOSPC,
		"offload (phy)": unix.EOPNOTSUPP,
	}
	var logBuf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logBuf, nil))
	want := secytest.New(macsec.SCI{})
	y, c, err := Open(d, func(c Choice) (macsec.SecY, error) {
		tried = append(tried, c.String())
		if err := refuse[c.String()]; err != nil {
			return nil, err
		}
		return want, nil
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	if y != want || c.Backend != Kernel {
		t.Fatalf("got %v %+v, want the kernel SecY", y, c)
	}
	if got := strings.Join(tried, ","); got != "offload (mac),offload (phy),kernel" {
		t.Errorf("tried %s", got)
	}
	for _, s := range []string{"fallback: software kernel MACsec (kernwhy-yes)", "offload (mac) refused: no space left on device", "offload (phy) refused: operation not supported"} {
		if !strings.Contains(c.Reason, s) {
			t.Errorf("reason %q lacks %q", c.Reason, s)
		}
	}
	logs := logBuf.String()
	if n := strings.Count(logs, "SecY backend refused"); n != 2 {
		t.Errorf("%d refusals logged, want 2:\n%s", n, logs)
	}
	if !strings.Contains(logs, `backend="offload (mac)"`) || !strings.Contains(logs, "no space left on device") {
		t.Errorf("log lacks the mac refusal:\n%s", logs)
	}
}

func TestOpenFirstChoiceKeepsReason(t *testing.T) {
	d := Choose(capsFrom("M.KU"), Auto)
	_, c, err := Open(d, func(Choice) (macsec.SecY, error) { return secytest.New(macsec.SCI{}), nil }, nil)
	if err != nil || c.Reason != d.Reason {
		t.Errorf("Open = %+v, %v; want the first choice unchanged", c, err)
	}
}

func TestOpenAllRefused(t *testing.T) {
	d := Choose(capsFrom("M.K."), Auto)
	_, _, err := Open(d, func(c Choice) (macsec.SecY, error) { return nil, unix.ENOSPC }, nil)
	if !errors.Is(err, ErrNoBackend) || !errors.Is(err, unix.ENOSPC) {
		t.Fatalf("err %v: want ErrNoBackend wrapping ENOSPC", err)
	}
	if !strings.Contains(err.Error(), "offload (mac)") || !strings.Contains(err.Error(), "kernel") {
		t.Errorf("err %q does not name both refusals", err)
	}
}

// TestOpenExplicitOffloadNoSoftware: backend = offload never falls back to
// software, even when the offload refuses.
func TestOpenExplicitOffloadNoSoftware(t *testing.T) {
	d := Choose(capsFrom("M.KU"), Offload)
	var tried []string
	_, _, err := Open(d, func(c Choice) (macsec.SecY, error) {
		tried = append(tried, c.String())
		return nil, unix.ENOSPC
	}, nil)
	if err == nil || len(tried) != 1 || tried[0] != "offload (mac)" {
		t.Errorf("tried %v, err %v; want only offload (mac) and an error", tried, err)
	}
}

func TestOpenDecisionError(t *testing.T) {
	d := Choose(capsFrom("...."), Auto)
	called := false
	_, _, err := Open(d, func(Choice) (macsec.SecY, error) { called = true; return nil, nil }, nil)
	if err != d.Err || called {
		t.Errorf("err %v called %v; want the decision's error without trying", err, called)
	}
}

// TestKernelOpenerUserspace: the userspace choice goes to the caller's
// function, and without one it is an error rather than a nil SecY.
func TestKernelOpenerUserspace(t *testing.T) {
	want := secytest.New(macsec.SCI{})
	open := KernelOpener(nil, link.Config{}, func() (macsec.SecY, error) { return want, nil })
	if y, err := open(Choice{Backend: Userspace}); err != nil || y != want {
		t.Errorf("userspace: %v, %v", y, err)
	}
	open = KernelOpener(nil, link.Config{}, nil)
	if y, err := open(Choice{Backend: Userspace}); err == nil || y != nil {
		t.Errorf("userspace without opener: %v, %v; want an error", y, err)
	}
}
