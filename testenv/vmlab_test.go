//go:build vmlab

package testenv

// These tests prove the VM lab itself: they run inside qemu with a real
// kernel (make test-vm), use the netns helpers there, and check that kernel
// MACsec works with iproute2 static keys for every cipher suite and with
// two wpa_supplicant MKA peers. Their failure fails make test.

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

const etherTypeMACsec = 0x88e5

// TestLabKernel checks the guest environment the lab promises: the kernel
// name, netlink, the tools on PATH, and kernel MACsec.
func TestLabKernel(t *testing.T) {
	k := LabKernel(t)
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatalf("netlink link list: %v", err)
	}
	var names []string
	for _, l := range links {
		names = append(names, l.Attrs().Name)
	}
	if !strings.Contains(" "+strings.Join(names, " ")+" ", " lo ") {
		t.Errorf("links %v: no lo", names)
	}
	var uts unix.Utsname
	unix.Uname(&uts)
	t.Logf("lab kernel %s: %s, links %v", k, unix.ByteSliceToString(uts.Release[:]), names)
	for _, tool := range []string{"ip", "wpa_supplicant", "wpa_cli", "tcpdump", "ethtool", "modprobe", "ping"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Errorf("%s not on PATH: %v", tool, err)
		}
	}
	lab := New(t)
	a := lab.Host("a")
	lab.Veth(a, "eth0", lab.Host("b"), "eth0")
	a.Run(t, "ip", "link", "add", "link", "eth0", "macsec0", "type", "macsec")
	out := a.Run(t, "ip", "-d", "link", "show", "macsec0")
	if !strings.Contains(out, "macsec") {
		t.Errorf("macsec0 is not a macsec link:\n%s", out)
	}
}

// suite is one MACsec cipher suite as iproute2 names it.
type suite struct {
	name   string
	keyLen int
	xpn    bool
}

var suites = []suite{
	{"gcm-aes-128", 16, false},
	{"gcm-aes-256", 32, false},
	{"gcm-aes-xpn-128", 16, true},
	{"gcm-aes-xpn-256", 32, true},
}

