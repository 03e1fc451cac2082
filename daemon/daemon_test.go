package daemon

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/macsecd/macsecd/hwoffload"
	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/macsec/secytest"
	"github.com/macsecd/macsecd/mka"
	"github.com/macsecd/macsecd/testenv"
	"github.com/macsecd/macsecd/userspace"
)

// fakeOpener hands out secytest Recorders and remembers every open, so that
// tests see which ports were (re)built.
type fakeOpener struct {
	mu    sync.Mutex
	opens map[string][]*secytest.Recorder // by interface
	fail  map[string]error                // by interface
	// dataplane, when set, is what the SecYs report as their userspace
	// data plane's state.
	dataplane *userspace.State
}

// reportingRecorder is a Recorder with a userspace data plane.
type reportingRecorder struct {
	*secytest.Recorder
	state userspace.State
}

func (r reportingRecorder) State() userspace.State { return r.state }

func (f *fakeOpener) Open(spec *BackendSpec, log *slog.Logger) (*Attachment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail[spec.Interface]; err != nil {
		return nil, err
	}
	mac := net.HardwareAddr{2, 0, 0, 0, 0, byte(len(f.opens) + 1)}
	r := secytest.New(macsec.MakeSCI(mac, spec.SCIPort))
	if f.opens == nil {
		f.opens = map[string][]*secytest.Recorder{}
	}
	f.opens[spec.Interface] = append(f.opens[spec.Interface], r)
	if f.dataplane != nil {
		return &Attachment{SecY: reportingRecorder{r, *f.dataplane}, MAC: mac}, nil
	}
	return &Attachment{SecY: r, MAC: mac}, nil
}

func (f *fakeOpener) recorders(ifname string) []*secytest.Recorder {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*secytest.Recorder(nil), f.opens[ifname]...)
}

type fixedProber hwoffload.Capabilities

func (p fixedProber) Probe(string) hwoffload.Capabilities { return hwoffload.Capabilities(p) }

// fakeMKA stands in for the MKA participant where the test is about the
// daemon: it installs one SA pair like static keying and records tunables
// and rekeys.
type fakeMKA struct {
	static *staticAgreement
	mu     sync.Mutex
	tun    []Tunables
	rekeys []string
}

func (f *fakeMKA) Run(ctx context.Context) error { return f.static.Run(ctx) }
func (f *fakeMKA) Status(ps *PortStatus) {
	ps.MKA = &MKAStatus{CKN: "0102", Priority: 16, LivePeers: []PeerStatus{}, PotentialPeers: []PeerStatus{}}
}
func (f *fakeMKA) Rekey(r string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rekeys = append(f.rekeys, r)
	return nil
}
func (f *fakeMKA) SetTunables(t Tunables) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tun = append(f.tun, t)
	return nil
}

var (
	txKey = bytes.Repeat([]byte{0xa7}, 16)
	rxKey = bytes.Repeat([]byte{0x5c}, 16)
	cak   = bytes.Repeat([]byte{0x3e}, 16)
)

