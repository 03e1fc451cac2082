package mka

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/macsecd/macsecd/macsec"
	"github.com/macsecd/macsecd/mka/mkpdu"
)

// Timers of 802.1X-2020 Table 9-3: the defaults of Config.HelloTime,
// Config.BoundedHelloTime and Config.LifeTime.
const (
	// HelloTime is the MKA Hello Time: the interval between MKPDUs.
	HelloTime = 2 * time.Second
	// BoundedHelloTime is the MKPDU interval while a SAK is being
	// distributed, installed or retired, so that keys change quickly.
	BoundedHelloTime = 500 * time.Millisecond
	// LifeTime is the MKA Life Time: a peer not heard from for this long
	// is no longer live (or potential).
	LifeTime = 6 * time.Second
)

// TimerError is an invalid MKA timer (see CheckTimers).
type TimerError struct {
	// Timer is the Config field: "HelloTime", "BoundedHelloTime" or
	// "LifeTime".
	Timer string
	// Reason says why, naming the timers as 802.1X-2020 does.
	Reason string
}

func (e *TimerError) Error() string { return "mka: config: " + e.Timer + ": " + e.Reason }

// CheckTimers validates a Hello Time, Bounded Hello Time and Life Time
// (after defaults: zero is not valid here). It returns a *TimerError or nil.
//
// The rules:
//   - every timer is positive;
//   - the Bounded Hello Time is at most the Hello Time (it speeds MKPDUs up
//     while keys change, 802.1X-2020 Table 9-3);
//   - the Life Time is more than twice the Hello Time. 802.1X-2020 9.4.3
//     removes a peer between the Life Time and the Life Time plus a Hello
//     Time after its last MKPDU, and says that this ensures two or more
//     MKPDUs were lost or delayed before a live peer is wrongly removed.
//     The peer's next two MKPDUs are sent a Hello Time and two Hello Times
//     after the last one; both have to miss the Life Time only if it is
//     longer than two Hello Times (at exactly two, the second arrives just
//     after expiry, so one loss drops the peer). We remove a peer at its
//     Life Time, not up to a Hello Time later; the defaults (2 s, 6 s,
//     fixed in wpa_supplicant) leave a Hello Time of margin.
//
// The rules hold for one member's own timers. Peers remove us on their Life
// Time and our Hello Time, so every member of a CA should use the same
// timers (wpa_supplicant 2.10: the defaults).
func CheckTimers(hello, boundedHello, life time.Duration) error {
	switch {
	case hello <= 0:
		return &TimerError{"HelloTime", fmt.Sprintf("Hello Time %v is not positive", hello)}
	case boundedHello <= 0:
		return &TimerError{"BoundedHelloTime", fmt.Sprintf("Bounded Hello Time %v is not positive", boundedHello)}
	case boundedHello > hello:
		return &TimerError{"BoundedHelloTime", fmt.Sprintf("Bounded Hello Time %v is longer than the Hello Time %v", boundedHello, hello)}
	case life <= 2*hello:
		return &TimerError{"LifeTime", fmt.Sprintf("Life Time %v is not more than twice the Hello Time %v: a single lost MKPDU would expire a live peer (802.1X-2020 9.4.3 wants two or more lost or delayed)", life, hello)}
	}
	return nil
}

// PN exhaustion thresholds used when Config.PNExhaustion is zero: three
// quarters of the PN space, as wpa_supplicant does for 32-bit PNs, so that
// the new SAK is in place long before the space runs out.
const (
	DefaultPNExhaustion    uint64 = 0xC0000000
	DefaultXPNPNExhaustion uint64 = 0xC000000000000000
)

// Default key chain lead time: the participant for the next CAK starts this
// long before the CAK's start time, so that it has live peers (and a SAK
// can be distributed under it) the moment the key takes over.
const DefaultKeyLead = 30 * time.Second

// SecurePolicy says what happens to user traffic while the link is not
// secured.
type SecurePolicy uint8

// Policies.
const (
	// ShouldSecure lets traffic pass in the clear until MKA secures the
	// link (and again if the CA is lost), protecting it whenever a SAK is
	// in use.
	ShouldSecure SecurePolicy = iota
	// MustSecure never lets a frame pass unprotected: the controlled port
	// stays disabled until a SAK is installed, protectFrames is always set
	// and validateFrames is always strict.
	MustSecure
)

