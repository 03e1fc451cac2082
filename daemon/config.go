package daemon

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/macsecd/macsecd/hwoffload"
	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/mka"
)

// DefaultConfigFile is where macsecd looks for its configuration when no
// -config flag is given.
const DefaultConfigFile = "/etc/macsecd/macsecd.toml"

// DefaultControlSocket is the control socket path when the config does not
// name one. systemd's RuntimeDirectory=macsecd creates its directory.
const DefaultControlSocket = "/run/macsecd/control.sock"

// Config is a validated macsecd configuration with its keys loaded.
// Zero wipes the keys; the daemon calls it when a configuration is replaced
// or rejected.
type Config struct {
	File          string
	ControlSocket string
	MetricsListen string // host:port of the Prometheus endpoint; "" = off
	LogLevel      slog.Level
	Ports         []*PortConfig // sorted by name
}

// Port returns the port with the given name, or nil.
func (c *Config) Port(name string) *PortConfig {
	for _, p := range c.Ports {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Zero overwrites every key the configuration holds.
func (c *Config) Zero() {
	if c == nil {
		return
	}
	for _, p := range c.Ports {
		p.Zero()
	}
}

// KeyAgreement is how a port gets its SAKs.
type KeyAgreement string

// Key agreement modes.
const (
	KeyAgreementMKA    KeyAgreement = "mka"
	KeyAgreementStatic KeyAgreement = "static"
)

// PortConfig is one secured port.
type PortConfig struct {
	Name         string
	Parent       string            // wire-side interface
	Interface    string            // secured interface macsecd creates
	Backend      hwoffload.Backend // auto, offload, kernel, userspace
	KeyAgreement KeyAgreement
	// Policy is the SecY policy; ProtectFrames is true and the rest comes
	// from the config.
	Policy macsec.Policy
	// MustSecure: no traffic passes unprotected, even while MKA has not
	// secured the link (802.1X "must-secure"); otherwise traffic passes in
	// the clear until it has ("should-secure").
	MustSecure bool
	// SCIPort is the port identifier of this port's SCI (default 1).
	SCIPort uint16
	MKA     *MKAConfig    // KeyAgreement == mka
	Static  *StaticConfig // KeyAgreement == static
	// UserspaceQueues is the number of TAP queues and data-path worker
	// pairs when the port runs on the userspace backend (1 to 16).
	UserspaceQueues int
	// TestInitialPN, when non-zero, is the PN of the first frame of every
	// new transmit SA. Tests use it to reach PN exhaustion quickly; it
	// weakens nothing cryptographically but it is not for production.
	TestInitialPN uint64
}

// PolicyName is "must-secure" or "should-secure".
func (p *PortConfig) PolicyName() string {
	if p.MustSecure {
		return "must-secure"
	}
	return "should-secure"
}

// Zero overwrites the port's keys.
func (p *PortConfig) Zero() {
	if p.MKA != nil {
		for i := range p.MKA.Keys {
			clear(p.MKA.Keys[i].CAK)
		}
	}
	if p.Static != nil {
		clear(p.Static.TX.Key)
		for i := range p.Static.RX {
			clear(p.Static.RX[i].Key)
		}
	}
}

// Equal reports whether two port configurations are the same, keys
// included (compared in constant time). The daemon restarts only the ports
// that are not Equal across a reload.
func (p *PortConfig) Equal(q *PortConfig) bool {
	return p.equalExcept(q, false)
}

// EqualExceptTunables is Equal that ignores the settings a running MKA
// participant can take without restarting (see MKAConfig.Tunables).
func (p *PortConfig) EqualExceptTunables(q *PortConfig) bool {
	return p.equalExcept(q, true)
}

func (p *PortConfig) equalExcept(q *PortConfig, ignoreTunables bool) bool {
	if p.Name != q.Name || p.Parent != q.Parent || p.Interface != q.Interface ||
		p.Backend != q.Backend || p.KeyAgreement != q.KeyAgreement ||
		p.Policy != q.Policy || p.MustSecure != q.MustSecure || p.SCIPort != q.SCIPort ||
		p.TestInitialPN != q.TestInitialPN || p.UserspaceQueues != q.UserspaceQueues {
		return false
	}
	if (p.MKA == nil) != (q.MKA == nil) || (p.Static == nil) != (q.Static == nil) {
		return false
	}
	if p.MKA != nil && !p.MKA.equal(q.MKA, ignoreTunables) {
		return false
	}
	if p.Static != nil && !p.Static.equal(q.Static) {
		return false
	}
	return true
}

// MKAConfig is the key agreement part of a port.
type MKAConfig struct {
	Priority uint8
	// HelloTime, BoundedHelloTime and LifeTime are the MKA timers, passed
	// to mka.Config and checked by mka.CheckTimers (defaults filled in).
	HelloTime        time.Duration
	BoundedHelloTime time.Duration
	LifeTime         time.Duration
	// RekeyInterval is the SAK lifetime when this port is key server;
	// 0 means rekey only on events (peer change, PN exhaustion, command).
	RekeyInterval time.Duration
	// PNExhaustion is the transmit PN at which the key server distributes a
	// new SAK.
	PNExhaustion   uint64
	EAPOLDest      net.HardwareAddr
	EAPOLDestName  string // pae, bridge, lldp, broadcast or the MAC
	EAPOLEtherType uint16
	Version        uint8
	AlwaysICVIndex bool // always send the ICV Indicator parameter set
	Keys           []KeyEntry
}

// Tunables are the MKA settings that apply to a running participant
// without restarting it: a change to only these keeps the port secured.
type Tunables struct {
	RekeyInterval    time.Duration
	PNExhaustion     uint64
	HelloTime        time.Duration
	BoundedHelloTime time.Duration
	LifeTime         time.Duration
}

// Tunables returns the live-changeable settings.
func (m *MKAConfig) Tunables() Tunables {
	return Tunables{RekeyInterval: m.RekeyInterval, PNExhaustion: m.PNExhaustion,
		HelloTime: m.HelloTime, BoundedHelloTime: m.BoundedHelloTime, LifeTime: m.LifeTime}
}

// setTunables makes m's live-changeable settings t.
func (m *MKAConfig) setTunables(t Tunables) {
	m.RekeyInterval, m.PNExhaustion = t.RekeyInterval, t.PNExhaustion
	m.HelloTime, m.BoundedHelloTime, m.LifeTime = t.HelloTime, t.BoundedHelloTime, t.LifeTime
}

func (m *MKAConfig) equal(o *MKAConfig, ignoreTunables bool) bool {
	if m.Priority != o.Priority || !bytes.Equal(m.EAPOLDest, o.EAPOLDest) ||
		m.EAPOLEtherType != o.EAPOLEtherType || m.Version != o.Version || m.AlwaysICVIndex != o.AlwaysICVIndex {
		return false
	}
	if !ignoreTunables && m.Tunables() != o.Tunables() {
		return false
	}
	return slices.EqualFunc(m.Keys, o.Keys, func(a, b KeyEntry) bool { return a.equal(&b) })
}

// KeyEntry is one connectivity association key of a port's key chain.
type KeyEntry struct {
	CKN      []byte
	CAK      []byte // secret: never logged or printed
	Source   string // file path or "credential NAME", for messages
	Start    time.Time
	End      time.Time // zero: no end
	Fallback bool
}

// ActiveAt reports whether the entry may be used at t.
func (k *KeyEntry) ActiveAt(t time.Time) bool {
	if !k.Start.IsZero() && t.Before(k.Start) {
		return false
	}
	if !k.End.IsZero() && !t.Before(k.End) {
		return false
	}
	return true
}

func (k *KeyEntry) equal(o *KeyEntry) bool {
	return bytes.Equal(k.CKN, o.CKN) && len(k.CAK) == len(o.CAK) &&
		subtle.ConstantTimeCompare(k.CAK, o.CAK) == 1 &&
		k.Start.Equal(o.Start) && k.End.Equal(o.End) && k.Fallback == o.Fallback
}

// StaticConfig is a port keyed by hand: one transmit SA and one receive SA
// per peer, as `ip macsec` and systemd-networkd configure them.
type StaticConfig struct {
	TX StaticSA
	RX []StaticSA // PeerSCI set
}

func (s *StaticConfig) equal(o *StaticConfig) bool {
	return s.TX.equal(&o.TX) && slices.EqualFunc(s.RX, o.RX, func(a, b StaticSA) bool { return a.equal(&b) })
}

// StaticSA is one hand-keyed SA.
type StaticSA struct {
	PeerSCI macsec.SCI // receive SAs only
	AN      macsec.AN
	KeyID   macsec.KeyID
	Key     []byte // secret
	Source  string
	PN      uint64 // first PN (transmit) or lowest acceptable PN (receive)
	SSCI    uint32 // XPN only
	Salt    macsec.Salt
}

// SAK returns the SA's key in the form backends install.
func (s *StaticSA) SAK() *macsec.SAK {
	return &macsec.SAK{Key: s.Key, ID: s.KeyID, SSCI: s.SSCI, Salt: s.Salt}
}

func (s *StaticSA) equal(o *StaticSA) bool {
	return s.PeerSCI == o.PeerSCI && s.AN == o.AN && s.KeyID == o.KeyID && s.PN == o.PN &&
		s.SSCI == o.SSCI && s.Salt == o.Salt && len(s.Key) == len(o.Key) &&
		subtle.ConstantTimeCompare(s.Key, o.Key) == 1
}

// ConfigError is one problem in a configuration file. Every field is set
// that applies, so that the message says where and why.
type ConfigError struct {
	File   string
	Line   int    // 0 when unknown
	Port   string // "" for the [daemon] section or the file as a whole
	Field  string // dotted path inside the port, e.g. "mka.key[0].cak_file"
	Reason string
}

// Error formats the problem as FILE[:LINE]: port "NAME": FIELD: REASON.
func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Port != "" {
		fmt.Fprintf(&b, ": port %q", e.Port)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": %s", e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	return b.String()
}

// LoadConfig reads, validates and loads the keys of a configuration file.
// It changes nothing on the system. All problems found are returned
// together (errors.Join of *ConfigError).
func LoadConfig(file string) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, &ConfigError{File: file, Reason: err.Error()}
	}
	return ParseConfig(file, data, osKeySource{})
}

