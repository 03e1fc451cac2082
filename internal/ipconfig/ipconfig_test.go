package ipconfig_test

import (
	"strings"
	"testing"

	"github.com/macsecd/macsecd/internal/ipconfig"
	"github.com/macsecd/macsecd/testenv"
)

// TestTakeRestore saves the configuration of an interface, deletes it,
// creates one of the same name and checks that Restore brings back the
// addresses and the static route, and nothing the kernel makes by itself.
func TestTakeRestore(t *testing.T) {
	testenv.RequireRoot(t)
	lab := testenv.New(t)
	a, b := lab.Host("a"), lab.Host("b")
	newLink := func() {
		t.Helper()
		lab.Veth(a, "sec0", b, "peer0")
	}
	newLink()
	a.Run(t, "ip", "addr", "add", "10.61.0.1/24", "dev", "sec0")
	a.Run(t, "ip", "addr", "add", "fd00:61::1/64", "dev", "sec0", "nodad")
	a.Run(t, "ip", "route", "add", "10.62.0.0/16", "via", "10.61.0.2", "dev", "sec0")
	var s ipconfig.Snapshot
	if err := a.Do(func() error { return s.Take("sec0") }); err != nil {
		t.Fatal(err)
	}
	if len(s.Addrs) != 2 || len(s.Routes) != 1 {
		t.Fatalf("snapshot: %d addresses, %d routes; want 2 and 1 (no link-local, no kernel routes):\n%+v", len(s.Addrs), len(s.Routes), s)
	}

	// A link that is down (its IPv6 addresses flushed) or gone leaves the
	// snapshot as it was.
	a.Run(t, "ip", "link", "set", "sec0", "down")
	if err := a.Do(func() error { return s.Take("sec0") }); err == nil {
		t.Error("Take of a down link succeeded")
	}
	a.Run(t, "ip", "link", "del", "sec0")
	if err := a.Do(func() error { return s.Take("sec0") }); err == nil {
		t.Error("Take of a missing link succeeded")
	}
	if len(s.Addrs) != 2 || len(s.Routes) != 1 {
		t.Fatalf("failed Take changed the snapshot: %+v", s)
	}

	newLink()
	var addrs, routes int
	if err := a.Do(func() (err error) { addrs, routes, err = s.Restore("sec0"); return err }); err != nil {
		t.Fatal(err)
	}
	if addrs != 2 || routes != 1 {
		t.Errorf("restored %d addresses and %d routes, want 2 and 1", addrs, routes)
	}
	for _, c := range []struct{ args, want string }{
		{"ip -4 addr show dev sec0", "10.61.0.1/24"},
		{"ip -6 addr show dev sec0", "fd00:61::1/64"},
		{"ip route show 10.62.0.0/16", "via 10.61.0.2 dev sec0"},
	} {
		if out := a.Run(t, strings.Fields(c.args)...); !strings.Contains(out, c.want) {
			t.Errorf("%s after Restore:\n%s\nwant %q", c.args, out, c.want)
		}
	}
	// Restoring twice is harmless.
	if err := a.Do(func() (err error) { _, _, err = s.Restore("sec0"); return err }); err != nil {
		t.Errorf("second Restore: %v", err)
	}
}