// TestStaticKeys secures a veth with kernel MACsec and static keys for each
// cipher suite, pings across, and checks on the wire that only encrypted
// MACsec frames pass (a pcap of each goes to $MACSECD_LAB_OUT).
func TestStaticKeys(t *testing.T) {
	LabKernel(t)
	for _, s := range suites {
		t.Run(s.name, func(t *testing.T) {
			lab := New(t)
			a, b := lab.Host("a"), lab.Host("b")
			macA := net.HardwareAddr{0x02, 0, 0, 0, 0xa0, 0x01}
			macB := net.HardwareAddr{0x02, 0, 0, 0, 0xb0, 0x01}
			lab.VethMAC(a, "eth0", macA, b, "eth0", macB)
			keyA := strings.Repeat("a1", s.keyLen)
			keyB := strings.Repeat("b2", s.keyLen)
			salt := "0102030405060708090a0b0c"
			pn := func(ssci string) []string {
				if s.xpn {
					return []string{"xpn", "1", "ssci", ssci, "salt", salt}
				}
				return []string{"pn", "1"}
			}
			setup := func(h *Host, addr, myKey string, mySSCI string, peer net.HardwareAddr, peerKey, peerSSCI string) {
				h.Run(t, "ip", "link", "add", "link", "eth0", "macsec0", "type", "macsec",
					"port", "1", "encrypt", "on", "cipher", s.name)
				h.Run(t, append(append([]string{"ip", "macsec", "add", "macsec0", "tx", "sa", "0"}, pn(mySSCI)...),
					"on", "key", "01", myKey)...)
				h.Run(t, "ip", "macsec", "add", "macsec0", "rx", "port", "1", "address", peer.String())
				h.Run(t, append(append([]string{"ip", "macsec", "add", "macsec0", "rx", "port", "1",
					"address", peer.String(), "sa", "0"}, pn(peerSSCI)...), "on", "key", "02", peerKey)...)
				h.Run(t, "ip", "addr", "add", addr, "dev", "macsec0")
				h.Run(t, "ip", "link", "set", "macsec0", "up")
			}
			setup(a, "10.1.0.1/24", keyA, "1", macB, keyB, "2")
			setup(b, "10.1.0.2/24", keyB, "2", macA, keyA, "1")

			dir, _ := LabOut(t)
			pcap := b.Capture(t, "eth0", filepath.Join(dir, "static-"+s.name+".pcap"))
			wire := sniff(t, b, "eth0")
			a.Run(t, "ping", "-c", "2", "-W", "10", "10.1.0.2")
			frames := wire()
			if err := pcap.Stop(); err != nil {
				t.Error(err)
			}

			var secured int
			for _, f := range frames {
				if len(f) < 14 {
					continue
				}
				switch et := binary.BigEndian.Uint16(f[12:14]); et {
				case etherTypeMACsec:
					secured++
					if tci := f[14]; tci&0x0c != 0x0c {
						t.Errorf("SecTAG TCI %#02x: E and C bits not both set (encrypt on)", tci)
					}
					if bytes.Contains(f[16:], net.IPv4(10, 1, 0, 1).To4()) {
						t.Errorf("plaintext address visible in a MACsec frame: % x", f)
					}
				case 0x86dd: // the kernel's own IPv6 on eth0 (DAD, RS) is not ours
				default:
					t.Errorf("unprotected frame with EtherType %#04x on the wire", et)
				}
			}
			if secured < 4 {
				t.Errorf("saw %d MACsec frames on eth0, want at least 4 (2 pings and replies)", secured)
			}
			out := a.Run(t, "ip", "macsec", "show", "macsec0")
			if !strings.Contains(strings.ToLower(out), strings.ToLower(s.name)) {
				t.Errorf("ip macsec show does not name cipher %s:\n%s", s.name, out)
			}
			if strings.Contains(out, keyA) {
				t.Error("ip macsec show printed key bytes")
			}
		})
	}
}

// sniff records every frame on ifname in h until the returned function is
// called, which returns them.
func sniff(t *testing.T, h *Host, ifname string) func() [][]byte {
	t.Helper()
	var c *packet.Conn
	err := h.Do(func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		c, err = packet.Listen(ifi, packet.Raw, unix.ETH_P_ALL, nil)
		return err
	})
	if err != nil {
		t.Fatalf("sniff %s in %s: %v", ifname, h.Name, err)
	}
	var (
		mu     sync.Mutex
		frames [][]byte
		done   = make(chan struct{})
	)
	go func() {
		defer close(done)
		buf := make([]byte, 9000)
		for {
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			mu.Lock()
			frames = append(frames, append([]byte(nil), buf[:n]...))
			mu.Unlock()
		}
	}()
	return func() [][]byte {
		time.Sleep(200 * time.Millisecond) // let the last replies arrive
		c.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return frames
	}
}

