//go:build vmlab

package interop

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/macsecd/macsecd/daemon"
	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/testenv"
)

// The two ends of every scenario: macsecd on a, the peer (wpa_supplicant or
// a second macsecd) on b. Fixed MACs give known SCIs (port 1).
var (
	macA = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x0a, 0x01}
	macB = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x0b, 0x01}
	sciA = hex.EncodeToString(macA) + "0001"
	sciB = hex.EncodeToString(macB) + "0001"
)

const (
	addrA = "10.9.0.1"
	addrB = "10.9.0.2"
)

// labKernel fails a vmlab test run outside the VM lab: these tests need
// kernel MACsec and the lab's binaries, and must never pass by skipping.
func labKernel(t *testing.T) {
	t.Helper()
	testenv.LabKernel(t)
	for _, tool := range []string{"/lab/bin/macsecd", "/lab/bin/macsecctl"} {
		if _, err := os.Stat(tool); err != nil {
			t.Fatalf("the VM lab has no %s: %v", tool, err)
		}
	}
}

// outFile is a file under $MACSECD_LAB_OUT, which comes back to the host.
func outFile(t *testing.T, name string) string {
	d, _ := testenv.LabOut(t)
	return filepath.Join(d, strings.NewReplacer("/", "_", " ", "_").Replace(name))
}

// pair is one veth between two namespaces; MKPDUs on it are captured to
// $MACSECD_LAB_OUT/mkpdu-<test>.pcap for the host's tshark check.
type pair struct {
	lab  *testenv.Lab
	a, b *testenv.Host
	mka  *testenv.Capture
}

// newPair captures the MKPDUs at b. The side must not run macsecd's
// userspace backend: it sends with PACKET_QDISC_BYPASS, so its own frames
// never reach the capture taps of its host (the peer sees them).
func newPair(t *testing.T) *pair {
	t.Helper()
	return newPairCapture(t, "b")
}

// newPairCapture is newPair capturing at side "a" or "b".
func newPairCapture(t *testing.T, side string) *pair {
	t.Helper()
	lab := testenv.New(t)
	p := &pair{lab: lab, a: lab.Host("a"), b: lab.Host("b")}
	lab.VethMAC(p.a, "eth0", macA, p.b, "eth0", macB)
	// No IPv6 on the parents: their own router solicitations would be the
	// only clear frames on the wire, and the tests check there are none.
	for _, h := range []*testenv.Host{p.a, p.b} {
		h.Run(t, "sh", "-c", "echo 1 >/proc/sys/net/ipv6/conf/eth0/disable_ipv6")
	}
	at := p.b
	if side == "a" {
		at = p.a
	}
	p.mka = at.Capture(t, "eth0", outFile(t, "mkpdu-"+t.Name()+".pcap"), "ether", "proto", "0x888e")
	return p
}

// port is the macsecd side of a scenario: one [port.lan] on eth0 securing
// macsec0, keyed by MKA with one pre-shared CAK.
type port struct {
	Backend       string // kernel or userspace
	CipherSuite   string // default GCM-AES-128
	Priority      int
	CAK, CKN      []byte
	RekeyInterval string // e.g. "6s"
	InitialPN     uint64 // testing.initial_pn
	PNThreshold   uint64 // mka.pn_exhaustion_threshold
}

// node is one running macsecd.
type node struct {
	t    *testing.T
	h    *testenv.Host
	conf string
	sock string
	cmd  *exec.Cmd
	log  *testenv.LogBuffer
}

func (p port) config(dir, sock string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[daemon]\ncontrol_socket = %q\nlog_level = \"debug\"\n\n", sock)
	fmt.Fprintf(&b, "[port.lan]\nparent = \"eth0\"\ninterface = \"macsec0\"\nbackend = %q\n", p.Backend)
	// The kernel may finish encryptions out of order (async crypto under
	// qemu): a small window keeps replay protection on without dropping
	// those frames as late. wpa_supplicant runs with replay protection off.
	b.WriteString("replay_window = 64\n")
	if p.CipherSuite != "" {
		fmt.Fprintf(&b, "cipher_suite = %q\n", p.CipherSuite)
	}
	fmt.Fprintf(&b, "\n[port.lan.mka]\npriority = %d\n", p.Priority)
	if p.RekeyInterval != "" {
		fmt.Fprintf(&b, "rekey_interval = %q\n", p.RekeyInterval)
	}
	if p.PNThreshold != 0 {
		fmt.Fprintf(&b, "pn_exhaustion_threshold = %d\n", p.PNThreshold)
	}
	fmt.Fprintf(&b, "\n[[port.lan.mka.key]]\nckn = %q\ncak_file = %q\n", hex.EncodeToString(p.CKN), filepath.Join(dir, "lan.cak"))
	if p.InitialPN != 0 {
		fmt.Fprintf(&b, "\n[port.lan.testing]\ninitial_pn = %d\n", p.InitialPN)
	}
	return b.String()
}