// ParseConfig is LoadConfig on data already read; keys come from ks.
func ParseConfig(file string, data []byte, ks KeySource) (*Config, error) {
	var raw rawConfig
	md, err := toml.Decode(string(data), &raw)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &ConfigError{File: file, Line: pe.Position.Line, Reason: pe.Message}
		}
		return nil, &ConfigError{File: file, Reason: err.Error()}
	}
	v := &validator{file: file, ks: ks}
	for _, k := range md.Undecoded() {
		v.unknownKey(k)
	}
	cfg := v.config(&raw)
	if len(v.errs) > 0 {
		cfg.Zero()
		return nil, errors.Join(v.errs...)
	}
	return cfg, nil
}

// The raw* types mirror the file; pointers tell "absent" from zero.
type rawConfig struct {
	Daemon rawDaemon          `toml:"daemon"`
	Port   map[string]rawPort `toml:"port"`
}

type rawDaemon struct {
	ControlSocket string `toml:"control_socket"`
	MetricsListen string `toml:"metrics_listen"`
	LogLevel      string `toml:"log_level"`
}

type rawPort struct {
	Parent          string     `toml:"parent"`
	Interface       string     `toml:"interface"`
	Backend         string     `toml:"backend"`
	KeyAgreement    string     `toml:"key_agreement"`
	CipherSuite     string     `toml:"cipher_suite"`
	Confidentiality string     `toml:"confidentiality"`
	Policy          string     `toml:"policy"`
	ReplayProtect   *bool      `toml:"replay_protect"`
	ReplayWindow    *int64     `toml:"replay_window"`
	Validate        string     `toml:"validate"`
	IncludeSCI      *bool      `toml:"include_sci"`
	SCIPort         *int64     `toml:"sci_port"`
	MKA             *rawMKA    `toml:"mka"`
	Static          *rawStatic `toml:"static"`
	Userspace       *rawUser   `toml:"userspace"`
	Testing         *rawTest   `toml:"testing"`
}

