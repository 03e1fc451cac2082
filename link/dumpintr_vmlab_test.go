//go:build vmlab

package link

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/testenv"
)

// TestDumpInterruptedRetry dumps many SecYs (a multi-part dump) while
// another Conn creates and deletes a SecY: the kernel flags the dumps it
// interrupts (NLM_F_DUMP_INTR), Dump retries them, and every result is a
// consistent snapshot.
func TestDumpInterruptedRetry(t *testing.T) {
	lab := testenv.New(t)
	h := lab.Host("d")
	peer := lab.Host("peer")
	lab.Veth(h, "eth0", peer, "eth0")
	c := dialIn(t, h)
	const n = 64
	cs := macsec.GCMAES128
	for i := 0; i < n; i++ {
		l, err := c.CreateLink(LinkConfig{Name: fmt.Sprintf("d%d", i), Parent: "eth0", Port: uint16(i + 1),
			Settings: Settings{CipherSuite: cs, Protect: true, IncludeSCI: true, Validate: macsec.ValidateStrict}})
		if err != nil {
			t.Fatal(err)
		}
		// SAs make each SecY's message larger, so the dump spans parts.
		for an := macsec.AN(0); an <= macsec.MaxAN; an++ {
			if err := c.AddTxSA(l.Index, &SA{AN: an, PN: 1, Key: fxKey(cs, byte(an)), KeyID: fxKeyID(byte(an))}); err != nil {
				t.Fatal(err)
			}
		}
	}
	churn := dialIn(t, h)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			l, err := churn.CreateLink(LinkConfig{Name: "churn", Parent: "eth0", Port: 1000,
				Settings: Settings{CipherSuite: cs, Protect: true, IncludeSCI: true}})
			if err != nil {
				t.Errorf("churn create: %v", err)
				return
			}
			time.Sleep(time.Millisecond)
			if err := churn.DeleteLink(l.Index); err != nil {
				t.Errorf("churn delete: %v", err)
				return
			}
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	dumps := 0
	for time.Now().Before(deadline) {
		states, err := c.Dump()
		if err == ErrDumpInterrupted {
			continue // every retry was interrupted: allowed under this churn
		}
		if err != nil {
			t.Fatal(err)
		}
		dumps++
		seen := map[int]bool{}
		for _, st := range states {
			if seen[st.Index] {
				t.Fatalf("ifindex %d twice in one dump", st.Index)
			}
			seen[st.Index] = true
		}
		if len(states) != n && len(states) != n+1 {
			t.Fatalf("dump of %d SecYs, want %d or %d", len(states), n, n+1)
		}
		c.mu.Lock()
		retried := c.dumpsInterrupted
		c.mu.Unlock()
		if retried > 0 && dumps >= 20 {
			break
		}
	}
	close(stop)
	wg.Wait()
	c.mu.Lock()
	retried := c.dumpsInterrupted
	c.mu.Unlock()
	t.Logf("%d consistent dumps, %d interrupted dumps retried", dumps, retried)
	if retried == 0 {
		t.Fatal("the kernel flagged no dump as interrupted: the retry was not exercised")
	}
	if dumps == 0 {
		t.Fatal("no dump completed")
	}
}