// String names the policy as the configuration spells it.
func (p SecurePolicy) String() string {
	if p == MustSecure {
		return "must-secure"
	}
	return "should-secure"
}

// ParseSecurePolicy accepts "should-secure" and "must-secure".
func ParseSecurePolicy(s string) (SecurePolicy, error) {
	switch s {
	case "should-secure", "":
		return ShouldSecure, nil
	case "must-secure":
		return MustSecure, nil
	}
	return 0, fmt.Errorf("mka: unknown policy %q (want should-secure or must-secure)", s)
}

// MACsec Capability values of the Basic Parameter Set (802.1X-2020 11.11.1).
const (
	CapabilityNone               uint8 = 0 // MACsec not implemented
	CapabilityIntegrity          uint8 = 1 // integrity without confidentiality
	CapabilityConfidentiality    uint8 = 2 // integrity, confidentiality offset 0
	CapabilityConfidentialityAll uint8 = 3 // integrity, confidentiality offsets 0, 30, 50
)

// Key is one entry of a key chain: a CAK and its name, valid from Start
// (zero: always) until End (zero: never).
type Key struct {
	CKN   []byte // 1 to 32 octets
	CAK   []byte // 16 or 32 octets
	Start time.Time
	End   time.Time
}

// activeAt reports whether the key is in effect at now.
func (k *Key) activeAt(now time.Time) bool {
	return (k.Start.IsZero() || !now.Before(k.Start)) && (k.End.IsZero() || now.Before(k.End))
}

// Config is the configuration of one KaY (one secured port). The zero
// values of the optional fields select the defaults documented on them.
type Config struct {
	// SCI is the SCI of this port's SecY (MAC address and port 1 unless
	// configured otherwise).
	SCI macsec.SCI
	// Keys is the key chain: one participant runs for each key in effect
	// (or starting within KeyLead). Fallback, if set, is used when no key
	// of the chain forms a CA.
	Keys     []Key
	Fallback *Key
	// KeyLead is how long before its start a key's participant begins
	// (DefaultKeyLead if zero).
	KeyLead time.Duration

	// Priority is the Key Server Priority: the lowest value wins; 255
	// means this participant never becomes key server.
	Priority uint8
	// Policy selects should-secure or must-secure.
	Policy SecurePolicy
	// CipherSuite is the suite this participant uses as key server and
	// prefers (GCM-AES-128 if zero). Confidentiality is the offset it asks
	// for as key server.
	CipherSuite     macsec.CipherSuite
	Confidentiality macsec.Confidentiality
	// Capability is the MACsec Capability announced
	// (CapabilityConfidentialityAll if zero and the policy secures).
	Capability uint8
	// ReplayProtect and ReplayWindow are passed to the SecY policy.
	ReplayProtect bool
	ReplayWindow  uint32
	// IncludeSCI sets alwaysIncludeSCI in the SecY policy.
	IncludeSCI bool

	// HelloTime, BoundedHelloTime and LifeTime are the MKA timers
	// (802.1X-2020 Table 9-3): the MKPDU interval, the interval while a
	// SAK is being distributed, installed or retired, and how long a peer
	// stays live (or potential) after its last acceptable MKPDU. Zero
	// selects the standard's value (HelloTime, LifeTime, and
	// BoundedHelloTime or the Hello Time if that is shorter); CheckTimers
	// gives the rules.
	HelloTime        time.Duration
	BoundedHelloTime time.Duration
	LifeTime         time.Duration

	// RekeyInterval, if non-zero, makes the key server distribute a
	// fresh SAK this long after the previous one.
	RekeyInterval time.Duration
	// PNExhaustion is the next-PN value at which the key server rekeys
	// (DefaultPNExhaustion or DefaultXPNPNExhaustion if zero).
	PNExhaustion uint64

	// MKAVersion is the MKA Version Identifier sent (3 if zero; 1 for
	// old peers). Every version is accepted on receipt.
	MKAVersion uint8
	// Destination and EtherType address the MKPDUs we send (PAE group
	// address 01:80:C2:00:00:03 and 0x888E if zero). Source is the MAC of
	// the SCI unless set.
	Destination net.HardwareAddr
	EtherType   uint16
	Source      net.HardwareAddr
	// AlwaysICVIndicator sends the ICV Indicator parameter set in every
	// MKPDU (some switches require it).
	AlwaysICVIndicator bool
}

