package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// addAddr gives h's ifname the address cidr.
func addAddr(t *testing.T, h *Host, ifname, cidr string) {
	t.Helper()
	link, err := h.Netlink().LinkByName(ifname)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := netlink.ParseAddr(cidr)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Netlink().AddrAdd(link, addr); err != nil {
		t.Fatalf("addr add %s on %s: %v", cidr, h.Name, err)
	}
}

func ping(t *testing.T, h *Host, dst string) {
	t.Helper()
	out, err := h.Command("ping", "-c", "1", "-W", "5", dst).CombinedOutput()
	if err != nil {
		t.Fatalf("ping %s from %s: %v\n%s", dst, h.Name, err, out)
	}
}

func TestVethMACAndPing(t *testing.T) {
	lab := New(t)
	a, b := lab.Host("a"), lab.Host("b")
	macA := net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0a}
	macB := net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0b}
	lab.VethMAC(a, "eth0", macA, b, "eth0", macB)
	addAddr(t, a, "eth0", "10.0.0.1/24")
	addAddr(t, b, "eth0", "10.0.0.2/24")

	for _, c := range []struct {
		h   *Host
		mac net.HardwareAddr
	}{{a, macA}, {b, macB}} {
		err := c.h.Do(func() error {
			ifi, err := net.InterfaceByName("eth0")
			if err != nil {
				return err
			}
			if !bytes.Equal(ifi.HardwareAddr, c.mac) {
				return fmt.Errorf("eth0 MAC %s, want %s", ifi.HardwareAddr, c.mac)
			}
			if ifi.Flags&net.FlagUp == 0 {
				return errors.New("eth0 is down")
			}
			return nil
		})
		if err != nil {
			t.Errorf("%s: %v", c.h.Name, err)
		}
	}
	ping(t, a, "10.0.0.2")
}

func TestDoRestoresNamespace(t *testing.T) {
	lab := New(t)
	a := lab.Host("a")
	before, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer before.Close()
	var inside bool
	err = a.Do(func() error {
		cur, err := netns.Get()
		if err != nil {
			return err
		}
		defer cur.Close()
		inside = cur.Equal(a.NsHandle())
		return errors.New("fn error")
	})
	if err == nil || err.Error() != "fn error" {
		t.Errorf("Do returned %v, want fn's error", err)
	}
	if !inside {
		t.Error("fn did not run in the host's namespace")
	}
	after, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer after.Close()
	if !after.Equal(before) {
		t.Error("Do left the thread in another namespace")
	}
}

// TestBridgeForwardsPAE checks that three hosts on one bridge reach each
// other, including frames to the PAE group address that MKA uses.
func TestBridgeForwardsPAE(t *testing.T) {
	lab := New(t)
	hosts := []*Host{lab.Host("a"), lab.Host("b"), lab.Host("c")}
	lab.Bridge("eth0", hosts...)
	for i, h := range hosts {
		addAddr(t, h, "eth0", fmt.Sprintf("10.0.1.%d/24", i+1))
	}
	ping(t, hosts[0], "10.0.1.3")

	listen := func(h *Host) *packet.Conn {
		var c *packet.Conn
		err := h.Do(func() error {
			ifi, err := net.InterfaceByName("eth0")
			if err != nil {
				return err
			}
			c, err = packet.Listen(ifi, packet.Raw, 0x888e, nil)
			return err
		})
		if err != nil {
			t.Fatalf("listen in %s: %v", h.Name, err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	tx, rx := listen(hosts[0]), listen(hosts[2])
	pae := net.HardwareAddr{0x01, 0x80, 0xc2, 0, 0, 0x03}
	frame := append(append(append([]byte{}, pae...), 2, 0, 0, 0, 0, 1), 0x88, 0x8e, 3, 5, 0, 0)
	frame = append(frame, make([]byte, 60-len(frame))...)
	if _, err := tx.WriteTo(frame, &packet.Addr{HardwareAddr: pae}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1514)
	for {
		if err := rx.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		n, _, err := rx.ReadFrom(buf)
		if err != nil {
			t.Fatalf("EAPOL frame to %s not forwarded by the bridge: %v", pae, err)
		}
		if bytes.Equal(buf[:n], frame) {
			return
		}
	}
}

// TestCleanupKillsAndRemoves checks that a lab's namespaces and the
// processes left in them are gone when its test ends.
func TestCleanupKillsAndRemoves(t *testing.T) {
	RequireRoot(t)
	var name string
	var cmd *exec.Cmd
	t.Run("lab", func(t *testing.T) {
		a := New(t).Host("a")
		name = a.Name
		cmd = a.Command("sleep", "1000")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
	})
	if cmd == nil || cmd.Process == nil {
		t.Fatal("lab subtest failed before starting its process")
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("process in the namespace exited cleanly; want killed")
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Error("process in the namespace survived cleanup")
	}
	if _, err := os.Stat(filepath.Join(netnsDir, name)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("namespace %s still exists after cleanup (stat: %v)", name, err)
	}
}

// TestStaleSweep plants the namespace of a dead test process, with a
// process still running inside, and checks that the sweep removes both
// while leaving this process's own namespaces alone.
func TestStaleSweep(t *testing.T) {
	lab := New(t)
	mine := lab.Host("mine")

	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stale := fmt.Sprintf("%s%d-1-x", nsPrefix, dead.Process.Pid)
	ns, err := newNamedNS(stale)
	if err != nil {
		t.Fatal(err)
	}
	ns.Close()
	t.Cleanup(func() { removeNS(stale) })
	sleeper := exec.Command("ip", "netns", "exec", stale, "sleep", "1000")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sleeper.Wait() }()
	// ip netns exec execs sleep in place; wait until it has.
	for i := 0; ; i++ {
		if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", sleeper.Process.Pid)); string(comm) == "sleep\n" {
			break
		}
		if i == 500 {
			t.Fatal("sleep did not start in the stale namespace")
		}
		time.Sleep(10 * time.Millisecond)
	}

	removeStale()
	if _, err := os.Stat(filepath.Join(netnsDir, stale)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale namespace %s survived the sweep", stale)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		sleeper.Process.Kill()
		t.Error("process in the stale namespace survived the sweep")
	}
	if _, err := os.Stat(filepath.Join(netnsDir, mine.Name)); err != nil {
		t.Errorf("sweep removed a live process's namespace: %v", err)
	}
}