type rawUser struct {
	Queues *int64 `toml:"queues"`
}

type rawMKA struct {
	Priority           *int64         `toml:"priority"`
	HelloTime          *time.Duration `toml:"hello_time"`
	BoundedHelloTime   *time.Duration `toml:"bounded_hello_time"`
	LifeTime           *time.Duration `toml:"life_time"`
	RekeyInterval      *time.Duration `toml:"rekey_interval"`
	PNExhaustion       *int64         `toml:"pn_exhaustion_threshold"`
	EAPOLDestination   string         `toml:"eapol_destination"`
	EAPOLEtherType     *int64         `toml:"eapol_ethertype"`
	Version            *int64         `toml:"version"`
	AlwaysICVIndicator bool           `toml:"always_icv_indicator"`
	Key                []rawKey       `toml:"key"`
}

type rawKey struct {
	CKN           string     `toml:"ckn"`
	CAKFile       string     `toml:"cak_file"`
	CAKCredential string     `toml:"cak_credential"`
	Start         *time.Time `toml:"start"`
	End           *time.Time `toml:"end"`
	Fallback      bool       `toml:"fallback"`
}

type rawStatic struct {
	TX *rawSA  `toml:"tx"`
	RX []rawSA `toml:"rx"`
}

type rawSA struct {
	PeerSCI       string `toml:"peer_sci"`
	AN            *int64 `toml:"an"`
	KeyID         string `toml:"key_id"`
	SAKFile       string `toml:"sak_file"`
	SAKCredential string `toml:"sak_credential"`
	PN            *int64 `toml:"pn"`
	SSCI          *int64 `toml:"ssci"`
	Salt          string `toml:"salt"`
}

type rawTest struct {
	InitialPN *int64 `toml:"initial_pn"`
}