// TestWPASupplicantMKA has two wpa_supplicant 2.10 instances agree on keys
// with MKA over a veth, and pings across the kernel SecYs they program.
func TestWPASupplicantMKA(t *testing.T) {
	LabKernel(t)
	lab := New(t)
	a, b := lab.Host("a"), lab.Host("b")
	lab.Veth(a, "eth0", b, "eth0")
	dir, _ := LabOut(t)
	pcap := b.Capture(t, "eth0", filepath.Join(dir, "mka-wpa_supplicant.pcap"))
	cak, _ := hex.DecodeString("0123456789abcdef0123456789abcdef")
	ckn, _ := hex.DecodeString("6162636465666768696a6b6c6d6e6f707172737475767778797a303132333435")
	for i, h := range []*Host{a, b} {
		WPASupplicant{CAK: cak, CKN: ckn, Priority: 10 + i}.Start(t, h, "eth0")
	}

	// wpa_supplicant creates the macsec link once MKA has a live peer;
	// address it as soon as it exists, then wait for traffic to pass.
	for i, h := range []*Host{a, b} {
		dev := waitMACsecLink(t, h, 90*time.Second)
		h.Run(t, "ip", "addr", "add", fmt.Sprintf("10.2.0.%d/24", i+1), "dev", dev)
		h.Run(t, "ip", "link", "set", dev, "up")
	}
	start := time.Now()
	for {
		out, err := a.Command("ping", "-c", "1", "-W", "2", "10.2.0.2").CombinedOutput()
		if err == nil {
			t.Logf("MKA secured the link; ping passed after %s", time.Since(start).Round(time.Millisecond))
			break
		}
		if time.Since(start) > 90*time.Second {
			t.Fatalf("no ping across the MKA-secured link after 90s: %s\n%s", out, a.Run(t, "ip", "macsec", "show"))
		}
		time.Sleep(500 * time.Millisecond)
	}
	frames, err := pcap.Frames()
	if err != nil {
		t.Fatal(err)
	}
	var mkpdus, secured int
	for _, f := range frames {
		if len(f) < 14 {
			continue
		}
		switch binary.BigEndian.Uint16(f[12:14]) {
		case 0x888e:
			mkpdus++
		case etherTypeMACsec:
			secured++
		}
	}
	if mkpdus == 0 || secured == 0 {
		t.Errorf("capture has %d EAPOL and %d MACsec frames; want both", mkpdus, secured)
	}
	out := a.Run(t, "ip", "macsec", "show")
	if !strings.Contains(out, "GCM-AES-128") || !strings.Contains(out, "state on") {
		t.Errorf("wpa_supplicant's SecY is not a running GCM-AES-128 one:\n%s", out)
	}
}

// waitMACsecLink returns the name of the first macsec link in h.
func waitMACsecLink(t *testing.T, h *Host, within time.Duration) string {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		links, err := h.Netlink().LinkList()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range links {
			if l.Type() == "macsec" {
				return l.Attrs().Name
			}
		}
	}
	t.Fatalf("no macsec link in %s after %s: wpa_supplicant did not create one", h.Name, within)
	return ""
}

// TestNetdevsimOffload checks the custom kernel's netdevsim: a new device
// offers MACsec offload and accepts an offloaded SecY.
func TestNetdevsimOffload(t *testing.T) {
	if k := LabKernel(t); k != "custom" {
		t.Skipf("netdevsim is only in the custom kernel, not %s", k)
	}
	const id = "7"
	if err := os.WriteFile("/sys/bus/netdevsim/new_device", []byte(id+" 1"), 0); err != nil {
		t.Fatalf("create netdevsim device: %v", err)
	}
	t.Cleanup(func() { os.WriteFile("/sys/bus/netdevsim/del_device", []byte(id), 0) })
	var dev string
	for i := 0; i < 100 && dev == ""; i++ {
		ents, _ := os.ReadDir("/sys/bus/netdevsim/devices/netdevsim" + id + "/net")
		if len(ents) > 0 {
			dev = ents[0].Name()
		}
		time.Sleep(50 * time.Millisecond)
	}
	if dev == "" {
		t.Fatal("netdevsim device has no network interface")
	}
	out, err := exec.Command("ethtool", "-k", dev).CombinedOutput()
	if err != nil {
		t.Fatalf("ethtool -k %s: %v\n%s", dev, err, out)
	}
	if !strings.Contains(string(out), "macsec-hw-offload: on") {
		t.Fatalf("%s does not offer MACsec offload:\n%s", dev, out)
	}
	out, err = exec.Command("ip", "link", "add", "link", dev, "msoff0", "type", "macsec", "offload", "mac").CombinedOutput()
	if err != nil {
		t.Fatalf("offloaded SecY on %s: %v\n%s", dev, err, out)
	}
	defer exec.Command("ip", "link", "del", "msoff0").Run()
	out, _ = exec.Command("ip", "-d", "link", "show", "msoff0").CombinedOutput()
	if !strings.Contains(string(out), "offload mac") {
		t.Errorf("msoff0 is not offloaded:\n%s", out)
	}
}