// start runs macsecd with p in h until the test ends (SIGTERM, then its log
// is shown if the test failed). The CAK file is 0600, as macsecd demands.
func (p port) start(t *testing.T, h *testenv.Host) *node {
	t.Helper()
	dir := t.TempDir()
	n := &node{t: t, h: h, conf: filepath.Join(dir, "macsecd.toml"), sock: filepath.Join(dir, "control.sock"),
		log: &testenv.LogBuffer{}}
	if err := os.WriteFile(filepath.Join(dir, "lan.cak"), []byte(hex.EncodeToString(p.CAK)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(n.conf, []byte(p.config(dir, n.sock)), 0o600); err != nil {
		t.Fatal(err)
	}
	// Registered first, so it runs after StartDaemon's stop.
	t.Cleanup(func() {
		os.WriteFile(outFile(t, "macsecd-"+t.Name()+"-"+h.Name[strings.LastIndex(h.Name, "-")+1:]+".log"), []byte(n.log.String()), 0o644)
		if t.Failed() {
			t.Logf("macsecd in %s:\n%s", h.Name, n.log.String())
		}
	})
	n.cmd = h.Command("/lab/bin/macsecd", "-config", n.conf)
	testenv.StartDaemon(t, n.cmd, n.log, 15*time.Second)
	return n
}

// ctl runs macsecctl against n and returns its exit code and output.
func (n *node) ctl(args ...string) (int, string) {
	n.t.Helper()
	c := n.h.Command("/lab/bin/macsecctl", append([]string{"-s", n.sock}, args...)...)
	out, err := c.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	case err != nil:
		n.t.Fatalf("macsecctl %v: %v", args, err)
	}
	return 0, string(out)
}

func (n *node) status() *daemon.PortStatus {
	n.t.Helper()
	code, out := n.ctl("status", "--json", "lan")
	if code != daemon.ExitOK && code != daemon.ExitNotSecured {
		n.t.Fatalf("macsecctl status: exit %d: %s", code, out)
	}
	var rep daemon.StatusReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Ports) != 1 {
		n.t.Fatalf("status JSON (%v):\n%s", err, out)
	}
	return &rep.Ports[0]
}

// waitSecured waits until macsecctl status says secured (exit 0).
func (n *node) waitSecured(within time.Duration) *daemon.PortStatus {
	n.t.Helper()
	waitFor(n.t, within, "macsecd in "+n.h.Name+" secured", func() bool {
		code, _ := n.ctl("status", "lan")
		return code == daemon.ExitOK
	})
	return n.status()
}

// logCount counts macsecd log lines matching re.
func (n *node) logCount(re string) int {
	return len(regexp.MustCompile(re).FindAllString(n.log.String(), -1))
}

func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(200 * time.Millisecond) {
		if ok() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not %s after %v", what, within)
		}
	}
}

// address gives dev in h its scenario address and brings it up.
func address(t *testing.T, h *testenv.Host, dev, addr string) {
	t.Helper()
	h.Run(t, "ip", "addr", "add", addr+"/24", "dev", dev)
	h.Run(t, "ip", "link", "set", dev, "up")
}

// macsecLink returns the macsec link wpa_supplicant created in h (it does
// so once MKA has a live peer; the kernel names it).
func macsecLink(t *testing.T, h *testenv.Host, within time.Duration) string {
	t.Helper()
	var name string
	waitFor(t, within, "a macsec link in "+h.Name, func() bool {
		links, err := h.Netlink().LinkList()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range links {
			if l.Type() == "macsec" {
				name = l.Attrs().Name
				return true
			}
		}
		return false
	})
	return name
}

// pingLoss matches busybox's (and iputils') ping summary.
var pingLoss = regexp.MustCompile(`(\d+) packets transmitted, (\d+) (?:packets )?received`)

// pingRun sends count echo requests from h to dst every interval and
// returns how many were sent and answered. Safe in goroutines.
func pingRun(h *testenv.Host, dst string, count int, interval string) (sent, recv int, err error) {
	out, _ := h.Command("ping", "-q", "-c", fmt.Sprint(count), "-i", interval, "-W", "2", dst).CombinedOutput()
	m := pingLoss.FindStringSubmatch(string(out))
	if m == nil && strings.Contains(string(out), "Network is unreachable") {
		// busybox gives up at once when the interface has no route: nothing
		// was sent (a secured interface that is down).
		return 0, 0, nil
	}
	if m == nil {
		return 0, 0, fmt.Errorf("ping %s from %s: %s", dst, h.Name, out)
	}
	fmt.Sscan(m[1], &sent)
	fmt.Sscan(m[2], &recv)
	return sent, recv, nil
}