// Defaults applied when a field is absent; docs/config.md lists them.
const (
	defaultPriority         = 16
	defaultHelloTime        = mka.HelloTime
	defaultBoundedHelloTime = mka.BoundedHelloTime
	defaultLifeTime         = mka.LifeTime
	defaultMKAVersion       = 3
	defaultPNExhaustion32   = mka.DefaultPNExhaustion
	defaultPNExhaustion64   = mka.DefaultXPNPNExhaustion
)

// EAPOL destinations by name (802.1X-2020 11.1.1 table 11-1).
var eapolDestinations = map[string]net.HardwareAddr{
	"pae":       {0x01, 0x80, 0xc2, 0x00, 0x00, 0x03},
	"bridge":    {0x01, 0x80, 0xc2, 0x00, 0x00, 0x00},
	"lldp":      {0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e},
	"broadcast": {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
}

// EAPOL EtherTypes: the standard one and the one for WANs (802.1X-2020 11.1.4).
const (
	etherTypeEAPOL    = 0x888E
	etherTypeWANEAPOL = 0x876F
)

type validator struct {
	file string
	ks   KeySource
	errs []error
	port string
}

func (v *validator) errorf(field, format string, args ...any) {
	v.errs = append(v.errs, &ConfigError{File: v.file, Port: v.port, Field: field, Reason: fmt.Sprintf(format, args...)})
}

func (v *validator) unknownKey(k toml.Key) {
	e := &ConfigError{File: v.file, Reason: "unknown field"}
	switch {
	case len(k) >= 2 && k[0] == "port":
		e.Port = k[1]
		e.Field = strings.Join(k[2:], ".")
	default:
		e.Field = strings.Join(k, ".")
	}
	if e.Field == "" {
		e.Reason = "unknown section"
		e.Field = strings.Join(k, ".")
	}
	v.errs = append(v.errs, e)
}

func (v *validator) config(raw *rawConfig) *Config {
	cfg := &Config{
		File:          v.file,
		ControlSocket: raw.Daemon.ControlSocket,
		MetricsListen: raw.Daemon.MetricsListen,
	}
	if cfg.ControlSocket == "" {
		cfg.ControlSocket = DefaultControlSocket
	} else if !strings.HasPrefix(cfg.ControlSocket, "/") {
		v.errorf("daemon.control_socket", "%q is not an absolute path", cfg.ControlSocket)
	}
	if cfg.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(cfg.MetricsListen); err != nil {
			v.errorf("daemon.metrics_listen", "%q is not host:port (%v)", cfg.MetricsListen, err)
		}
	}
	if raw.Daemon.LogLevel != "" {
		if err := cfg.LogLevel.UnmarshalText([]byte(raw.Daemon.LogLevel)); err != nil {
			v.errorf("daemon.log_level", "%q is not debug, info, warn or error", raw.Daemon.LogLevel)
		}
	}
	if len(raw.Port) == 0 {
		v.errorf("port", "no [port.NAME] section: nothing to secure")
	}
	names := make([]string, 0, len(raw.Port))
	for name := range raw.Port {
		names = append(names, name)
	}
	sort.Strings(names)
	parents := map[string]string{}
	ifaces := map[string]string{}
	for _, name := range names {
		rp := raw.Port[name]
		v.port = name
		p := v.portConfig(name, &rp)
		v.port = ""
		if p == nil {
			continue
		}
		if other, ok := parents[p.Parent]; ok && p.Parent != "" {
			v.errs = append(v.errs, &ConfigError{File: v.file, Port: name, Field: "parent",
				Reason: fmt.Sprintf("%q is already the parent of port %q; one port per parent", p.Parent, other)})
		}
		parents[p.Parent] = name
		if other, ok := ifaces[p.Interface]; ok && p.Interface != "" {
			v.errs = append(v.errs, &ConfigError{File: v.file, Port: name, Field: "interface",
				Reason: fmt.Sprintf("%q is already the interface of port %q", p.Interface, other)})
		}
		ifaces[p.Interface] = name
		cfg.Ports = append(cfg.Ports, p)
	}
	return cfg
}

func validIfName(s string) string {
	switch {
	case s == "":
		return "missing"
	case len(s) > 15:
		return fmt.Sprintf("%q is longer than 15 characters (IFNAMSIZ)", s)
	case s == "." || s == "..":
		return fmt.Sprintf("%q is not an interface name", s)
	case strings.ContainsAny(s, "/: \t\n"):
		return fmt.Sprintf("%q contains '/', ':' or whitespace", s)
	}
	return ""
}