// timersWithDefaults replaces zero timers by their defaults (the Bounded
// Hello Time no longer than the Hello Time) and checks the result.
func timersWithDefaults(hello, boundedHello, life time.Duration) (time.Duration, time.Duration, time.Duration, error) {
	if hello == 0 {
		hello = HelloTime
	}
	if boundedHello == 0 {
		boundedHello = min(BoundedHelloTime, hello)
	}
	if life == 0 {
		life = LifeTime
	}
	return hello, boundedHello, life, CheckTimers(hello, boundedHello, life)
}

// withDefaults returns a copy of c with defaults filled in, or an error
// naming the first invalid field.
func (c Config) withDefaults() (Config, error) {
	if c.SCI == (macsec.SCI{}) {
		return c, errors.New("mka: config: SCI is zero")
	}
	if len(c.Keys) == 0 && c.Fallback == nil {
		return c, errors.New("mka: config: no CAK (keys or fallback)")
	}
	seen := map[string]bool{}
	check := func(what string, k *Key) error {
		if len(k.CKN) < 1 || len(k.CKN) > 32 {
			return fmt.Errorf("mka: config: %s: CKN must be 1 to 32 octets, got %d", what, len(k.CKN))
		}
		if len(k.CAK) != 16 && len(k.CAK) != 32 {
			return fmt.Errorf("mka: config: %s: CAK must be 16 or 32 octets, got %d", what, len(k.CAK))
		}
		if !k.Start.IsZero() && !k.End.IsZero() && !k.End.After(k.Start) {
			return fmt.Errorf("mka: config: %s: end %s not after start %s", what, k.End, k.Start)
		}
		if seen[string(k.CKN)] {
			return fmt.Errorf("mka: config: %s: CKN %x used twice", what, k.CKN)
		}
		seen[string(k.CKN)] = true
		return nil
	}
	for i := range c.Keys {
		if err := check(fmt.Sprintf("key %d", i), &c.Keys[i]); err != nil {
			return c, err
		}
	}
	if c.Fallback != nil {
		if err := check("fallback key", c.Fallback); err != nil {
			return c, err
		}
	}
	if c.KeyLead == 0 {
		c.KeyLead = DefaultKeyLead
	}
	var err error
	if c.HelloTime, c.BoundedHelloTime, c.LifeTime, err = timersWithDefaults(c.HelloTime, c.BoundedHelloTime, c.LifeTime); err != nil {
		return c, err
	}
	if c.CipherSuite == 0 {
		c.CipherSuite = macsec.GCMAES128
	}
	c.CipherSuite = c.CipherSuite.Canonical()
	if !c.CipherSuite.Valid() {
		return c, fmt.Errorf("mka: config: unsupported cipher suite %s", c.CipherSuite)
	}
	if c.Confidentiality > macsec.ConfidentialityOffset50 {
		return c, fmt.Errorf("mka: config: invalid confidentiality %d", c.Confidentiality)
	}
	if c.Capability == 0 {
		c.Capability = CapabilityConfidentialityAll
	}
	if c.Capability > CapabilityConfidentialityAll {
		return c, fmt.Errorf("mka: config: invalid MACsec capability %d", c.Capability)
	}
	if c.PNExhaustion == 0 {
		c.PNExhaustion = DefaultPNExhaustion
		if c.CipherSuite.XPN() {
			c.PNExhaustion = DefaultXPNPNExhaustion
		}
	}
	switch c.MKAVersion {
	case 0:
		c.MKAVersion = mkpdu.MKAVersion3
	case 1, 2, 3:
	default:
		return c, fmt.Errorf("mka: config: MKA version %d not supported (want 1, 2 or 3)", c.MKAVersion)
	}
	if c.Destination == nil {
		c.Destination = mkpdu.PAEGroupAddress
	}
	if len(c.Destination) != 6 {
		return c, fmt.Errorf("mka: config: destination %s is not a MAC-48 address", c.Destination)
	}
	if c.EtherType == 0 {
		c.EtherType = mkpdu.EtherTypeEAPOL
	}
	if c.Source == nil {
		c.Source = c.SCI.MAC()
	}
	if len(c.Source) != 6 {
		return c, fmt.Errorf("mka: config: source %s is not a MAC-48 address", c.Source)
	}
	return c, nil
}