// ping is pingRun for the test goroutine.
func ping(t *testing.T, h *testenv.Host, dst string, count int, interval string) (sent, recv int) {
	t.Helper()
	sent, recv, err := pingRun(h, dst, count, interval)
	if err != nil {
		t.Fatal(err)
	}
	return sent, recv
}

// waitPing waits until one echo from h to dst is answered: the last SA of
// the switch-over may be enabled a moment after status says secured.
func waitPing(t *testing.T, h *testenv.Host, dst string, within time.Duration) {
	t.Helper()
	waitFor(t, within, "answered ping "+h.Name+" -> "+dst, func() bool {
		return h.Command("ping", "-c", "1", "-W", "1", dst).Run() == nil
	})
}

// bothWays asserts that count echoes pass a -> b and b -> a without loss:
// each direction's requests and replies cross both secured interfaces.
func bothWays(t *testing.T, p *pair, count int) {
	t.Helper()
	waitPing(t, p.a, addrB, 60*time.Second)
	waitPing(t, p.b, addrA, 30*time.Second)
	lost := false
	if s, r := ping(t, p.a, addrB, count, "0.1"); s != count || r != s {
		t.Errorf("ping a -> b over the secured link: %d of %d answered", r, s)
		lost = true
	}
	if s, r := ping(t, p.b, addrA, count, "0.1"); s != count || r != s {
		t.Errorf("ping b -> a over the secured link: %d of %d answered", r, s)
		lost = true
	}
	if lost {
		for _, h := range []*testenv.Host{p.a, p.b} {
			out, _ := h.Command("ip", "-s", "macsec", "show").CombinedOutput()
			t.Logf("%s: ip -s macsec show:\n%s", h.Name, out)
		}
	}
}

// kernelKeyIDs returns `ip macsec show` of h, which lists the key
// identifier of every SA wpa_supplicant installed into the kernel.
func kernelKeyIDs(t *testing.T, h *testenv.Host) string {
	t.Helper()
	return h.Run(t, "ip", "macsec", "show")
}

// wpaKeyID is how wpa_supplicant 2.10 hands a key identifier (key server
// MI, then key number) to the kernel: it copies its in-memory struct, whose
// key number is in host byte order, so on x86 the last four octets are
// reversed. On the wire (Distributed SAK, SAK Use) the key number is in
// network order, as macsecd writes it everywhere.
func wpaKeyID(ki string) string {
	b := fromHex(ki)
	slices.Reverse(b[12:16])
	return hex.EncodeToString(b)
}

// secTag is the part of a MACsec frame's SecTAG the tests look at.
type secTag struct {
	src net.HardwareAddr
	an  uint8
	pn  uint32
}

// macsecFrames returns the SecTAGs of the MACsec frames in frames.
func macsecFrames(frames [][]byte) []secTag {
	var tags []secTag
	for _, f := range frames {
		if len(f) < 22 || binary.BigEndian.Uint16(f[12:]) != macsec.EtherType {
			continue
		}
		tags = append(tags, secTag{src: net.HardwareAddr(f[6:12]), an: f[14] & 3, pn: binary.BigEndian.Uint32(f[16:])})
	}
	return tags
}

// lastFrameFrom returns the capture time of the last frame from src in a
// pcap file that tcpdump may still be writing (with -U every record is
// written whole, but the last one may be cut: it is ignored).
func lastFrameFrom(t *testing.T, file string, src net.HardwareAddr) time.Time {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("pcap %s: %v", file, err)
	}
	recs, err := testenv.ParsePcapRecords(b)
	if err != nil && !errors.Is(err, testenv.ErrPcapCut) {
		t.Fatalf("pcap %s: %v", file, err)
	}
	var last time.Time
	for _, r := range recs {
		if len(r.Frame) >= 12 && bytes.Equal(r.Frame[6:12], src) {
			last = r.Time
		}
	}
	if last.IsZero() {
		t.Fatalf("pcap %s: no frame from %s", file, src)
	}
	return last
}

// logTime returns the time of the first macsecd log line matching re
// (slog's text format starts with time=RFC3339).
func (n *node) logTime(re string) time.Time {
	n.t.Helper()
	m := regexp.MustCompile(`time=(\S+) [^\n]*` + re).FindStringSubmatch(n.log.String())
	if m == nil {
		n.t.Fatalf("no macsecd log line matching %q", re)
	}
	at, err := time.Parse(time.RFC3339Nano, m[1])
	if err != nil {
		n.t.Fatalf("log time %q: %v", m[1], err)
	}
	return at
}

// fromHex decodes a test constant.
func fromHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