func (v *validator) portConfig(name string, rp *rawPort) *PortConfig {
	p := &PortConfig{Name: name, Parent: rp.Parent, Interface: rp.Interface, SCIPort: 1}
	// Port names appear in commands, log lines and metric labels.
	if name == "" || strings.ContainsAny(name, " \t\n\"'") {
		v.errorf("", "port name %q is empty or contains whitespace or quotes", name)
	}
	if r := validIfName(rp.Parent); r != "" {
		v.errorf("parent", "%s", r)
	}
	if r := validIfName(rp.Interface); r != "" {
		v.errorf("interface", "%s", r)
	}
	if rp.Parent != "" && rp.Parent == rp.Interface {
		v.errorf("interface", "must differ from parent %q", rp.Parent)
	}

	switch b := hwoffload.Backend(rp.Backend); b {
	case "":
		p.Backend = hwoffload.Auto
	case hwoffload.Auto, hwoffload.Offload, hwoffload.Kernel, hwoffload.Userspace:
		p.Backend = b
	default:
		v.errorf("backend", "%q is not auto, offload, kernel or userspace", rp.Backend)
	}

	switch KeyAgreement(rp.KeyAgreement) {
	case "", KeyAgreementMKA:
		p.KeyAgreement = KeyAgreementMKA
	case KeyAgreementStatic:
		p.KeyAgreement = KeyAgreementStatic
	default:
		v.errorf("key_agreement", "%q is not mka or static", rp.KeyAgreement)
	}

	pol := &p.Policy
	pol.ProtectFrames = true
	pol.CipherSuite = macsec.GCMAES128
	if rp.CipherSuite != "" {
		cs, err := macsec.ParseCipherSuite(rp.CipherSuite)
		if err != nil {
			v.errorf("cipher_suite", "%q is not GCM-AES-128, GCM-AES-256, GCM-AES-XPN-128 or GCM-AES-XPN-256", rp.CipherSuite)
		} else {
			pol.CipherSuite = cs
		}
	}
	switch rp.Confidentiality {
	case "", "offset-0":
		pol.Confidentiality = macsec.ConfidentialityOffset0
	case "offset-30":
		pol.Confidentiality = macsec.ConfidentialityOffset30
	case "offset-50":
		pol.Confidentiality = macsec.ConfidentialityOffset50
	case "integrity-only":
		pol.Confidentiality = macsec.IntegrityOnly
	default:
		v.errorf("confidentiality", "%q is not offset-0, offset-30, offset-50 or integrity-only", rp.Confidentiality)
	}
	switch rp.Policy {
	case "", "must-secure":
		p.MustSecure = true
	case "should-secure":
	default:
		v.errorf("policy", "%q is not must-secure or should-secure", rp.Policy)
	}
	pol.ReplayProtect = true
	if rp.ReplayProtect != nil {
		pol.ReplayProtect = *rp.ReplayProtect
	}
	if rp.ReplayWindow != nil {
		w := *rp.ReplayWindow
		max := int64(1<<32 - 1)
		if pol.CipherSuite.XPN() {
			max = 1<<30 - 1 // 802.1AE-2018 10.7.8: at most 2^30 - 1 with XPN
		}
		if w < 0 || w > max {
			v.errorf("replay_window", "%d is outside 0..%d", w, max)
		} else {
			pol.ReplayWindow = uint32(w)
		}
		if w > 0 && !pol.ReplayProtect {
			v.errorf("replay_window", "set while replay_protect = false")
		}
	}
	switch rp.Validate {
	case "", "strict":
		pol.Validate = macsec.ValidateStrict
	case "check":
		pol.Validate = macsec.ValidateCheck
	case "disabled":
		pol.Validate = macsec.ValidateDisabled
	default:
		v.errorf("validate", "%q is not strict, check or disabled", rp.Validate)
	}
	if p.MustSecure && pol.Validate != macsec.ValidateStrict {
		v.errorf("validate", "%q contradicts policy must-secure, which drops every frame that fails validation; use strict or should-secure", rp.Validate)
	}
	pol.IncludeSCI = true
	if rp.IncludeSCI != nil {
		pol.IncludeSCI = *rp.IncludeSCI
	}
	if rp.SCIPort != nil {
		if *rp.SCIPort < 1 || *rp.SCIPort > 0xffff {
			v.errorf("sci_port", "%d is outside 1..65535", *rp.SCIPort)
		} else {
			p.SCIPort = uint16(*rp.SCIPort)
		}
	}
	p.UserspaceQueues = 1
	if u := rp.Userspace; u != nil {
		if p.Backend == hwoffload.Kernel || p.Backend == hwoffload.Offload {
			v.errorf("userspace", "present but backend is %s", p.Backend)
		}
		if u.Queues != nil {
			if *u.Queues < 1 || *u.Queues > 16 {
				v.errorf("userspace.queues", "%d is outside 1..16", *u.Queues)
			} else {
				p.UserspaceQueues = int(*u.Queues)
			}
		}
	}
	if rp.Testing != nil && rp.Testing.InitialPN != nil {
		pn := *rp.Testing.InitialPN
		if pn < 1 || (!pol.CipherSuite.XPN() && pn > 0xffffffff) {
			v.errorf("testing.initial_pn", "%d is outside the PN space of %s", pn, pol.CipherSuite)
		} else {
			p.TestInitialPN = uint64(pn)
		}
	}

	switch p.KeyAgreement {
	case KeyAgreementMKA:
		if rp.Static != nil {
			v.errorf("static", "present but key_agreement is mka")
		}
		p.MKA = v.mkaConfig(rp.MKA, pol.CipherSuite)
		if pol.Validate != macsec.ValidateStrict && !p.MustSecure {
			// The participant sets validateFrames itself: check while
			// should-secure passes clear traffic, strict once secured.
			v.errorf("validate", "%q applies to static keys only; with MKA frames are validated strictly once secured", rp.Validate)
		}
		if p.TestInitialPN != 0 && p.TestInitialPN >= p.MKA.PNExhaustion {
			// Every new SA would start exhausted and rekey at once, forever.
			v.errorf("testing.initial_pn", "%d is not below mka.pn_exhaustion_threshold %d", p.TestInitialPN, p.MKA.PNExhaustion)
		}
	case KeyAgreementStatic:
		if rp.MKA != nil {
			v.errorf("mka", "present but key_agreement is static")
		}
		if rp.Static == nil {
			v.errorf("static", "missing: key_agreement = \"static\" needs [port.%s.static] with tx and rx SAs", name)
		} else {
			p.Static = v.staticConfig(rp.Static, pol.CipherSuite)
		}
	}
	return p
}

