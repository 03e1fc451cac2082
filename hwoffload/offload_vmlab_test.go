//go:build vmlab

package hwoffload

// These tests run inside the VM lab. On the custom kernel they drive
// netdevsim, the one MACsec offload that runs without hardware (limits from
// drivers/net/netdevsim/netdevsim.h: 3 offloaded SecYs per device, 1 RX SC
// per SecY); on every kernel they check that a veth, which offloads
// nothing, gets software kernel MACsec with the reason. Nothing here skips
// inside the lab: a missing feature is a failure.

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/macsecd/macsecd/link"
	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/testenv"
	"golang.org/x/sys/unix"
)

// requireCustom fails unless the custom (netdevsim) kernel runs; the suites
// file runs the netdevsim tests only there.
func requireCustom(t *testing.T) {
	t.Helper()
	if k := testenv.LabKernel(t); k != "custom" {
		t.Fatalf("netdevsim tests need the custom lab kernel, running %s: fix testenv/lab/suites", k)
	}
}

// nsimID numbers netdevsim devices; other packages' tests use low IDs.
var nsimID atomic.Uint32

func init() { nsimID.Store(40) }

// newNetdevsim creates a one-port netdevsim device in h's namespace and
// returns its interface name. The bus creates the port in the namespace of
// the writing thread, so the write happens inside h.Do.
func newNetdevsim(t *testing.T, h *testenv.Host) string {
	t.Helper()
	id := fmt.Sprint(nsimID.Add(1))
	var dev string
	err := h.Do(func() error {
		if err := os.WriteFile("/sys/bus/netdevsim/new_device", []byte(id+" 1"), 0); err != nil {
			return fmt.Errorf("create netdevsim device %s: %w", id, err)
		}
		t.Cleanup(func() {
			if err := os.WriteFile("/sys/bus/netdevsim/del_device", []byte(id), 0); err != nil {
				t.Errorf("delete netdevsim device %s: %v", id, err)
			}
		})
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			links, err := h.Netlink().LinkList()
			if err != nil {
				return err
			}
			for _, l := range links {
				if DriverName(l.Attrs().Name) == "netdevsim" {
					dev = l.Attrs().Name
					return h.Netlink().LinkSetUp(l)
				}
			}
		}
		return fmt.Errorf("netdevsim device %s has no interface in %s", id, h.Name)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dev
}

// dialIn opens a link.Conn whose sockets live in h's namespace.
func dialIn(t *testing.T, h *testenv.Host) *link.Conn {
	t.Helper()
	var c *link.Conn
	if err := h.Do(func() (err error) { c, err = link.Dial(); return err }); err != nil {
		t.Fatalf("link.Dial in %s: %v", h.Name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// newIn runs New in h's namespace, where it reads the parent's driver.
func newIn(h *testenv.Host, conn *link.Conn, cfg link.Config) (y *SecY, err error) {
	if derr := h.Do(func() error { y, err = New(conn, cfg); return nil }); derr != nil {
		return nil, derr
	}
	return y, err
}

// probe gathers the capabilities of parent in h as the daemon would: the
// offload probes of this package, kernel MACsec from the Conn, and no
// userspace data plane (it is not under test here).
func probe(t *testing.T, h *testenv.Host, conn *link.Conn, parent string) Capabilities {
	t.Helper()
	c := Capabilities{Kernel: true, KernelWhy: "generic netlink family macsec resolved", UserspaceWhy: "not offered by this test"}
	if err := h.Do(func() error { c.ProbeOffload(conn, parent); return nil }); err != nil {
		t.Fatal(err)
	}
	return c
}

var (
	peerSCI = macsec.MakeSCI([]byte{0x02, 0, 0, 0, 0xbb, 0x01}, 1)
	otherSC = macsec.MakeSCI([]byte{0x02, 0, 0, 0, 0xcc, 0x01}, 1)
	policy  = macsec.Policy{
		CipherSuite:     macsec.GCMAES128,
		Confidentiality: macsec.ConfidentialityOffset0,
		ProtectFrames:   true,
		Validate:        macsec.ValidateStrict,
		IncludeSCI:      true,
	}
)

func sak(b byte) *macsec.SAK {
	k := &macsec.SAK{Key: bytes.Repeat([]byte{b}, 16)}
	for i := range k.ID {
		k.ID[i] = b ^ byte(i)
	}
	return k
}

// TestNetdevsimDetect: the MAC offload flag is read as ethtool shows it,
// the PHY probe is refused (netdevsim has no PHY) without leaving its
// scratch interface, and auto picks MAC offload.
func TestNetdevsimDetect(t *testing.T) {
	requireCustom(t)
	lab := testenv.New(t)
	a := lab.Host("a")
	dev := newNetdevsim(t, a)
	conn := dialIn(t, a)

	var f *Features
	var raw []byte
	err := a.Do(func() (err error) {
		if raw, err = readFeaturesReply(dev); err != nil {
			return err
		}
		f, err = ReadFeatures(dev)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !f.On(FeatureMACsecOffload) || !f.Fixed(FeatureMACsecOffload) {
		t.Errorf("%s on %s: on=%v fixed=%v, want on [fixed]", FeatureMACsecOffload, dev, f.On(FeatureMACsecOffload), f.Fixed(FeatureMACsecOffload))
	}
	// Record the reply for the host unit tests.
	if out, inLab := testenv.LabOut(t); inLab {
		var uts unix.Utsname
		unix.Uname(&uts)
		name := filepath.Join(out, "features-netdevsim-"+unix.ByteSliceToString(uts.Release[:])+".hex")
		if err := os.WriteFile(name, []byte(hex.EncodeToString(raw)+"\n"), 0o644); err != nil {
			t.Error(err)
		}
	}

	// Every feature ethtool -k prints by the kernel's name agrees with ours.
	ek := a.Run(t, "ethtool", "-k", dev)
	line := regexp.MustCompile(`(?m)^\s*([a-z0-9_-]+): (on|off)( \[fixed\])?$`)
	compared := 0
	for _, m := range line.FindAllStringSubmatch(ek, -1) {
		name, on, fixed := m[1], m[2] == "on", m[3] != ""
		if _, known := f.Changeable[name]; !known {
			continue // ethtool's legacy group names ("tcp-segmentation-offload")
		}
		compared++
		if f.On(name) != on || f.Fixed(name) != fixed {
			t.Errorf("%s: ethtool -k says on=%v fixed=%v, ReadFeatures on=%v fixed=%v", name, on, fixed, f.On(name), f.Fixed(name))
		}
	}
	if compared < 30 {
		t.Errorf("compared only %d features with ethtool -k:\n%s", compared, ek)
	}

	caps := probe(t, a, conn, dev)
	if !caps.MAC || caps.MACWhy != "ethtool feature macsec-hw-offload is on [fixed] on "+dev {
		t.Errorf("MAC probe: %v, %q", caps.MAC, caps.MACWhy)
	}
	if caps.PHY || !strings.Contains(caps.PHYWhy, "EOPNOTSUPP") {
		t.Errorf("PHY probe: %v, %q; want refused with EOPNOTSUPP", caps.PHY, caps.PHYWhy)
	}
	if out := a.Run(t, "ip", "-o", "link", "show"); strings.Contains(out, "msprobe") {
		t.Errorf("the PHY probe left its scratch interface:\n%s", out)
	}
	if err := a.Do(func() error {
		if d := DriverName(dev); d != "netdevsim" {
			t.Errorf("DriverName(%s) = %q", dev, d)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	d := Choose(caps, Auto)
	if d.Err != nil || d.Backend != Offload || d.Offload != link.OffloadMAC {
		t.Fatalf("Choose(auto) = %+v, want MAC offload", d)
	}
	if len(d.Fallbacks) != 1 || d.Fallbacks[0].Backend != Kernel {
		t.Errorf("fallbacks %+v, want software kernel MACsec", d.Fallbacks)
	}
	t.Logf("auto on %s: %s", dev, d.Reason)
}

// TestNetdevsimMACOffload programs offload mac at creation, installs SAs
// the way the kernel backend does, reads them back through link's dump and
// iproute2, meets the driver's one-RX-SC limit, is refused a change of
// offload mode while SAs exist (EBUSY), and then switches the mode with
// UPD_OFFLOAD once they are gone.
func TestNetdevsimMACOffload(t *testing.T) {
	requireCustom(t)
	lab := testenv.New(t)
	a := lab.Host("a")
	dev := newNetdevsim(t, a)
	conn := dialIn(t, a)

	y, err := newIn(a, conn, link.Config{Parent: dev, Name: "ms0", Port: 1, Policy: policy, Offload: link.OffloadMAC})
	if err != nil {
		t.Fatalf("New(offload mac) on %s: %v", dev, err)
	}
	t.Cleanup(func() { y.Close() })
	if m, err := y.Offload(); err != nil || m != link.OffloadMAC {
		t.Errorf("Offload() = %v, %v; want mac", m, err)
	}
	if out := a.Run(t, "ip", "-d", "link", "show", "ms0"); !strings.Contains(out, "offload mac") {
		t.Errorf("ip -d link show ms0 does not say offload mac:\n%s", out)
	}

	k := sak(0x11)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must("CreateTxSA", y.CreateTxSA(0, 1, k))
	must("EnableTxSA", y.EnableTxSA(0))
	must("CreateRxSC", y.CreateRxSC(peerSCI))
	must("CreateRxSA", y.CreateRxSA(peerSCI, 0, 1, k))
	must("EnableRxSA", y.EnableRxSA(peerSCI, 0))
	k.Zero()
	must("SetControlledPort", y.SetControlledPort(true))

	st, err := y.State()
	if err != nil {
		t.Fatal(err)
	}
	if st.Offload != link.OffloadMAC {
		t.Errorf("dump offload %v, want mac", st.Offload)
	}
	if sa := st.TxSA(0); sa == nil || !sa.Active || sa.NextPN != 1 || sa.KeyID != sak(0x11).ID {
		t.Errorf("dump TX SA 0 = %+v", sa)
	}
	if sc := st.RxSC(peerSCI); sc == nil || len(sc.SAs) != 1 || !sc.SAs[0].Active || sc.SAs[0].KeyID != sak(0x11).ID {
		t.Errorf("dump RX SC %s = %+v", peerSCI, sc)
	}
	status, err := y.Status()
	if err != nil {
		t.Fatal(err)
	}
	if status.Backend != "offload" || status.Offload != "mac" || len(status.TxSC.SAs) != 1 || len(status.RxSCs) != 1 {
		t.Errorf("Status: backend %q offload %q, %d TX SAs, %d RX SCs", status.Backend, status.Offload, len(status.TxSC.SAs), len(status.RxSCs))
	}
	ims := a.Run(t, "ip", "macsec", "show", "ms0")
	for _, s := range []string{"offload: mac", sak(0x11).ID.String(), peerSCI.String()} {
		if !strings.Contains(ims, s) {
			t.Errorf("ip macsec show ms0 lacks %q:\n%s", s, ims)
		}
	}

	// netdevsim holds one RX SC per SecY.
	err = y.CreateRxSC(otherSC)
	var le *LimitError
	if !errors.Is(err, ErrDriverLimit) || !errors.Is(err, unix.ENOSPC) || !errors.As(err, &le) {
		t.Fatalf("second RX SC: %v; want a LimitError matching ENOSPC", err)
	}
	if le.Driver != "netdevsim" || le.Limit != 1 || !strings.Contains(err.Error(), "driver netdevsim offloads at most 1") {
		t.Errorf("second RX SC: %q (%+v)", err, le)
	}
	t.Logf("second RX SC: %v", err)

	// The kernel does not migrate SAs between modes.
	err = y.SetOffload(link.OffloadOff)
	if !errors.Is(err, unix.EBUSY) || !strings.Contains(err.Error(), "it has 1 TX SAs, 1 RX SCs and 1 RX SAs") {
		t.Fatalf("offload off with SAs: %v; want EBUSY naming the SAs", err)
	}
	t.Logf("offload off with SAs: %v", err)
	if m, _ := y.Offload(); m != link.OffloadMAC {
		t.Errorf("after refused change offload is %v", m)
	}

	// Without SCs and SAs the mode moves both ways (UPD_OFFLOAD), even
	// while the Controlled Port is enabled: link takes it down meanwhile.
	must("DisableTxSA", y.DisableTxSA(0))
	must("DeleteTxSA", y.DeleteTxSA(0))
	must("DeleteRxSC", y.DeleteRxSC(peerSCI))
	must("SetOffload(off)", y.SetOffload(link.OffloadOff))
	if status, err := y.Status(); err != nil || status.Backend != "kernel" || status.Offload != "off" {
		t.Errorf("after offload off: %+v, %v", status, err)
	}
	must("SetOffload(mac)", y.SetOffload(link.OffloadMAC))
	if out := a.Run(t, "ip", "-d", "link", "show", "ms0"); !strings.Contains(out, "offload mac") || !strings.Contains(out, ",UP") {
		t.Errorf("after UPD_OFFLOAD mac, ms0 is not offloaded and up:\n%s", out)
	}
}

// TestNetdevsimSecYLimitFallback fills netdevsim's three offloaded SecYs,
// checks the fourth is refused with the limit named, and that auto then
// falls back to software kernel MACsec on the same parent, saying why.
func TestNetdevsimSecYLimitFallback(t *testing.T) {
	requireCustom(t)
	lab := testenv.New(t)
	a := lab.Host("a")
	dev := newNetdevsim(t, a)
	conn := dialIn(t, a)

	cfg := func(i int) link.Config {
		return link.Config{Parent: dev, Name: fmt.Sprintf("ms%d", i), Port: uint16(i + 1), Policy: policy, Offload: link.OffloadMAC}
	}
	for i := 0; i < 3; i++ {
		y, err := newIn(a, conn, cfg(i))
		if err != nil {
			t.Fatalf("offloaded SecY %d of 3: %v", i+1, err)
		}
		t.Cleanup(func() { y.Close() })
	}
	_, err := newIn(a, conn, cfg(3))
	var le *LimitError
	if !errors.Is(err, unix.ENOSPC) || !errors.As(err, &le) || le.What != "offloaded SecYs" || le.Limit != 3 {
		t.Fatalf("4th offloaded SecY: %v; want a LimitError for offloaded SecYs, limit 3", err)
	}
	if !strings.Contains(err.Error(), "driver netdevsim offloads at most 3") {
		t.Errorf("4th offloaded SecY: %q does not name the limit", err)
	}
	t.Logf("4th offloaded SecY: %v", err)
	if out := a.Run(t, "ip", "-o", "link", "show"); strings.Contains(out, "ms3") {
		t.Fatalf("the refused SecY left ms3 behind:\n%s", out)
	}

	// PHY offload is refused outright (no PHY).
	phy := cfg(3)
	phy.Offload = link.OffloadPHY
	if _, err := newIn(a, conn, phy); !errors.Is(err, unix.EOPNOTSUPP) {
		t.Errorf("offload phy on netdevsim: %v, want EOPNOTSUPP", err)
	}

	// auto: MAC offload is chosen, refused (full), and software kernel
	// MACsec takes over with the reason logged and reported.
	d := Choose(probe(t, a, conn, dev), Auto)
	if d.Err != nil || d.Offload != link.OffloadMAC {
		t.Fatalf("Choose = %+v, want MAC offload first", d)
	}
	var logs bytes.Buffer
	var y macsec.SecY
	var c Choice
	a.Do(func() error {
		y, c, err = Open(d, KernelOpener(conn, cfg(3), nil), slog.New(slog.NewTextHandler(&logs, nil)))
		return nil
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { y.Close() })
	if c.Backend != Kernel || !strings.Contains(c.Reason, "offload (mac) refused") || !strings.Contains(c.Reason, "no room for more offloaded SecYs") {
		t.Errorf("fallback choice %+v", c)
	}
	if !strings.Contains(logs.String(), "SecY backend refused") || !strings.Contains(logs.String(), "no space left on device") {
		t.Errorf("refusal not logged:\n%s", logs.String())
	}
	st, err := y.Status()
	if err != nil || st.Backend != "kernel" || st.Offload != "off" || st.Interface != "ms3" {
		t.Errorf("fallback SecY status %+v, %v", st, err)
	}
	if out := a.Run(t, "ip", "-d", "link", "show", "ms3"); strings.Contains(out, "offload mac") {
		t.Errorf("fallback SecY is offloaded:\n%s", out)
	}
	t.Logf("taken: %s", c.Reason)
}

// TestVethAuto: a veth offloads nothing; auto picks software kernel MACsec
// and says why, offload mac is refused with EOPNOTSUPP, and backend =
// offload is an error before anything is created.
func TestVethAuto(t *testing.T) {
	testenv.LabKernel(t)
	lab := testenv.New(t)
	a := lab.Host("a")
	lab.Veth(a, "eth0", lab.Host("b"), "eth0")
	conn := dialIn(t, a)

	caps := probe(t, a, conn, "eth0")
	d := Choose(caps, Auto)
	if d.Err != nil || d.Backend != Kernel {
		t.Fatalf("Choose(auto) on veth = %+v, want kernel", d)
	}
	const why = "because no offload: mac: ethtool feature macsec-hw-offload is off [fixed] on eth0; " +
		"phy: eth0 has no PHY that offloads MACsec (a scratch SecY with offload phy got EOPNOTSUPP)"
	if !strings.Contains(d.Reason, why) {
		t.Errorf("reason %q\nlacks %q", d.Reason, why)
	}
	t.Logf("auto on veth: %s", d.Reason)
	if d := Choose(caps, Offload); d.Err == nil {
		t.Errorf("backend = offload on veth chose %+v", d)
	}

	base := link.Config{Parent: "eth0", Name: "ms0", Policy: policy}
	var y macsec.SecY
	var c Choice
	var err error
	a.Do(func() error { y, c, err = Open(d, KernelOpener(conn, base, nil), nil); return nil })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { y.Close() })
	if c.Reason != d.Reason {
		t.Errorf("Open changed the reason: %q", c.Reason)
	}
	if st, err := y.Status(); err != nil || st.Backend != "kernel" || st.Offload != "off" {
		t.Errorf("status %+v, %v", st, err)
	}

	mac := base
	mac.Name, mac.Port, mac.Offload = "ms1", 2, link.OffloadMAC
	if _, err := newIn(a, conn, mac); !errors.Is(err, unix.EOPNOTSUPP) {
		t.Errorf("offload mac on veth: %v, want EOPNOTSUPP", err)
	}
}
