package mka

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/macsec/secytest"
	"github.com/macsecd/macsecd/testenv"
)

// pipeConn is one end of an in-memory wire between two FrameConns.
type pipeConn struct {
	mac  net.HardwareAddr
	in   chan []byte
	peer *pipeConn
	once sync.Once
	done chan struct{}
}

func newPipe(a, b net.HardwareAddr) (*pipeConn, *pipeConn) {
	x := &pipeConn{mac: a, in: make(chan []byte, 64), done: make(chan struct{})}
	y := &pipeConn{mac: b, in: make(chan []byte, 64), done: make(chan struct{})}
	x.peer, y.peer = y, x
	return x, y
}

func (c *pipeConn) ReadFrame(buf []byte) (int, error) {
	select {
	case f := <-c.in:
		return copy(buf, f), nil
	case <-c.done:
		return 0, io.EOF
	}
}

func (c *pipeConn) WriteFrame(f []byte) error {
	select {
	case c.peer.in <- bytes.Clone(f):
	default: // a full wire drops, like a NIC queue
	}
	return nil
}

func (c *pipeConn) HardwareAddr() net.HardwareAddr { return c.mac }
func (c *pipeConn) Close()                         { c.once.Do(func() { close(c.done) }) }

// TestRunRealTime secures two KaYs driven by Run over an in-memory wire in
// real time, and checks that neither the logs nor the JSON status contain
// a key.
func TestRunRealTime(t *testing.T) {
	cfgA, cfgB := baseConfig(0), baseConfig(1)
	ca, cb := newPipe(cfgA.SCI.MAC(), cfgB.SCI.MAC())
	var logs testenv.LogBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ra, rb := secytest.New(cfgA.SCI), secytest.New(cfgB.SCI)
	var keysSeen [][]byte
	var mu sync.Mutex
	ra.OnKey = func(_ secytest.Op, _ macsec.SCI, _ macsec.AN, key *macsec.SAK) {
		mu.Lock()
		keysSeen = append(keysSeen, bytes.Clone(key.Key))
		mu.Unlock()
	}
	ka, err := New(cfgA, ra, ConnTransport(ca), rand.Reader, log)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := New(cfgB, rb, ConnTransport(cb), rand.Reader, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	go func() { errs <- ka.Run(ctx, ca) }()
	go func() { errs <- kb.Run(ctx, cb) }()
	deadline := time.Now().Add(5 * time.Second)
	for !(ka.Status().Secured && kb.Status().Secured) {
		if time.Now().After(deadline) {
			t.Fatalf("not secured in 5 s of real time: %+v", ka.Status())
		}
		time.Sleep(5 * time.Millisecond) // polling a real-time run, not timing it
	}
	st := ka.Status()
	js, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"secured":true`, `"key_server"`, `"current_sa"`, `"key_id"`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("status JSON lacks %s: %s", want, js)
		}
	}
	cancel()
	ca.Close()
	cb.Close()
	for range 2 {
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	}
	// Stop zeroed and deleted everything.
	if _, ok := ra.EncodingSA(); ok {
		t.Error("a still has an encoding SA after Run returned")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(keysSeen) == 0 {
		t.Fatal("no key installed")
	}
	for _, key := range keysSeen {
		for _, enc := range []string{hex.EncodeToString(key), strings.ToUpper(hex.EncodeToString(key))} {
			if strings.Contains(logs.String(), enc) || strings.Contains(string(js), enc) {
				t.Fatal("a SAK appears in the logs or the status")
			}
		}
	}
	for _, cak := range [][]byte{testCAK} {
		if strings.Contains(logs.String(), hex.EncodeToString(cak)) {
			t.Fatal("the CAK appears in the logs")
		}
	}
	for _, ev := range []string{"peer live", "key server elected", "SAK distributed", "SAK installed", "secured"} {
		if !strings.Contains(logs.String(), `"msg":"`+ev+`"`) {
			t.Errorf("no %q log line", ev)
		}
	}
}