func (v *validator) mkaConfig(rm *rawMKA, cs macsec.CipherSuite) *MKAConfig {
	m := &MKAConfig{
		Priority:         defaultPriority,
		HelloTime:        defaultHelloTime,
		BoundedHelloTime: defaultBoundedHelloTime,
		LifeTime:         defaultLifeTime,
		PNExhaustion:     defaultPNExhaustion32,
		EAPOLDest:        eapolDestinations["pae"],
		EAPOLDestName:    "pae",
		EAPOLEtherType:   etherTypeEAPOL,
		Version:          defaultMKAVersion,
	}
	if cs.XPN() {
		m.PNExhaustion = defaultPNExhaustion64
	}
	if rm == nil {
		v.errorf("mka.key", "missing: MKA needs at least one [[port.%s.mka.key]] with ckn and cak_file or cak_credential", v.port)
		return m
	}
	if rm.Priority != nil {
		if *rm.Priority < 0 || *rm.Priority > 255 {
			v.errorf("mka.priority", "%d is outside 0..255", *rm.Priority)
		} else {
			m.Priority = uint8(*rm.Priority)
		}
	}
	timersOK := true
	dur := func(field string, p *time.Duration, dst *time.Duration, allowZero bool) {
		if p == nil {
			return
		}
		if *p < 0 || (*p == 0 && !allowZero) {
			v.errorf(field, "%v must be positive", *p)
			timersOK = false
			return
		}
		if *p > 0 && *p < time.Millisecond {
			// TOML reads a bare integer as nanoseconds.
			v.errorf(field, "%v is under a millisecond: give a unit, e.g. \"2s\" (a bare number counts nanoseconds)", *p)
			timersOK = false
			return
		}
		*dst = *p
	}
	dur("mka.hello_time", rm.HelloTime, &m.HelloTime, false)
	dur("mka.life_time", rm.LifeTime, &m.LifeTime, false)
	// Like mka.Config: an unset bounded hello is the standard's 500 ms, or
	// the hello time if that is shorter.
	m.BoundedHelloTime = min(defaultBoundedHelloTime, m.HelloTime)
	dur("mka.bounded_hello_time", rm.BoundedHelloTime, &m.BoundedHelloTime, false)
	dur("mka.rekey_interval", rm.RekeyInterval, &m.RekeyInterval, true)
	// The participant's own rules, reported against this file's fields.
	var te *mka.TimerError
	if err := mka.CheckTimers(m.HelloTime, m.BoundedHelloTime, m.LifeTime); timersOK && errors.As(err, &te) {
		field := map[string]string{"HelloTime": "mka.hello_time", "BoundedHelloTime": "mka.bounded_hello_time", "LifeTime": "mka.life_time"}[te.Timer]
		v.errorf(field, "%s", te.Reason)
	}
	if m.RekeyInterval != 0 && m.RekeyInterval < m.LifeTime {
		v.errorf("mka.rekey_interval", "%v is shorter than life_time %v; a SAK must outlive the MKPDUs that distribute it", m.RekeyInterval, m.LifeTime)
	}
	if rm.PNExhaustion != nil {
		t := *rm.PNExhaustion
		if t < 1 || (!cs.XPN() && t > 0xffffffff) {
			v.errorf("mka.pn_exhaustion_threshold", "%d is outside the PN space of %s", t, cs)
		} else {
			m.PNExhaustion = uint64(t)
		}
	}
	if d := rm.EAPOLDestination; d != "" {
		if mac, ok := eapolDestinations[d]; ok {
			m.EAPOLDest, m.EAPOLDestName = mac, d
		} else if mac, err := net.ParseMAC(d); err == nil && len(mac) == 6 {
			m.EAPOLDest, m.EAPOLDestName = mac, mac.String()
		} else {
			v.errorf("mka.eapol_destination", "%q is not pae, bridge, lldp, broadcast or a MAC address", d)
		}
	}
	if rm.EAPOLEtherType != nil {
		switch *rm.EAPOLEtherType {
		case etherTypeEAPOL, etherTypeWANEAPOL:
			m.EAPOLEtherType = uint16(*rm.EAPOLEtherType)
		default:
			v.errorf("mka.eapol_ethertype", "%#x is not 0x888E (EAPOL) or 0x876F (WAN EAPOL)", *rm.EAPOLEtherType)
		}
	}
	if rm.Version != nil {
		if *rm.Version < 1 || *rm.Version > 3 {
			v.errorf("mka.version", "%d is not 1, 2 or 3", *rm.Version)
		} else {
			m.Version = uint8(*rm.Version)
		}
	}
	m.AlwaysICVIndex = rm.AlwaysICVIndicator
	if len(rm.Key) == 0 {
		v.errorf("mka.key", "missing: MKA needs at least one [[port.%s.mka.key]] with ckn and cak_file or cak_credential", v.port)
	}
	fallbacks := 0
	ckns := map[string]int{}
	for i := range rm.Key {
		rk := &rm.Key[i]
		field := fmt.Sprintf("mka.key[%d]", i)
		k := KeyEntry{Fallback: rk.Fallback}
		ckn, err := decodeHex(rk.CKN)
		switch {
		case rk.CKN == "":
			v.errorf(field+".ckn", "missing")
		case err != nil:
			v.errorf(field+".ckn", "not hex: %v", err)
		case len(ckn) < 1 || len(ckn) > 32:
			v.errorf(field+".ckn", "%d octets; a CKN has 1 to 32", len(ckn))
		default:
			k.CKN = ckn
			if j, dup := ckns[string(ckn)]; dup {
				v.errorf(field+".ckn", "same CKN as mka.key[%d]", j)
			}
			ckns[string(ckn)] = i
		}
		if rk.Start != nil {
			k.Start = *rk.Start
		}
		if rk.End != nil {
			k.End = *rk.End
		}
		if !k.Start.IsZero() && !k.End.IsZero() && !k.End.After(k.Start) {
			v.errorf(field+".end", "%s is not after start %s", k.End.Format(time.RFC3339), k.Start.Format(time.RFC3339))
		}
		if k.Fallback {
			fallbacks++
			if fallbacks > 1 {
				v.errorf(field+".fallback", "more than one fallback entry")
			}
		}
		k.CAK, k.Source = v.loadKey(field, "cak", rk.CAKFile, rk.CAKCredential, []int{16, 32})
		m.Keys = append(m.Keys, k)
	}
	if len(rm.Key) > 0 && fallbacks == len(rm.Key) {
		v.errorf("mka.key", "only a fallback entry; add a primary key")
	}
	return m
}