func testConfig(t *testing.T, src string, ks fakeKeys) *Config {
	t.Helper()
	cfg, err := ParseConfig("test.toml", []byte(src), ks)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

const twoPorts = `
[port.a]
parent = "eth0"
interface = "msa"
key_agreement = "static"
[port.a.static.tx]
an = 1
key_id = "aa01"
sak_file = "/k/tx"
[[port.a.static.rx]]
peer_sci = "0200000000990001"
an = 2
key_id = "bb02"
sak_file = "/k/rx"

[port.b]
parent = "eth1"
interface = "msb"
[port.b.mka]
rekey_interval = "%s"
[[port.b.mka.key]]
ckn = "0102"
cak_file = "/k/cak"
`

type harness struct {
	d      *Daemon
	opener *fakeOpener
	log    *testenv.LogBuffer
	sock   string
	mkas   map[string]*fakeMKA
	mu     sync.Mutex
}

func startHarness(t *testing.T, cfg *Config, fail ...map[string]error) *harness {
	return newHarness(t, cfg, func(o *fakeOpener) {
		if len(fail) > 0 {
			o.fail = fail[0]
		}
	})
}

// newHarness is startHarness with the fake opener set up by setup.
func newHarness(t *testing.T, cfg *Config, setup func(*fakeOpener)) *harness {
	h := &harness{opener: &fakeOpener{}, log: &testenv.LogBuffer{}, mkas: map[string]*fakeMKA{}}
	setup(h.opener)
	h.d = New(cfg, Options{
		Log:    slog.New(slog.NewTextHandler(h.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Prober: fixedProber{Userspace: true, UserspaceWhy: "tun ok", KernelWhy: "no macsec family", MACWhy: "no mac offload", PHYWhy: "no phy offload"},
		Opener: h.opener,
		NewAgreement: func(p *PortConfig, att *Attachment, log *slog.Logger) (Agreement, error) {
			if p.KeyAgreement == KeyAgreementStatic {
				return newStaticAgreement(p, att, log), nil
			}
			// MKA ports: key like a static port with fixed test keys.
			sp := *p
			sp.Static = &StaticConfig{
				TX: StaticSA{AN: 0, KeyID: macsec.KeyID{0xcc}, Key: txKey, PN: 1},
				RX: []StaticSA{{PeerSCI: macsec.SCI{2, 0, 0, 0, 0, 0x77, 0, 1}, AN: 0, KeyID: macsec.KeyID{0xcc}, Key: rxKey, PN: 1}},
			}
			f := &fakeMKA{static: newStaticAgreement(&sp, att, log)}
			h.mu.Lock()
			h.mkas[p.Name] = f
			h.mu.Unlock()
			return f, nil
		},
		MonitorInterval: 20 * time.Millisecond,
	})
	h.d.Start()
	h.sock = filepath.Join(t.TempDir(), "control.sock")
	ctl, err := ListenControl(h.sock, h.d, h.d.log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctl.Close()
	})
	return h
}

func (h *harness) waitSecured(t *testing.T, ports ...string) *StatusReport {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		rep, err := h.d.Status("")
		if err != nil {
			t.Fatal(err)
		}
		ok := 0
		for _, ps := range rep.Ports {
			for _, n := range ports {
				if ps.Name == n && ps.Secured {
					ok++
				}
			}
		}
		if ok == len(ports) {
			return rep
		}
		if time.Now().After(deadline) {
			t.Fatalf("ports %v not secured: %+v", ports, rep)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *harness) ctl(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := CtlMain(append([]string{"-s", h.sock}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func keys() fakeKeys {
	return fakeKeys{"/k/tx": txKey, "/k/rx": rxKey, "/k/cak": cak}
}

func TestDaemonStatusReportsWhatItHolds(t *testing.T) {
	h := startHarness(t, testConfig(t, fmt.Sprintf(twoPorts, "1m"), keys()))
	defer h.d.Shutdown()
	h.waitSecured(t, "a", "b")

	code, out, errOut := h.ctl("status", "--json", "a")
	if code != ExitOK {
		t.Fatalf("status a: exit %d, stderr %s", code, errOut)
	}
	var rep StatusReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Version != StatusSchemaVersion || len(rep.Ports) != 1 {
		t.Fatalf("report: %+v", rep)
	}
	ps := rep.Ports[0]
	rec := h.opener.recorders("msa")[0]
	st, _ := rec.Status()
	if ps.SCI != st.SCI.String() || ps.Backend != "userspace" || !strings.Contains(ps.BackendReason, "no macsec family") ||
		ps.State != "secured" || !ps.ControlledPort || ps.KeyAgreement != "static" || ps.Policy != "must-secure" ||
		ps.CipherSuite != "GCM-AES-128" {
		t.Errorf("port status: %+v", ps)
	}
	txID, _ := rec.TxKeyID()
	if ps.CurrentSA == nil || ps.CurrentSA.AN != 1 || ps.CurrentSA.KeyID != txID.String() || ps.CurrentSA.NextPN != 1 {
		t.Errorf("current SA %+v, SecY has key id %s", ps.CurrentSA, txID)
	}
	if len(ps.RxSCs) != 1 || ps.RxSCs[0].SCI != "0200000000990001" || ps.RxSCs[0].SAs[0].AN != 2 ||
		ps.RxSCs[0].SAs[0].KeyID != hex.EncodeToString(append([]byte{0xbb, 2}, make([]byte, 14)...)) {
		t.Errorf("rx SCs: %+v", ps.RxSCs)
	}

	code, out, _ = h.ctl("status")
	if code != ExitOK || !strings.Contains(out, "a: msa on eth0: SECURED") || !strings.Contains(out, "TXSC: "+ps.SCI+" on SA 1") ||
		!strings.Contains(out, "1: PN 1, state on, key aa01") || !strings.Contains(out, "(current)") {
		t.Errorf("status text (exit %d):\n%s", code, out)
	}
	for _, cmd := range []string{"peers", "stats"} {
		if code, out, errOut := h.ctl(cmd); code != ExitOK || out == "" {
			t.Errorf("%s: exit %d %s %s", cmd, code, out, errOut)
		}
	}
	h.assertNoKeys(t, out)
}

// changes lists the state-changing calls a SecY received (reads excluded).
func changes(r *secytest.Recorder) string {
	var out []string
	for _, c := range r.Calls() {
		if c.Op != secytest.OpStatus && c.Op != secytest.OpTxNextPN {
			out = append(out, c.String())
		}
	}
	return strings.Join(out, " ")
}

func (h *harness) assertNoKeys(t *testing.T, more ...string) {
	t.Helper()
	all := h.log.String() + strings.Join(more, "")
	for _, k := range [][]byte{txKey, rxKey, cak} {
		for _, form := range []string{hex.EncodeToString(k), strings.ToUpper(hex.EncodeToString(k)), string(k)} {
			if strings.Contains(all, form) {
				t.Errorf("key material %q appears in output or logs", form)
			}
		}
	}
}

func TestDaemonReloadTouchesOnlyChangedPorts(t *testing.T) {
	h := startHarness(t, testConfig(t, fmt.Sprintf(twoPorts, "1m"), keys()))
	defer h.d.Shutdown()
	h.waitSecured(t, "a", "b")
	recA := h.opener.recorders("msa")[0]
	callsA := len(recA.Calls())
	recB := h.opener.recorders("msb")[0]
	changesB := changes(recB)

	// A rekey interval change is retuned live: no port is rebuilt.
	r := h.d.Reload(testConfig(t, fmt.Sprintf(twoPorts, "2m"), keys()))
	if fmt.Sprint(r.Retuned, r.Unchanged, r.Restarted, r.Added, r.Removed) != "[b] [a] [] [] []" {
		t.Errorf("reload result %+v", r)
	}
	h.mu.Lock()
	tun := h.mkas["b"].tun
	h.mu.Unlock()
	if len(tun) != 1 || tun[0].RekeyInterval != 2*time.Minute {
		t.Errorf("tunables handed to MKA: %+v", tun)
	}
	if n := len(h.opener.recorders("msb")); n != 1 {
		t.Errorf("port b reopened %d times on a tunable change", n-1)
	}
	if h.d.Config().Port("b").MKA.RekeyInterval != 2*time.Minute {
		t.Errorf("running config not updated")
	}

	// A new TX key rebuilds port a only.
	ks := keys()
	ks["/k/tx"] = bytes.Repeat([]byte{0x11}, 16)
	r = h.d.Reload(testConfig(t, fmt.Sprintf(twoPorts, "2m"), ks))
	if fmt.Sprint(r.Restarted, r.Unchanged) != "[a] [b]" {
		t.Errorf("reload result %+v", r)
	}
	if calls := recA.Calls(); calls[len(calls)-1].Op != secytest.OpClose {
		t.Errorf("old SecY of a not closed: %v", calls[len(calls)-1])
	}
	if len(recA.Calls()) <= callsA {
		t.Errorf("port a not rebuilt")
	}
	h.waitSecured(t, "a", "b")
	if n := len(h.opener.recorders("msa")); n != 2 {
		t.Errorf("port a opened %d times, want 2", n)
	}
	if got := changes(recB); got != changesB {
		t.Errorf("unchanged port b's SecY was changed by reloads:\nbefore %s\nafter  %s", changesB, got)
	}

	// Removing b stops it and closes its SecY.
	r = h.d.Reload(testConfig(t, strings.SplitN(fmt.Sprintf(twoPorts, "2m"), "[port.b]", 2)[0], ks))
	if fmt.Sprint(r.Removed) != "[b]" {
		t.Errorf("reload result %+v", r)
	}
	if calls := recB.Calls(); calls[len(calls)-1].Op != secytest.OpClose {
		t.Errorf("removed port's SecY not closed")
	}
	if code, _, errOut := h.ctl("status", "b"); code != ExitFailed || !strings.Contains(errOut, `no port "b"`) {
		t.Errorf("status of removed port: exit %d %s", code, errOut)
	}
	h.assertNoKeys(t)
}

// A reload that changes only MKA timers retunes the port in place: the
// participant gets them through SetTunables, nothing is reopened and the
// port's SecY is not touched.
func TestDaemonReloadRetunesTimers(t *testing.T) {
	withTimers := func(lines string) string {
		return strings.Replace(fmt.Sprintf(twoPorts, "1m"), "rekey_interval = \"1m\"", "rekey_interval = \"1m\"\n"+lines, 1)
	}
	h := startHarness(t, testConfig(t, withTimers(""), keys()))
	defer h.d.Shutdown()
	h.waitSecured(t, "a", "b")
	recB := h.opener.recorders("msb")[0]
	changesB := changes(recB)

	r := h.d.Reload(testConfig(t, withTimers("hello_time = \"1s\"\nbounded_hello_time = \"250ms\"\nlife_time = \"3s\""), keys()))
	if fmt.Sprint(r.Retuned, r.Unchanged, r.Restarted, r.Added, r.Removed) != "[b] [a] [] [] []" {
		t.Errorf("reload result %+v", r)
	}
	h.mu.Lock()
	tun := h.mkas["b"].tun
	h.mu.Unlock()
	want := Tunables{RekeyInterval: time.Minute, PNExhaustion: defaultPNExhaustion32, HelloTime: time.Second, BoundedHelloTime: 250 * time.Millisecond, LifeTime: 3 * time.Second}
	if len(tun) != 1 || tun[0] != want {
		t.Errorf("tunables handed to MKA: %+v, want [%+v]", tun, want)
	}
	if n := len(h.opener.recorders("msb")); n != 1 {
		t.Errorf("port b reopened %d times on a timer change", n-1)
	}
	if got := changes(recB); got != changesB {
		t.Errorf("port b's SecY changed by a timer reload:\nbefore %s\nafter  %s", changesB, got)
	}
	if m := h.d.Config().Port("b").MKA; m.Tunables() != want {
		t.Errorf("running config %+v, want %+v", m.Tunables(), want)
	}
	if !strings.Contains(h.log.String(), "hello_time=1s bounded_hello_time=250ms life_time=3s") {
		t.Errorf("retune not logged with the timers:\n%s", h.log.String())
	}

	// A timer change together with another change rebuilds the port.
	r = h.d.Reload(testConfig(t, withTimers("hello_time = \"1s\"\nlife_time = \"4s\"\npriority = 3"), keys()))
	if fmt.Sprint(r.Restarted, r.Unchanged) != "[b] [a]" {
		t.Errorf("reload result %+v", r)
	}
	h.waitSecured(t, "a", "b")
	if n := len(h.opener.recorders("msb")); n != 2 {
		t.Errorf("port b opened %d times, want 2", n)
	}
}

// The real MKA agreement hands timer changes to its KaY, which refuses
// what mka.CheckTimers refuses; a refusal makes the reload rebuild.
func TestMKAAgreementSetTimers(t *testing.T) {
	cfg := testConfig(t, fmt.Sprintf(twoPorts, "1m"), keys())
	p := cfg.Port("b")
	rec := secytest.New(macsec.SCI{2, 0, 0, 0, 0, 9, 0, 1})
	ka, err := newMKAAgreement(p, &Attachment{SecY: rec, EAPOL: idleConn{}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	timers := func() [3]float64 {
		var ps PortStatus
		ka.Status(&ps)
		return [3]float64{ps.MKA.HelloTime, ps.MKA.BoundedHelloTime, ps.MKA.LifeTime}
	}
	if got := timers(); got != [3]float64{2, 0.5, 6} {
		t.Errorf("timers at start %v, want the defaults", got)
	}
	tun := p.MKA.Tunables()
	tun.HelloTime, tun.BoundedHelloTime, tun.LifeTime = time.Second, 250*time.Millisecond, 3*time.Second
	if err := ka.SetTunables(tun); err != nil {
		t.Errorf("valid timers refused: %v", err)
	}
	if got := timers(); got != [3]float64{1, 0.25, 3} {
		t.Errorf("timers after SetTunables %v, want [1 0.25 3]", got)
	}
	var ps PortStatus
	ka.Status(&ps)
	var text strings.Builder
	writeMKAText(&text, ps.MKA)
	if !strings.Contains(text.String(), "timers: hello 1s, bounded hello 0.25s, life 3s\n") {
		t.Errorf("status text does not show the timers:\n%s", text.String())
	}
	tun.LifeTime = 1500 * time.Millisecond
	var te *mka.TimerError
	if err := ka.SetTunables(tun); !errors.As(err, &te) || te.Timer != "LifeTime" {
		t.Errorf("Life Time under twice the Hello Time: %v, want a LifeTime *mka.TimerError", err)
	}
	if got := timers(); got != [3]float64{1, 0.25, 3} {
		t.Errorf("timers after a refused change %v, want them unchanged", got)
	}
	tun = p.MKA.Tunables()
	tun.PNExhaustion--
	if err := ka.SetTunables(tun); err == nil {
		t.Error("a PN exhaustion change was accepted live")
	}
}

// idleConn is an EAPOL connection on which nothing arrives.
type idleConn struct{}

func (idleConn) ReadFrame([]byte) (int, error)  { select {} }
func (idleConn) WriteFrame([]byte) error        { return nil }
func (idleConn) HardwareAddr() net.HardwareAddr { return net.HardwareAddr{2, 0, 0, 0, 0, 9} }
func (idleConn) Close() error                   { return nil }

func TestDaemonExitCodesAndRekey(t *testing.T) {
	cfg := testConfig(t, fmt.Sprintf(twoPorts, "1m"), keys())
	h := startHarness(t, cfg, map[string]error{"msb": errors.New("parent eth1: no such device")})
	defer h.d.Shutdown()
	h.waitSecured(t, "a")

	// b never comes up: status says why and exits 1.
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, out, _ := h.ctl("status", "b")
		if code == ExitNotSecured && strings.Contains(out, "FAILED") && strings.Contains(out, "parent eth1: no such device") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status b: exit %d\n%s", code, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, _, _ := h.ctl("status"); code != ExitNotSecured {
		t.Errorf("status of all with one unsecured: exit %d", code)
	}
	if code, _, errOut := h.ctl("rekey", "a"); code != ExitFailed || !strings.Contains(errOut, "static keys") {
		t.Errorf("rekey static: exit %d %s", code, errOut)
	}
	if code, _, errOut := h.ctl("rekey"); code != ExitUsage {
		t.Errorf("rekey without port: exit %d %s", code, errOut)
	}
	if code, _, _ := h.ctl("frobnicate"); code != ExitUsage {
		t.Errorf("unknown command: exit %d", code)
	}
	var out, errb bytes.Buffer
	if code := CtlMain([]string{"-s", filepath.Join(t.TempDir(), "none.sock"), "status"}, &out, &errb); code != ExitUnreachable ||
		!strings.Contains(errb.String(), "macsecd unreachable") {
		t.Errorf("unreachable: exit %d %s", code, errb.String())
	}
	if !strings.Contains(h.log.String(), "port failed; retrying") || !strings.Contains(h.log.String(), "no such device") {
		t.Errorf("failure not logged:\n%s", h.log.String())
	}
}

func TestDaemonShutdownClosesSecYs(t *testing.T) {
	h := startHarness(t, testConfig(t, fmt.Sprintf(twoPorts, "1m"), keys()))
	h.waitSecured(t, "a", "b")
	h.d.Shutdown()
	for _, ifn := range []string{"msa", "msb"} {
		calls := h.opener.recorders(ifn)[0].Calls()
		if calls[len(calls)-1].Op != secytest.OpClose {
			t.Errorf("%s: last call %v, want Close", ifn, calls[len(calls)-1])
		}
	}
	if !strings.Contains(h.log.String(), "port stopped") {
		t.Errorf("stop not logged")
	}
}

// TestDataplaneStatus: a backend with its data plane in macsecd has its
// health and counters in status JSON, text and metrics; the others have
// none of it (TestMetrics counts their metric families).
func TestDataplaneStatus(t *testing.T) {
	h := newHarness(t, testConfig(t, fmt.Sprintf(twoPorts, "1m"), keys()), func(o *fakeOpener) {
		o.dataplane = &userspace.State{TAP: "msa", TAPPresent: true, Parent: "eth0", ParentUp: false,
			TAPRecreated: 1, TAPRestored: 2, ParentDownEvents: 3, LastError: "parent: link down",
			TxSegments: 44, RxFrames: 55, RxTAPErrors: 6}
	})
	defer h.d.Shutdown()
	h.waitSecured(t, "a", "b")
	rep, err := h.d.Status("a")
	if err != nil {
		t.Fatal(err)
	}
	if d := rep.Ports[0].Dataplane; d == nil || d.TxSegments != 44 || d.ParentUp {
		t.Fatalf("status data plane %+v", d)
	}
	js, _ := json.Marshal(rep.Ports[0])
	for _, want := range []string{`"dataplane":{"tap":"msa","tap_present":true,"parent":"eth0","parent_up":false,`, `"tx_segments":44`, `"rx_tap_errors":6`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("JSON lacks %s:\n%s", want, js)
		}
	}
	var text bytes.Buffer
	WriteStatusText(&text, rep)
	for _, want := range []string{
		"data plane: TAP msa present, parent eth0 DOWN; TAP recreated 1 (restored 2 addresses and routes), parent down 3 times",
		"tx: frames 0 segments 44;", "rx: frames 55 TAP writes 0; dropped 0 truncated 0 TAP errors 6", "last error: parent: link down",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	rec := httptest.NewRecorder()
	MetricsHandler(h.d).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{
		`macsecd_dataplane_tap_present{port="a"} 1`, `macsecd_dataplane_parent_up{port="a"} 0`,
		`macsecd_dataplane_tx_segments_total{port="a"} 44`, `macsecd_dataplane_tap_recreated_total{port="b"} 1`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if n := strings.Count(rec.Body.String(), "# TYPE macsecd_"); n != 9+len(counterFields)+len(dataplaneFields) {
		t.Errorf("%d metric families, want %d", n, 9+len(counterFields)+len(dataplaneFields))
	}
}

func TestMetrics(t *testing.T) {
	h := startHarness(t, testConfig(t, fmt.Sprintf(twoPorts, "1m"), keys()))
	defer h.d.Shutdown()
	h.waitSecured(t, "a", "b")
	rec := httptest.NewRecorder()
	MetricsHandler(h.d).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`macsecd_port_secured{port="a"} 1`,
		`macsecd_port_info{backend="userspace",cipher_suite="GCM-AES-128",interface="msa",key_agreement="static",offload="off",parent="eth0",policy="must-secure",port="a"} 1`,
		`macsecd_tx_next_pn{port="a"} 1`,
		`macsecd_rx_scs{port="b"} 1`,
		`macsecd_mka_live_peers{port="b"} 0`,
		`macsecd_mka_key_server{port="b"} 0`,
		`# TYPE macsecd_in_pkts_ok_total counter`,
		`macsecd_out_pkts_encrypted_total{port="a"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if t.Failed() {
		t.Log(body)
	}
	if n := strings.Count(body, "# TYPE macsecd_"); n != 7+len(counterFields) {
		t.Errorf("%d metric families, want %d", n, 7+len(counterFields))
	}
}
