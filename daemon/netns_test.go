package daemon

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/macsecd/macsecd/testenv"
)

// These tests run the real binaries: two macsecd processes in two network
// namespaces joined by a veth, keyed by MKA with a pre-shared CAK, on the
// backend auto picks (userspace on a kernel without MACsec, kernel MACsec
// in the VM lab). They are also what the VM lab runs (see
// lab_vmlab_test.go), so every check holds for both backends.

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds macsecd and macsecctl once per test process.
func binaries(t *testing.T) (macsecd, macsecctl string) {
	t.Helper()
	buildOnce.Do(func() {
		// Inside the VM lab the binaries are already there.
		if _, err := os.Stat("/lab/bin/macsecd"); err == nil {
			binDir = "/lab/bin"
			return
		}
		binDir, buildErr = os.MkdirTemp("", "macsecd-bin-")
		if buildErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", binDir+"/", "../cmd/macsecd", "../cmd/macsecctl").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "macsecd"), filepath.Join(binDir, "macsecctl")
}

// The CAK of the tests: the key-leak checks grep every output for it.
const (
	testCAK = "c0ffee00deadbeef0badcafe12345678"
	testCKN = "6d61637365636474657374"
)

// node is one host running one macsecd.
type node struct {
	t       *testing.T
	h       *testenv.Host
	dir     string
	conf    string
	sock    string
	ctl     string
	cmd     *exec.Cmd
	log     *testenv.LogBuffer
	exited  chan error
	outputs *testenv.LogBuffer // every macsecctl output, for the key check
}

func (n *node) writeConfig(extra string) {
	n.t.Helper()
	cfg := fmt.Sprintf(`[daemon]
control_socket = %q

[port.lan]
parent = "eth0"
interface = "macsec0"
backend = %q
%s
[port.lan.mka]
%s

[[port.lan.mka.key]]
ckn = %q
cak_file = %q
`, n.sock, labBackend(), labReplay(), extra, testCKN, filepath.Join(n.dir, "lan.cak"))
	if err := os.WriteFile(n.conf, []byte(cfg), 0o600); err != nil {
		n.t.Fatal(err)
	}
}

// labBackend is the backend the tests ask for: auto on the host (which
// picks userspace there), overridable for the VM lab.
func labBackend() string {
	if b := os.Getenv("MACSECD_TEST_BACKEND"); b != "" {
		return b
	}
	return "auto"
}

// labReplay widens the replay window in the VM lab: under qemu the
// kernel can finish encryptions out of order (async crypto), and with the
// default window of 0 the peer then drops a late frame (seen as one lost
// ping in twenty runs on 6.1). The interop tests do the same.
func labReplay() string {
	if os.Getenv("MACSECD_LAB_KERNEL") != "" {
		return "replay_window = 64\n"
	}
	return ""
}

// daemonWrapper, when set, runs macsecd under it (e.g. setpriv).
var daemonWrapper []string

func daemonCommand(args ...string) []string {
	return append(append([]string(nil), daemonWrapper...), args...)
}

// wantBackend is the backend the port must end up on: what was asked for,
// or for auto, software kernel MACsec in the VM lab (veth has no offload)
// and userspace on this host's kernel, which has no MACsec.
func wantBackend() string {
	switch b := labBackend(); {
	case b != "auto":
		return b
	case os.Getenv("MACSECD_LAB_KERNEL") != "":
		return "kernel"
	}
	return "userspace"
}

func newNode(t *testing.T, h *testenv.Host, extra string) *node {
	macsecd, macsecctl := binaries(t)
	dir := t.TempDir()
	n := &node{t: t, h: h, dir: dir, conf: filepath.Join(dir, "macsecd.toml"), sock: filepath.Join(dir, "control.sock"),
		ctl: macsecctl, log: &testenv.LogBuffer{}, outputs: &testenv.LogBuffer{}}
	if err := os.WriteFile(filepath.Join(dir, "lan.cak"), []byte(testCAK+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	n.writeConfig(extra)
	argv := daemonCommand(macsecd, "-config", n.conf)
	n.cmd = h.Command(argv[0], argv[1:]...)
	n.start(10 * time.Second)
	return n
}

// start runs the node's macsecd until the test ends; its log is shown if
// the test failed.
func (n *node) start(grace time.Duration) {
	n.t.Helper()
	n.t.Cleanup(func() {
		if n.t.Failed() {
			n.t.Logf("%s log:\n%s", n.h.Name, n.log.String())
		}
	})
	n.exited = testenv.StartDaemon(n.t, n.cmd, n.log, grace)
}

// macsecctl runs macsecctl in the node's namespace.
func (n *node) macsecctl(args ...string) (int, string) {
	n.t.Helper()
	c := n.h.Command(n.ctl, append([]string{"-s", n.sock}, args...)...)
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	err := c.Run()
	n.outputs.Write(out.Bytes())
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		n.t.Fatal(err)
	}
	return code, out.String()
}

func (n *node) status() *PortStatus {
	n.t.Helper()
	code, out := n.macsecctl("status", "--json", "lan")
	if code != ExitOK && code != ExitNotSecured {
		n.t.Fatalf("macsecctl status: exit %d: %s", code, out)
	}
	var rep StatusReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		n.t.Fatalf("status JSON: %v\n%s", err, out)
	}
	if len(rep.Ports) != 1 {
		n.t.Fatalf("status: %d ports", len(rep.Ports))
	}
	return &rep.Ports[0]
}

// waitSecured polls `macsecctl status` until it exits 0 (secured).
func (n *node) waitSecured(within time.Duration) {
	n.t.Helper()
	deadline := time.Now().Add(within)
	for {
		code, out := n.macsecctl("status", "lan")
		if code == ExitOK {
			return
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("%s not secured after %v (exit %d):\n%s\nlog:\n%s", n.h.Name, within, code, out, n.log.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (n *node) signal(sig os.Signal) {
	n.t.Helper()
	if err := n.cmd.Process.Signal(sig); err != nil {
		n.t.Fatal(err)
	}
}

// waitLog waits for a log line matching re.
func (n *node) waitLog(re string, within time.Duration) string {
	n.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(within)
	for {
		if m := rx.FindString(n.log.String()); m != "" {
			return m
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("%s: no log line matching %q:\n%s", n.h.Name, re, n.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func mustRun(t *testing.T, c *exec.Cmd) string {
	t.Helper()
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", c.Args, err, out)
	}
	return string(out)
}

// pingLoss matches the summary of iputils and busybox ping (the VM lab).
var pingLoss = regexp.MustCompile(`(\d+) packets transmitted, (\d+) (?:packets )?received`)

// ping sends count echo requests at interval and returns sent and received.
func ping(t *testing.T, h *testenv.Host, dst string, count int, interval string) (int, int) {
	t.Helper()
	out, _ := h.Command("ping", "-q", "-c", fmt.Sprint(count), "-i", interval, "-W", "2", dst).CombinedOutput()
	m := pingLoss.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("ping %s: %s", dst, out)
	}
	var sent, recv int
	fmt.Sscan(m[1], &sent)
	fmt.Sscan(m[2], &recv)
	return sent, recv
}

// startPair starts a macsecd on each end of a veth, with extraA and
// extraB added to their [port.lan.mka] tables, and waits until both
// ports are secured.
func startPair(t *testing.T, extraA, extraB string) (lab *testenv.Lab, a, b *testenv.Host, na, nb *node) {
	t.Helper()
	lab = testenv.New(t)
	a, b = lab.Host("a"), lab.Host("b")
	lab.Veth(a, "eth0", b, "eth0")
	na = newNode(t, a, extraA)
	nb = newNode(t, b, extraB)
	na.waitSecured(60 * time.Second)
	nb.waitSecured(60 * time.Second)
	return lab, a, b, na, nb
}

// securedPair is startPair with b winning the key server election (lower
// priority value); it puts net.1/24 and net.2/24 on the secured
// interfaces and checks that a ping crosses.
func securedPair(t *testing.T, net string) (lab *testenv.Lab, a, b *testenv.Host, na, nb *node) {
	t.Helper()
	lab, a, b, na, nb = startPair(t, "priority = 20", "priority = 10")
	mustRun(t, a.Command("ip", "addr", "add", net+".1/24", "dev", "macsec0"))
	mustRun(t, b.Command("ip", "addr", "add", net+".2/24", "dev", "macsec0"))
	if sent, recv := ping(t, a, net+".2", 5, "0.2"); recv != sent {
		t.Fatalf("ping over the secured link: %d of %d answered", recv, sent)
	}
	return lab, a, b, na, nb
}

// TestDaemonsSecureLink is the acceptance test of the daemon: two macsecd
// secure a veth with MKA, traffic flows, status --json reports what the
// daemons hold, a SIGHUP with a new rekey interval retunes without loss
// and the new interval rekeys, a bad reload is rejected with a clear
// message while the link stays up, no key appears in any log or CLI
// output, and SIGTERM removes the secured interface.
func TestDaemonsSecureLink(t *testing.T) {
	_, a, _, na, nb := securedPair(t, "10.77.0")

	// What status reports must be what the two daemons hold together.
	sa, sb := na.status(), nb.status()
	for _, s := range []*PortStatus{sa, sb} {
		if !s.Secured || s.State != "secured" || s.MKA == nil || s.CurrentSA == nil || s.Interface != "macsec0" || s.Parent != "eth0" ||
			s.Backend == "" || s.BackendReason == "" || s.CipherSuite != "GCM-AES-128" || s.Policy != "must-secure" {
			t.Fatalf("status: %+v", s)
		}
		if want := wantBackend(); s.Backend != want {
			t.Errorf("backend %s (%s), want %s", s.Backend, s.BackendReason, want)
		}
	}
	if len(sa.MKA.LivePeers) != 1 || sa.MKA.LivePeers[0].SCI != sb.SCI || len(sb.MKA.LivePeers) != 1 || sb.MKA.LivePeers[0].SCI != sa.SCI {
		t.Errorf("live peers: a sees %+v (b is %s), b sees %+v (a is %s)", sa.MKA.LivePeers, sb.SCI, sb.MKA.LivePeers, sa.SCI)
	}
	if sa.MKA.KeyServer == nil || sa.MKA.KeyServer.SCI != sb.SCI || sa.MKA.KeyServer.Self || sb.MKA.KeyServer == nil || !sb.MKA.KeyServer.Self ||
		sb.MKA.KeyServer.Priority != 10 {
		t.Errorf("key server: a says %+v, b says %+v", sa.MKA.KeyServer, sb.MKA.KeyServer)
	}
	if sa.CurrentSA.KeyID != sb.CurrentSA.KeyID || sa.CurrentSA.AN != sb.CurrentSA.AN || sa.CurrentSA.NextPN < 2 {
		t.Errorf("current SA: a %+v, b %+v", sa.CurrentSA, sb.CurrentSA)
	}
	if len(sa.RxSCs) != 1 || sa.RxSCs[0].SCI != sb.SCI || sa.Counters.InPktsOK == 0 || sa.Counters.OutPktsEncrypted == 0 {
		t.Errorf("a's receive SCs %+v, counters %+v", sa.RxSCs, sa.Counters)
	}
	if sa.MKA.CKN != testCKN {
		t.Errorf("CKN %q, want %q", sa.MKA.CKN, testCKN)
	}
	// The userspace data plane reports its health; kernel backends have
	// none in macsecd.
	for _, s := range []*PortStatus{sa, sb} {
		d := s.Dataplane
		switch {
		case wantBackend() != "userspace":
			if d != nil {
				t.Errorf("%s backend reports a userspace data plane: %+v", s.Backend, d)
			}
		case d == nil || d.TAP != "macsec0" || !d.TAPPresent || d.Parent != "eth0" || !d.ParentUp ||
			d.TxSegments == 0 || d.RxFrames == 0 || d.RxEAPOL == 0 || d.RxTAPWrites == 0:
			t.Errorf("data plane: %+v", d)
		}
	}
	if _, out := na.macsecctl("status", "lan"); wantBackend() == "userspace" && !strings.Contains(out, "data plane: TAP macsec0 present, parent eth0 up") {
		t.Errorf("status text lacks the data plane:\n%s", out)
	}

	// SIGHUP with a new rekey interval on the key server: retuned without
	// restart, no ping lost meanwhile, and the interval then rekeys.
	rekeys := sb.MKA.RekeyCount
	nb.writeConfig("priority = 10\nrekey_interval = \"6s\"")
	pingDone := make(chan [2]int)
	go func() {
		s, r := ping(t, a, "10.77.0.2", 100, "0.2")
		pingDone <- [2]int{s, r}
	}()
	time.Sleep(time.Second)
	nb.signal(syscall.SIGHUP)
	nb.waitLog(`msg="configuration reloaded".*retuned=\[lan\]`, 10*time.Second)
	nb.waitLog(`msg="SAK distributed".*reason="rekey interval"`, 40*time.Second)
	res := <-pingDone
	if res[1] != res[0] {
		t.Errorf("reload and rekey lost traffic: %d of %d pings answered", res[1], res[0])
	}
	sb2 := nb.status()
	if sb2.MKA.RekeyCount <= rekeys || sb2.CurrentSA.KeyID == sb.CurrentSA.KeyID || !sb2.Secured {
		t.Errorf("after the rekey interval: rekeys %d -> %d, key %s -> %s, secured %t",
			rekeys, sb2.MKA.RekeyCount, sb.CurrentSA.KeyID, sb2.CurrentSA.KeyID, sb2.Secured)
	}

	// A bad config is rejected with a message naming file, port, field and
	// reason; the running port stays secured and traffic flows.
	os.WriteFile(na.conf, []byte(strings.Replace(mustRead(t, na.conf), `backend =`, "mtu = 9000\nbackend =", 1)), 0o600)
	na.signal(syscall.SIGHUP)
	line := na.waitLog(`msg="reload rejected; keeping the running configuration".*`, 10*time.Second)
	if !strings.Contains(line, na.conf+`: port \"lan\": mtu: unknown field`) {
		t.Errorf("reload rejection does not say where and why: %s", line)
	}
	if sent, recv := ping(t, a, "10.77.0.2", 5, "0.2"); recv != sent {
		t.Errorf("after a rejected reload: %d of %d pings answered", recv, sent)
	}
	if code, out := na.macsecctl("status"); code != ExitOK {
		t.Errorf("after a rejected reload: status exit %d\n%s", code, out)
	}
	na.macsecctl("peers")
	na.macsecctl("stats", "--json")

	// Operator rekey from the key server.
	if code, out := nb.macsecctl("rekey", "lan"); code != ExitOK {
		t.Errorf("rekey: exit %d: %s", code, out)
	}
	nb.waitLog(`msg="SAK distributed".*reason="operator command"`, 10*time.Second)

	// SIGTERM: clean exit, secured interface removed.
	na.signal(syscall.SIGTERM)
	select {
	case err := <-na.exited:
		if err != nil {
			t.Errorf("macsecd exit after SIGTERM: %v", err)
		}
		na.exited <- err // for cleanup
	case <-time.After(15 * time.Second):
		t.Fatal("macsecd did not exit after SIGTERM")
	}
	if out, err := a.Command("ip", "link", "show", "macsec0").CombinedOutput(); err == nil {
		t.Errorf("macsec0 still exists after SIGTERM:\n%s", out)
	}
	if code, _ := na.macsecctl("status"); code != ExitUnreachable {
		t.Errorf("status of a stopped daemon: exit %d, want %d", code, ExitUnreachable)
	}

	// No key material anywhere: logs of both daemons, every CLI output.
	all := na.log.String() + nb.log.String() + na.outputs.String() + nb.outputs.String()
	cak, _ := hex.DecodeString(testCAK)
	for _, form := range []string{testCAK, strings.ToUpper(testCAK), string(cak)} {
		if strings.Contains(all, form) {
			t.Errorf("the CAK appears in logs or macsecctl output")
		}
	}
}

func mustRead(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDaemonsStaticKeys secures a veth with hand-set SAKs (no MKA), as
// `ip macsec` would, and checks traffic flows and status shows the SAs by
// key identifier only.
func TestDaemonsStaticKeys(t *testing.T) {
	lab := testenv.New(t)
	a, b := lab.Host("a"), lab.Host("b")
	macA, _ := net.ParseMAC("02:00:00:00:aa:01")
	macB, _ := net.ParseMAC("02:00:00:00:bb:01")
	lab.VethMAC(a, "eth0", macA, b, "eth0", macB)
	const sakA, sakB = "a1a2a3a4a5a6a7a8a9aaabacadaeaf00", "b1b2b3b4b5b6b7b8b9babbbcbdbebf00"
	macsecd, _ := binaries(t)
	// a reports to a systemd notify socket with a 1 s watchdog.
	notifyPath := filepath.Join(t.TempDir(), "notify")
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notifyPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer notify.Close()
	notes := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := notify.Read(buf)
			if err != nil {
				close(notes)
				return
			}
			notes <- string(buf[:n])
		}
	}()
	waitNote := func(want string) {
		t.Helper()
		deadline := time.After(15 * time.Second)
		for {
			select {
			case m := <-notes:
				if strings.Contains(m, want) {
					return
				}
			case <-deadline:
				t.Fatalf("no sd_notify message %q", want)
			}
		}
	}
	start := func(h *testenv.Host, txKey, rxKey, txID, rxID, peer string) *node {
		dir := t.TempDir()
		n := &node{t: t, h: h, dir: dir, conf: filepath.Join(dir, "macsecd.toml"), sock: filepath.Join(dir, "control.sock"),
			ctl: filepath.Join(filepath.Dir(macsecd), "macsecctl"), log: &testenv.LogBuffer{}, outputs: &testenv.LogBuffer{}}
		os.WriteFile(filepath.Join(dir, "tx.sak"), []byte(txKey), 0o600)
		os.WriteFile(filepath.Join(dir, "rx.sak"), []byte(rxKey), 0o600)
		os.WriteFile(n.conf, []byte(fmt.Sprintf(`[daemon]
control_socket = %q
[port.lan]
parent = "eth0"
interface = "macsec0"
backend = %q
key_agreement = "static"
[port.lan.static.tx]
an = 0
key_id = %q
sak_file = %q
[[port.lan.static.rx]]
peer_sci = %q
an = 0
key_id = %q
sak_file = %q
`, n.sock, labBackend(), txID, filepath.Join(dir, "tx.sak"), peer, rxID, filepath.Join(dir, "rx.sak"))), 0o600)
		argv := daemonCommand(macsecd, "-config", n.conf)
		n.cmd = h.Command(argv[0], argv[1:]...)
		if h == a {
			n.cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+notifyPath, "WATCHDOG_USEC=1000000")
		}
		n.start(10 * time.Second)
		return n
	}
	na := start(a, sakA, sakB, "0a", "0b", "02000000bb010001")
	nb := start(b, sakB, sakA, "0b", "0a", "02000000aa010001")
	na.waitSecured(30 * time.Second)
	nb.waitSecured(30 * time.Second)
	// systemd Type=notify: READY, STATUS, WATCHDOG, and RELOADING then
	// READY around a reload.
	waitNote("READY=1")
	waitNote("STATUS=1 of 1 ports secured")
	waitNote("WATCHDOG=1")
	na.signal(syscall.SIGHUP)
	waitNote("RELOADING=1")
	waitNote("READY=1")
	na.waitLog(`msg="configuration reloaded".*unchanged=\[lan\]`, 10*time.Second)
	mustRun(t, a.Command("ip", "addr", "add", "10.78.0.1/24", "dev", "macsec0"))
	mustRun(t, b.Command("ip", "addr", "add", "10.78.0.2/24", "dev", "macsec0"))
	if sent, recv := ping(t, a, "10.78.0.2", 5, "0.2"); recv != sent {
		t.Fatalf("ping over statically keyed link: %d of %d", recv, sent)
	}
	s := na.status()
	if s.KeyAgreement != "static" || s.MKA != nil || s.CurrentSA == nil || s.CurrentSA.KeyID != "0a000000000000000000000000000000" ||
		s.SCI != "02000000aa010001" || len(s.RxSCs) != 1 || s.RxSCs[0].SCI != "02000000bb010001" || s.Counters.InPktsOK == 0 {
		t.Errorf("status: %+v", s)
	}
	if s.Backend != wantBackend() {
		t.Errorf("backend %s (%s), want %s", s.Backend, s.BackendReason, wantBackend())
	}
	if labBackend() == "auto" && !strings.Contains(s.BackendReason, "no offload") {
		t.Errorf("auto does not say why offload was passed over: %s", s.BackendReason)
	}
	if code, out := na.macsecctl("rekey", "lan"); code != ExitFailed || !strings.Contains(out, "static keys") {
		t.Errorf("rekey on a static port: exit %d %s", code, out)
	}
	all := na.log.String() + nb.log.String() + na.outputs.String()
	for _, k := range []string{sakA, sakB} {
		if strings.Contains(all, k) {
			t.Errorf("a SAK appears in logs or output")
		}
	}
}

// TestDaemonsInitialPN: with the test-only initial PN just below a low PN
// exhaustion threshold, traffic drives the key server's transmit PN past
// the threshold, MKA rekeys for PN exhaustion, and traffic keeps flowing.
func TestDaemonsInitialPN(t *testing.T) {
	extra := "pn_exhaustion_threshold = 1000\n[port.lan.testing]\ninitial_pn = 900"
	_, a, b, na, _ := startPair(t, "priority = 1\n"+extra, "priority = 2\n"+extra)
	na.waitLog(`msg="testing.initial_pn is set`, time.Second)
	if s := na.status(); s.CurrentSA == nil || s.CurrentSA.NextPN < 900 {
		t.Fatalf("current SA does not start at the initial PN: %+v", s.CurrentSA)
	}
	mustRun(t, a.Command("ip", "addr", "add", "10.79.0.1/24", "dev", "macsec0"))
	mustRun(t, b.Command("ip", "addr", "add", "10.79.0.2/24", "dev", "macsec0"))
	if sent, recv := ping(t, a, "10.79.0.2", 150, "0.05"); recv < sent-1 {
		t.Errorf("traffic across a PN exhaustion rekey: %d of %d answered", recv, sent)
	}
	na.waitLog(`msg="SAK distributed".*reason=pn-exhaustion`, 20*time.Second)
	if s := na.status(); !s.Secured || s.MKA.RekeyCount < 2 {
		t.Errorf("after PN exhaustion: secured %t, rekeys %d", s.Secured, s.MKA.RekeyCount)
	}
}

// TestDaemonUnitCapabilities runs two macsecd with no capability but those
// the systemd unit's CapabilityBoundingSet grants (root without
// CAP_DAC_OVERRIDE, CAP_SYS_ADMIN, ...), via setpriv, and checks that they
// secure the link and pass traffic. With the userspace backend this also
// proves that its parent isolation (an nftables netdev table) needs no
// more than the unit grants.
func TestDaemonUnitCapabilities(t *testing.T) {
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) not installed")
	}
	caps := unitSettings(t, unitFile)["CapabilityBoundingSet"]
	if len(caps) != 1 {
		t.Fatalf("CapabilityBoundingSet: %q", caps)
	}
	bset := "-all"
	for _, c := range strings.Fields(caps[0]) {
		bset += ",+" + strings.ToLower(strings.TrimPrefix(c, "CAP_"))
	}
	daemonWrapper = []string{setpriv, "--bounding-set=" + bset, "--inh-caps=-all", "--no-new-privs"}
	defer func() { daemonWrapper = nil }()
	_, a, b, na, _ := startPair(t, "", "")
	if wantBackend() == "userspace" {
		na.waitLog(`msg="parent isolated".*mechanism="nftables netdev table"`, time.Second)
	}
	mustRun(t, a.Command("ip", "addr", "add", "10.80.0.1/24", "dev", "macsec0"))
	mustRun(t, b.Command("ip", "addr", "add", "10.80.0.2/24", "dev", "macsec0"))
	if sent, recv := ping(t, a, "10.80.0.2", 5, "0.2"); recv != sent {
		t.Fatalf("ping with the unit's capabilities only: %d of %d", recv, sent)
	}
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", na.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(st), "CapEff:\t0000000000003000") {
		t.Errorf("macsecd runs with other capabilities than the unit's:\n%s", st)
	}
}

// TestMain removes the binaries built for the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" && binDir != "/lab/bin" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// TestDaemonsParentReplaced deletes the veth under two secured daemons
// (both ends go) and creates a new one with the same names, as a hotplug
// or a container runtime does: each port starts over on the new parent,
// MKA secures the link again, and the addresses and the route the
// operator had put on the secured interface are back without anyone
// touching it.
func TestDaemonsParentReplaced(t *testing.T) {
	lab, a, b, na, nb := securedPair(t, "10.80.0")
	mustRun(t, a.Command("ip", "route", "add", "10.81.0.0/24", "via", "10.80.0.2", "dev", "macsec0"))
	time.Sleep(2 * watchInterval) // the port records the configuration

	mustRun(t, a.Command("ip", "link", "del", "eth0"))
	lab.Veth(a, "eth0", b, "eth0")
	// The port starts over when it sees the new parent, or earlier when
	// its backend or MKA fails on the old one (the kernel backend's
	// MACsec interface went with it).
	for _, n := range []*node{na, nb} {
		n.waitLog(`parent interface replaced: eth0 is now interface|msg="port failed; retrying"`, 10*time.Second)
	}
	na.waitLog(`msg="IP configuration of the secured interface restored".*addresses=1 routes=1`, 40*time.Second)
	nb.waitLog(`msg="IP configuration of the secured interface restored".*addresses=1 routes=0`, 40*time.Second)
	na.waitSecured(60 * time.Second)
	nb.waitSecured(60 * time.Second)
	if out := mustRun(t, a.Command("ip", "route", "show", "10.81.0.0/24")); !strings.Contains(out, "via 10.80.0.2 dev macsec0") {
		t.Errorf("route not restored: %q", out)
	}
	if sent, recv := ping(t, a, "10.80.0.2", 5, "0.2"); recv < sent-1 {
		t.Errorf("ping after the parent came back: %d of %d answered", recv, sent)
	}
}

// TestDaemonsSecuredInterfaceDeleted deletes a's secured interface under
// a running port, as a careless operator does: the userspace backend
// recreates its TAP, the kernel backend's port starts over and creates
// its MACsec interface again; either way the link is secured again with
// the addresses and the route the operator had put on it.
func TestDaemonsSecuredInterfaceDeleted(t *testing.T) {
	_, a, _, na, nb := securedPair(t, "10.82.0")
	mustRun(t, a.Command("ip", "route", "add", "10.83.0.0/24", "via", "10.82.0.2", "dev", "macsec0"))
	time.Sleep(2 * watchInterval) // the port (or the backend) records the configuration

	mustRun(t, a.Command("ip", "link", "del", "macsec0"))
	na.waitLog(`msg="TAP interface recreated"|secured interface deleted: macsec0`, 10*time.Second)
	na.waitSecured(60 * time.Second)
	nb.waitSecured(60 * time.Second)
	deadline := time.Now().Add(40 * time.Second)
	for {
		out := mustRun(t, a.Command("ip", "route", "show", "10.83.0.0/24"))
		if strings.Contains(out, "via 10.82.0.2 dev macsec0") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("route not restored: %q\nlog:\n%s", out, na.log.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if out := mustRun(t, a.Command("ip", "-4", "addr", "show", "dev", "macsec0")); !strings.Contains(out, "10.82.0.1/24") {
		t.Errorf("address not restored:\n%s", out)
	}
	if sent, recv := ping(t, a, "10.82.0.2", 5, "0.2"); recv < sent-1 {
		t.Errorf("ping after the secured interface came back: %d of %d answered", recv, sent)
	}
}

// TestDaemonUserspaceQueues: [port.NAME.userspace] queues reaches the
// backend (a TAP with two queues), the daemon warns that the replay
// window is too small for interleaved PNs, and the link works.
func TestDaemonUserspaceQueues(t *testing.T) {
	_, a, b, na, _ := startPair(t, "priority = 20\n[port.lan.userspace]\nqueues = 2", "priority = 10\n[port.lan.userspace]\nqueues = 2")
	if out := mustRun(t, a.Command("ls", "/sys/class/net/macsec0/queues")); !strings.Contains(out, "tx-1") {
		t.Errorf("TAP queues: %q, want two", out)
	}
	na.waitLog(`userspace.queues > 1 with a small replay window.*queues=2 replay_window=0 suggested_window=256`, time.Second)
	mustRun(t, a.Command("ip", "addr", "add", "10.84.0.1/24", "dev", "macsec0"))
	mustRun(t, b.Command("ip", "addr", "add", "10.84.0.2/24", "dev", "macsec0"))
	if sent, recv := ping(t, a, "10.84.0.2", 5, "0.2"); recv != sent {
		t.Errorf("ping: %d of %d answered", recv, sent)
	}
}