func (v *validator) loadKey(field, what, file, cred string, lens []int) ([]byte, string) {
	switch {
	case file == "" && cred == "":
		v.errorf(field+"."+what+"_file", "missing: set %s_file or %s_credential (keys are never inline)", what, what)
		return nil, ""
	case file != "" && cred != "":
		v.errorf(field+"."+what+"_file", "both %s_file and %s_credential set; choose one", what, what)
		return nil, ""
	}
	var key []byte
	var src string
	var err error
	if file != "" {
		src = file
		key, err = v.ks.ReadKeyFile(file)
		if err != nil {
			v.errorf(field+"."+what+"_file", "%v", err)
			return nil, src
		}
	} else {
		src = "credential " + cred
		key, err = v.ks.ReadCredential(cred)
		if err != nil {
			v.errorf(field+"."+what+"_credential", "%v", err)
			return nil, src
		}
	}
	ok := false
	for _, l := range lens {
		ok = ok || len(key) == l
	}
	if !ok {
		f := field + "." + what + "_file"
		if cred != "" {
			f = field + "." + what + "_credential"
		}
		v.errorf(f, "%s holds a %d-octet key; want %s octets", src, len(key), joinInts(lens))
		clear(key)
		return nil, src
	}
	return key, src
}

func joinInts(l []int) string {
	s := make([]string, len(l))
	for i, n := range l {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, " or ")
}

