package mka

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/macsec/secytest"
	"github.com/macsecd/macsecd/mka/eapol"
	"github.com/macsecd/macsecd/mka/mkpdu"
	"github.com/macsecd/macsecd/testenv"
)

// labKaY runs a KaY with a recording SecY over a real EAPOL socket on eth0
// of h, in real time, until the test ends.
func labKaY(t *testing.T, h *testenv.Host, cfg Config) (*KaY, *secytest.Recorder) {
	t.Helper()
	if cfg.EtherType == 0 {
		cfg.EtherType = mkpdu.EtherTypeEAPOL
	}
	var conn *eapol.Conn
	if err := h.Do(func() (err error) {
		conn, err = eapol.Listen("eth0", cfg.EtherType, []net.HardwareAddr{mkpdu.PAEGroupAddress})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if cfg.SCI == (macsec.SCI{}) {
		cfg.SCI = macsec.MakeSCI(conn.HardwareAddr(), 1)
	}
	rec := secytest.New(cfg.SCI)
	log := slog.New(slog.NewTextHandler(tLog{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	k, err := New(cfg, rec, ConnTransport(conn), rand.Reader, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- k.Run(ctx, conn) }()
	t.Cleanup(func() {
		cancel()
		conn.Close()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	})
	return k, rec
}

// tLog sends log lines to the test log (shown on failure or with -v).
type tLog struct{ t *testing.T }

func (w tLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// waitFor polls a real-time condition (this is not a timing assertion).
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v", what, d)
		}
	}
}

// TestNetnsTwoKaYs secures a veth between two network namespaces with two
// KaYs over real EAPOL sockets (the SecYs are recorders: this host kernel
// has no MACsec), on the default and on the WAN EtherType.
func TestNetnsTwoKaYs(t *testing.T) {
	testenv.RequireRoot(t)
	for _, et := range []uint16{mkpdu.EtherTypeEAPOL, mkpdu.EtherTypeWANEAPOL} {
		lab := testenv.New(t)
		a, b := lab.Host("a"), lab.Host("b")
		lab.Veth(a, "eth0", b, "eth0")
		cfg := Config{Keys: []Key{{CKN: testCKN, CAK: testCAK}}, Priority: 16, EtherType: et, Policy: MustSecure}
		ka, ra := labKaY(t, a, cfg)
		kb, rb := labKaY(t, b, cfg)
		waitFor(t, 10*time.Second, "secured", func() bool { return ka.Status().Secured && kb.Status().Secured })
		ida, _ := ra.TxKeyID()
		idb, _ := rb.TxKeyID()
		if ida != idb {
			t.Errorf("EtherType %#x: transmit keys differ: %s, %s", et, ida, idb)
		}
		if !ra.PortEnabled() || !rb.PortEnabled() {
			t.Errorf("EtherType %#x: controlled ports not enabled once secured", et)
		}
	}
}
