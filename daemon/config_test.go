package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/macsecd/macsecd/hwoffload"
	"github.com/macsecd/macsecd/macsec"
)

// fakeKeys serves keys from memory; a path mapped to an error fails.
type fakeKeys map[string]any

func (f fakeKeys) get(name string) ([]byte, error) {
	switch v := f[name].(type) {
	case []byte:
		return bytes.Clone(v), nil
	case error:
		return nil, v
	}
	return nil, fmt.Errorf("%s: no such file or directory", name)
}

func (f fakeKeys) ReadKeyFile(p string) ([]byte, error)    { return f.get(p) }
func (f fakeKeys) ReadCredential(n string) ([]byte, error) { return f.get("cred:" + n) }

func key(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }

const minimal = `
[port.p1]
parent = "eth0"
interface = "macsec0"
[[port.p1.mka.key]]
ckn = "0102"
cak_file = "/k/cak"
`

func TestConfigDefaults(t *testing.T) {
	cfg, err := ParseConfig("t.toml", []byte(minimal), fakeKeys{"/k/cak": key(16, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ControlSocket != DefaultControlSocket || cfg.MetricsListen != "" {
		t.Errorf("daemon defaults: %+v", cfg)
	}
	p := cfg.Port("p1")
	want := macsec.Policy{CipherSuite: macsec.GCMAES128, Confidentiality: macsec.ConfidentialityOffset0,
		ProtectFrames: true, Validate: macsec.ValidateStrict, ReplayProtect: true, IncludeSCI: true}
	if p.Policy != want {
		t.Errorf("policy = %+v, want %+v", p.Policy, want)
	}
	if p.Backend != hwoffload.Auto || p.KeyAgreement != KeyAgreementMKA || !p.MustSecure || p.SCIPort != 1 || p.UserspaceQueues != 1 {
		t.Errorf("port defaults: %+v", p)
	}
	m := p.MKA
	if m.Priority != 16 || m.HelloTime != 2*time.Second || m.BoundedHelloTime != 500*time.Millisecond ||
		m.LifeTime != 6*time.Second || m.RekeyInterval != 0 || m.PNExhaustion != 0xC0000000 ||
		m.EAPOLDest.String() != "01:80:c2:00:00:03" || m.EAPOLEtherType != 0x888E || m.Version != 3 {
		t.Errorf("mka defaults: %+v", m)
	}
	if len(m.Keys) != 1 || !bytes.Equal(m.Keys[0].CKN, []byte{1, 2}) || !bytes.Equal(m.Keys[0].CAK, key(16, 1)) {
		t.Errorf("keys: %+v", m.Keys)
	}
	cfg.Zero()
	if !bytes.Equal(m.Keys[0].CAK, key(16, 0)) {
		t.Errorf("Zero left the CAK in memory")
	}
}

// TestExampleConfig keeps examples/macsecd.toml valid and checks that every
// field it sets arrives where it should.
func TestExampleConfig(t *testing.T) {
	data, err := os.ReadFile("../examples/macsecd.toml")
	if err != nil {
		t.Fatal(err)
	}
	ks := fakeKeys{
		"/etc/macsecd/keys/uplink-2026.cak":     key(32, 1),
		"cred:uplink-2027.cak":                  key(32, 2),
		"/etc/macsecd/keys/uplink-fallback.cak": key(16, 3),
		"/etc/macsecd/keys/backhaul-tx.sak":     key(32, 4),
		"/etc/macsecd/keys/backhaul-rx.sak":     key(32, 5),
	}
	cfg, err := ParseConfig("macsecd.toml", data, ks)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Ports) != 2 || cfg.Ports[0].Name != "backhaul" || cfg.Ports[1].Name != "uplink" {
		t.Fatalf("ports not sorted by name: %v", cfg.Ports)
	}
	up := cfg.Port("uplink")
	if up.MKA.RekeyInterval != time.Hour || len(up.MKA.Keys) != 3 {
		t.Errorf("uplink mka: %+v", up.MKA)
	}
	k := up.MKA.Keys
	if !k[0].End.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) || !k[0].Start.IsZero() ||
		!k[1].Start.Equal(k[0].End) || k[1].Source != "credential uplink-2027.cak" || !k[2].Fallback {
		t.Errorf("key chain: %+v", k)
	}
	if k[0].ActiveAt(k[0].End) || !k[0].ActiveAt(k[0].End.Add(-time.Second)) || k[1].ActiveAt(k[0].End.Add(-time.Second)) {
		t.Errorf("ActiveAt boundaries wrong")
	}
	bh := cfg.Port("backhaul")
	if bh.KeyAgreement != KeyAgreementStatic || bh.Policy.CipherSuite != macsec.GCMAESXPN256 || bh.MKA != nil {
		t.Fatalf("backhaul: %+v", bh)
	}
	st := bh.Static
	if st.TX.SSCI != 1 || st.TX.KeyID[0] != 1 || st.TX.PN != 1 || len(st.RX) != 1 ||
		st.RX[0].PeerSCI.String() != "52540000bb020001" || st.RX[0].SSCI != 2 || !bytes.Equal(st.RX[0].Key, key(32, 5)) {
		t.Errorf("static: %+v", st)
	}
}

func TestConfigEveryField(t *testing.T) {
	src := `
[daemon]
control_socket = "/run/x.sock"
metrics_listen = "127.0.0.1:9727"
log_level = "debug"
[port.p]
parent = "eth0"
interface = "ms0"
backend = "userspace"
cipher_suite = "gcm-aes-xpn-128"
confidentiality = "integrity-only"
policy = "should-secure"
replay_protect = true
replay_window = 64
validate = "strict"
include_sci = false
sci_port = 7
[port.p.mka]
priority = 255
hello_time = "1s"
bounded_hello_time = "250ms"
life_time = "3s"
rekey_interval = "10s"
pn_exhaustion_threshold = 1000
eapol_destination = "02:00:00:00:00:01"
eapol_ethertype = 0x876F
version = 2
always_icv_indicator = true
[[port.p.mka.key]]
ckn = "00"
cak_file = "/k"
[port.p.userspace]
queues = 2
[port.p.testing]
initial_pn = 900
`
	cfg, err := ParseConfig("t.toml", []byte(src), fakeKeys{"/k": key(32, 9)})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ControlSocket != "/run/x.sock" || cfg.MetricsListen != "127.0.0.1:9727" || cfg.LogLevel.String() != "DEBUG" {
		t.Errorf("daemon: %+v", cfg)
	}
	p := cfg.Port("p")
	want := macsec.Policy{CipherSuite: macsec.GCMAESXPN128, Confidentiality: macsec.IntegrityOnly, ProtectFrames: true,
		Validate: macsec.ValidateStrict, ReplayProtect: true, ReplayWindow: 64}
	if p.Policy != want || p.MustSecure || p.SCIPort != 7 || p.Backend != hwoffload.Userspace || p.TestInitialPN != 900 || p.UserspaceQueues != 2 {
		t.Errorf("port: %+v", p)
	}
	m := p.MKA
	if m.Priority != 255 || m.HelloTime != time.Second || m.BoundedHelloTime != 250*time.Millisecond ||
		m.LifeTime != 3*time.Second || m.RekeyInterval != 10*time.Second || m.PNExhaustion != 1000 ||
		!bytes.Equal(m.EAPOLDest, net.HardwareAddr{2, 0, 0, 0, 0, 1}) || m.EAPOLEtherType != 0x876F ||
		m.Version != 2 || !m.AlwaysICVIndex {
		t.Errorf("mka: %+v", m)
	}
}

// TestConfigErrors checks that each mistake is rejected with a message
// naming file, port, field and reason.
func TestConfigErrors(t *testing.T) {
	ks := fakeKeys{"/k/cak": key(16, 1), "/k/short": key(8, 1), "/k/sak16": key(16, 2),
		"/k/bad": errors.New("/k/bad has mode 0644: group or others can access it")}
	for _, tc := range []struct {
		name, src, want string
	}{
		{"unknown key", minimal + "colour = \"red\"\n", `t.toml: port "p1": mka.key.colour: unknown field`},
		{"unknown port key", strings.Replace(minimal, `parent = "eth0"`, "parent = \"eth0\"\nspeed = 10", 1), `port "p1": speed: unknown field`},
		{"unknown section", minimal + "[logging]\nlevel=1\n", `t.toml: logging`},
		{"syntax", "[port.p1\n", `t.toml:2: expected '.' or ']' to end table name`},
		{"no port", "[daemon]\n", `no [port.NAME] section`},
		{"no parent", strings.Replace(minimal, `parent = "eth0"`, "", 1), `port "p1": parent: missing`},
		{"long name", strings.Replace(minimal, `"macsec0"`, `"macsec0123456789"`, 1), `interface: "macsec0123456789" is longer than 15`},
		{"backend", minimal[:len("\n[port.p1]\n")] + "backend = \"fast\"\n" + minimal[len("\n[port.p1]\n"):], `backend: "fast" is not auto, offload, kernel or userspace`},
		{"cipher", strings.Replace(minimal, `parent = "eth0"`, "parent = \"eth0\"\ncipher_suite = \"AES-CBC\"", 1), `cipher_suite: "AES-CBC" is not`},
		{"offset", strings.Replace(minimal, `parent = "eth0"`, "parent = \"eth0\"\nconfidentiality = \"offset-20\"", 1), `confidentiality: "offset-20"`},
		{"policy", strings.Replace(minimal, `parent = "eth0"`, "parent = \"eth0\"\npolicy = \"maybe\"", 1), `policy: "maybe" is not must-secure or should-secure`},
		{"must-secure check", strings.Replace(minimal, `parent = "eth0"`, "parent = \"eth0\"\nvalidate = \"check\"", 1), `validate: "check" contradicts policy must-secure`},
		{"mka validate", strings.Replace(minimal, `parent = "eth0"`, "parent = \"eth0\"\npolicy = \"should-secure\"\nvalidate = \"disabled\"", 1), `validate: "disabled" applies to static keys only`},
		{"window", strings.Replace(minimal, `parent = "eth0"`, "parent = \"eth0\"\nreplay_window = -1", 1), `replay_window: -1 is outside`},
		{"ckn hex", strings.Replace(minimal, `"0102"`, `"01zz"`, 1), `mka.key[0].ckn: not hex`},
		{"ckn long", strings.Replace(minimal, `"0102"`, `"`+strings.Repeat("ab", 33)+`"`, 1), `mka.key[0].ckn: 33 octets; a CKN has 1 to 32`},
		{"cak missing", strings.Replace(minimal, `cak_file = "/k/cak"`, ``, 1), `mka.key[0].cak_file: missing: set cak_file or cak_credential (keys are never inline)`},
		{"cak length", strings.Replace(minimal, `/k/cak`, `/k/short`, 1), `mka.key[0].cak_file: /k/short holds a 8-octet key; want 16 or 32 octets`},
		{"cak mode", strings.Replace(minimal, `/k/cak`, `/k/bad`, 1), `port "p1": mka.key[0].cak_file: /k/bad has mode 0644`},
		{"cak file missing", strings.Replace(minimal, `/k/cak`, `/k/nope`, 1), `mka.key[0].cak_file: /k/nope: no such file`},
		{"priority", strings.Replace(minimal, "[[port.p1.mka.key]]", "[port.p1.mka]\npriority = 256\n[[port.p1.mka.key]]", 1), `mka.priority: 256 is outside 0..255`},
		{"life", mkaFields("life_time = \"3s\""), `t.toml: port "p1": mka.life_time: Life Time 3s is not more than twice the Hello Time 2s`},
		{"life vs slow hello", mkaFields("hello_time = \"3s\""), `port "p1": mka.life_time: Life Time 6s is not more than twice the Hello Time 3s: a single lost MKPDU would expire a live peer`},
		{"hello zero", mkaFields("hello_time = \"0s\""), `port "p1": mka.hello_time: 0s must be positive`},
		{"hello negative", mkaFields("hello_time = \"-1s\""), `port "p1": mka.hello_time: -1s must be positive`},
		{"bounded zero", mkaFields("bounded_hello_time = \"0s\""), `port "p1": mka.bounded_hello_time: 0s must be positive`},
		{"bounded above hello", mkaFields("hello_time = \"1s\"\nbounded_hello_time = \"1.5s\""), `port "p1": mka.bounded_hello_time: Bounded Hello Time 1.5s is longer than the Hello Time 1s`},
		{"life without unit", mkaFields("life_time = 6"), `port "p1": mka.life_time: 6ns is under a millisecond: give a unit, e.g. "2s"`},
		{"rekey", strings.Replace(minimal, "[[port.p1.mka.key]]", "[port.p1.mka]\nrekey_interval = \"1s\"\n[[port.p1.mka.key]]", 1), `mka.rekey_interval: 1s is shorter than life_time`},
		{"ethertype", strings.Replace(minimal, "[[port.p1.mka.key]]", "[port.p1.mka]\neapol_ethertype = 0x0800\n[[port.p1.mka.key]]", 1), `mka.eapol_ethertype: 0x800 is not 0x888E (EAPOL) or 0x876F`},
		{"dest", strings.Replace(minimal, "[[port.p1.mka.key]]", "[port.p1.mka]\neapol_destination = \"nearest\"\n[[port.p1.mka.key]]", 1), `mka.eapol_destination: "nearest" is not pae, bridge, lldp, broadcast or a MAC address`},
		{"version", strings.Replace(minimal, "[[port.p1.mka.key]]", "[port.p1.mka]\nversion = 4\n[[port.p1.mka.key]]", 1), `mka.version: 4 is not 1, 2 or 3`},
		{"end before start", minimal + "start = 2026-02-01T00:00:00Z\nend = 2026-01-01T00:00:00Z\n", `mka.key[0].end: 2026-01-01T00:00:00Z is not after start`},
		{"only fallback", minimal + "fallback = true\n", `mka.key: only a fallback entry`},
		{"initial pn", minimal + "[port.p1.testing]\ninitial_pn = 5000000000\n", `testing.initial_pn: 5000000000 is outside the PN space of GCM-AES-128`},
		{"initial pn above threshold", minimal + "[port.p1.testing]\ninitial_pn = 3221225472\n", `testing.initial_pn: 3221225472 is not below mka.pn_exhaustion_threshold 3221225472`},
		{"queues", minimal + "[port.p1.userspace]\nqueues = 17\n", `port "p1": userspace.queues: 17 is outside 1..16`},
		{"userspace on kernel", strings.Replace(minimal, `parent = "eth0"`, "parent = \"eth0\"\nbackend = \"kernel\"", 1) + "[port.p1.userspace]\nqueues = 2\n",
			`port "p1": userspace: present but backend is kernel`},
		{"static missing", strings.Replace(minimal, `parent = "eth0"`, "parent = \"eth0\"\nkey_agreement = \"static\"", 1), `mka: present but key_agreement is static`},
		{"static sak length", `
[port.s]
parent = "eth0"
interface = "ms0"
key_agreement = "static"
cipher_suite = "GCM-AES-256"
[port.s.static.tx]
an = 0
key_id = "01"
sak_file = "/k/sak16"
[[port.s.static.rx]]
peer_sci = "020000000001000"
an = 4
key_id = "02"
sak_file = "/k/sak16"
`, `static.tx.sak_file: /k/sak16 holds a 16-octet key; want 32 octets`},
		{"same parent", minimal + "[port.p2]\nparent = \"eth0\"\ninterface = \"macsec1\"\n[[port.p2.mka.key]]\nckn = \"01\"\ncak_file = \"/k/cak\"\n",
			`port "p2": parent: "eth0" is already the parent of port "p1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("t.toml", []byte(tc.src), ks)
			if err == nil {
				t.Fatalf("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error\n%v\ndoes not contain\n%s", err, tc.want)
			}
			if strings.Contains(err.Error(), "01010101") {
				t.Errorf("error shows key material: %v", err)
			}
		})
	}
}

// The static SA errors are all reported together, each with its field.
func TestConfigStaticErrorsTogether(t *testing.T) {
	src := `
[port.s]
parent = "eth0"
interface = "ms0"
key_agreement = "static"
cipher_suite = "GCM-AES-XPN-128"
[port.s.static.tx]
an = 0
key_id = "01"
sak_file = "/k"
[[port.s.static.rx]]
peer_sci = "020000000001000"
an = 4
sak_file = "/k"
`
	_, err := ParseConfig("t.toml", []byte(src), fakeKeys{"/k": key(16, 1)})
	for _, want := range []string{
		`static.tx.ssci: missing`, `static.tx.salt: GCM-AES-XPN-128 needs a 12-octet salt`,
		`static.rx[0].peer_sci: "020000000001000" is not 16 hex digits`, `static.rx[0].an: 4 is outside 0..3`,
		`static.rx[0].key_id: missing`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in\n%v", want, err)
		}
	}
}

// mkaFields is the minimal config with lines added to [port.p1.mka].
func mkaFields(lines string) string {
	return strings.Replace(minimal, "[[port.p1.mka.key]]", "[port.p1.mka]\n"+lines+"\n[[port.p1.mka.key]]", 1)
}

// The MKA timers accept any values the participant accepts (802.1X-2020
// defaults when absent), and reach mka.Config unchanged.
func TestConfigTimers(t *testing.T) {
	ks := fakeKeys{"/k/cak": key(16, 1)}
	for _, tc := range []struct {
		name  string
		lines string
		want  [3]time.Duration
	}{
		{"defaults", "", [3]time.Duration{2 * time.Second, 500 * time.Millisecond, 6 * time.Second}},
		{"point-to-point", "hello_time = \"1s\"\nbounded_hello_time = \"250ms\"\nlife_time = \"3s\"", [3]time.Duration{time.Second, 250 * time.Millisecond, 3 * time.Second}},
		{"WAN", "hello_time = \"10s\"\nlife_time = \"30s\"\nrekey_interval = \"1h\"", [3]time.Duration{10 * time.Second, 500 * time.Millisecond, 30 * time.Second}},
		{"bounded follows a short hello", "hello_time = \"300ms\"", [3]time.Duration{300 * time.Millisecond, 300 * time.Millisecond, 6 * time.Second}},
		{"life over twice hello", "hello_time = \"2.5s\"", [3]time.Duration{2500 * time.Millisecond, 500 * time.Millisecond, 6 * time.Second}},
	} {
		cfg, err := ParseConfig("t.toml", []byte(mkaFields(tc.lines)), ks)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		p := cfg.Port("p1")
		m := p.MKA
		if got := [3]time.Duration{m.HelloTime, m.BoundedHelloTime, m.LifeTime}; got != tc.want {
			t.Errorf("%s: timers %v, want %v", tc.name, got, tc.want)
		}
		mc := mkaConfig(p, macsec.SCI{2, 0, 0, 0, 0, 1, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 1})
		if got := [3]time.Duration{mc.HelloTime, mc.BoundedHelloTime, mc.LifeTime}; got != tc.want {
			t.Errorf("%s: mka.Config timers %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestPortConfigEqual(t *testing.T) {
	ks := fakeKeys{"/k/cak": key(16, 1)}
	a, _ := ParseConfig("t.toml", []byte(minimal), ks)
	b, _ := ParseConfig("t.toml", []byte(minimal), ks)
	if !a.Ports[0].Equal(b.Ports[0]) {
		t.Fatal("identical configs differ")
	}
	c, _ := ParseConfig("t.toml", []byte(minimal), fakeKeys{"/k/cak": key(16, 2)})
	if a.Ports[0].Equal(c.Ports[0]) || a.Ports[0].EqualExceptTunables(c.Ports[0]) {
		t.Error("a changed CAK is not a change")
	}
	d, err := ParseConfig("t.toml", []byte(strings.Replace(minimal, "[[port.p1.mka.key]]", "[port.p1.mka]\nrekey_interval = \"1m\"\n[[port.p1.mka.key]]", 1)), ks)
	if err != nil {
		t.Fatal(err)
	}
	if a.Ports[0].Equal(d.Ports[0]) || !a.Ports[0].EqualExceptTunables(d.Ports[0]) {
		t.Error("a rekey interval change must be a tunable change")
	}
	for _, f := range []string{"hello_time = \"1s\"", "bounded_hello_time = \"100ms\"", "life_time = \"10s\""} {
		e, err := ParseConfig("t.toml", []byte(mkaFields(f)), ks)
		if err != nil {
			t.Fatal(err)
		}
		if a.Ports[0].Equal(e.Ports[0]) || !a.Ports[0].EqualExceptTunables(e.Ports[0]) {
			t.Errorf("%s must be a tunable change", f)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(minimal))
	if b, err := os.ReadFile("../examples/macsecd.toml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("[port.x]\nparent=1\n"))
	ks := fakeKeys{"/k/cak": key(16, 1)}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig("fuzz.toml", data, ks)
		if err == nil {
			if len(cfg.Ports) == 0 {
				t.Fatal("accepted a config without ports")
			}
			for _, p := range cfg.Ports {
				if p.KeyAgreement == KeyAgreementMKA && (p.MKA == nil || len(p.MKA.Keys) == 0) {
					t.Fatal("accepted MKA without keys")
				}
			}
		}
	})
}