func (v *validator) staticConfig(rs *rawStatic, cs macsec.CipherSuite) *StaticConfig {
	s := &StaticConfig{}
	if rs.TX == nil {
		v.errorf("static.tx", "missing: a static port needs its transmit SA")
	} else {
		s.TX = v.staticSA("static.tx", rs.TX, cs, false)
	}
	if len(rs.RX) == 0 {
		v.errorf("static.rx", "missing: a static port needs one [[...static.rx]] per peer")
	}
	seen := map[macsec.SCI]int{}
	for i := range rs.RX {
		field := fmt.Sprintf("static.rx[%d]", i)
		sa := v.staticSA(field, &rs.RX[i], cs, true)
		if j, dup := seen[sa.PeerSCI]; dup && rs.RX[i].PeerSCI != "" {
			v.errorf(field+".peer_sci", "same peer as static.rx[%d]", j)
		}
		seen[sa.PeerSCI] = i
		s.RX = append(s.RX, sa)
	}
	return s
}

func (v *validator) staticSA(field string, r *rawSA, cs macsec.CipherSuite, rx bool) StaticSA {
	sa := StaticSA{PN: 1}
	if rx {
		if r.PeerSCI == "" {
			v.errorf(field+".peer_sci", "missing: the peer's SCI (16 hex digits: MAC then port)")
		} else if sci, err := macsec.ParseSCI(r.PeerSCI); err != nil {
			v.errorf(field+".peer_sci", "%q is not 16 hex digits", r.PeerSCI)
		} else {
			sa.PeerSCI = sci
		}
	} else if r.PeerSCI != "" {
		v.errorf(field+".peer_sci", "only receive SAs name a peer")
	}
	if r.AN == nil {
		v.errorf(field+".an", "missing: association number 0..3")
	} else if *r.AN < 0 || *r.AN > 3 {
		v.errorf(field+".an", "%d is outside 0..3", *r.AN)
	} else {
		sa.AN = macsec.AN(*r.AN)
	}
	if r.KeyID == "" {
		v.errorf(field+".key_id", "missing: the key identifier (up to 16 octets of hex) that status shows in place of the key")
	} else if id, err := decodeHex(r.KeyID); err != nil || len(id) == 0 || len(id) > 16 {
		v.errorf(field+".key_id", "%q is not 1 to 16 octets of hex", r.KeyID)
	} else {
		copy(sa.KeyID[:], id)
	}
	if r.PN != nil {
		if *r.PN < 1 || (!cs.XPN() && *r.PN > 0xffffffff) {
			v.errorf(field+".pn", "%d is outside the PN space of %s", *r.PN, cs)
		} else {
			sa.PN = uint64(*r.PN)
		}
	}
	if cs.XPN() {
		if r.SSCI == nil {
			v.errorf(field+".ssci", "missing: %s needs the short SCI of the transmitter", cs)
		} else if *r.SSCI < 0 || *r.SSCI > 0xffffffff {
			v.errorf(field+".ssci", "%d is outside 0..2^32-1", *r.SSCI)
		} else {
			sa.SSCI = uint32(*r.SSCI)
		}
		if salt, err := decodeHex(r.Salt); err != nil || len(salt) != 12 {
			v.errorf(field+".salt", "%s needs a 12-octet salt in hex", cs)
		} else {
			copy(sa.Salt[:], salt)
		}
	} else if r.SSCI != nil || r.Salt != "" {
		v.errorf(field+".ssci", "ssci and salt apply only to the XPN cipher suites")
	}
	sa.Key, sa.Source = v.loadKey(field, "sak", r.SAKFile, r.SAKCredential, []int{cs.KeyLen()})
	return sa
}

// decodeHex accepts hex digits with an optional 0x prefix and optional
// colons between octets. It reads key files too, so it works on the bytes
// read (which the caller zeroes) without making copies it cannot zero.
func decodeHex[T string | []byte](s T) ([]byte, error) {
	start := 0
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		start = 2
	}
	digits := 0
	for i := start; i < len(s); i++ {
		if s[i] != ':' {
			digits++
		}
	}
	if digits%2 != 0 {
		return nil, errors.New("odd number of hex digits")
	}
	b := make([]byte, digits/2)
	var hi byte
	n := 0
	for i := start; i < len(s); i++ {
		if s[i] == ':' {
			continue
		}
		v, ok := unhex(s[i])
		if !ok {
			clear(b)
			return nil, fmt.Errorf("invalid hex digit at position %d", n)
		}
		if n%2 == 0 {
			hi = v
		} else {
			b[n/2] = hi<<4 | v
		}
		n++
	}
	return b, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
