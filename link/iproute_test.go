package link

import (
	"bufio"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
)

// A reader of iproute2's text output (`ip -d link show`, `ip -s macsec
// show`) recorded in the lab next to the raw netlink replies, so that the
// host tests can hold this package's decoding against iproute2's.

// ipLinkMacsec returns the key/value pairs of the "macsec" line of
// `ip -d link show`.
func ipLinkMacsec(text string) (map[string]string, error) {
	keys := map[string]bool{"sci": true, "protect": true, "cipher": true, "icvlen": true, "encodingsa": true,
		"validate": true, "offload": true, "encrypt": true, "send_sci": true, "end_station": true,
		"scb": true, "replay": true, "window": true}
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "macsec" {
			continue
		}
		kv := map[string]string{}
		for i := 1; i+1 < len(f); i++ {
			if keys[f[i]] {
				kv[f[i]] = f[i+1]
				i++
			}
		}
		return kv, nil
	}
	return nil, fmt.Errorf("no macsec line in %q", text)
}

type ipSA struct {
	an     int
	pn     uint64 // iproute2 6.1 prints the low 32 bits only, also for XPN
	ssci   string // octets of the SSCI attribute in hex, as iproute2 prints them
	active bool
	keyID  string
	stats  map[string]uint64
}

type ipRxSC struct {
	sci    string
	active bool
	stats  map[string]uint64
	sas    []*ipSA
}

type ipMacsec struct {
	flags      map[string]string
	cipher     string
	icvLen     int
	txSCI      string
	encodingSA int
	secyStats  map[string]uint64
	txscStats  map[string]uint64
	txSAs      []*ipSA
	rxSCs      []*ipRxSC
	offload    string
}

var (
	reHead   = regexp.MustCompile(`^\d+: \S+: (.*)$`)
	reCipher = regexp.MustCompile(`cipher suite: (\S+), using ICV length (\d+)`)
	reTxSC   = regexp.MustCompile(`TXSC: ([0-9a-f]{16}) on SA (\d)`)
	reRxSC   = regexp.MustCompile(`RXSC: ([0-9a-f]{16}), state (on|off)`)
	reSA     = regexp.MustCompile(`^\s+(\d): PN (\d+),\s*(?:SSCI ([0-9a-f]+) )?state (on|off), key ([0-9a-f]+)`)
	reOff    = regexp.MustCompile(`^\s+offload: (\S+)`)
)

// parseIPMacsec reads `ip -s macsec show DEV` output for one interface.
func parseIPMacsec(text string) (*ipMacsec, error) {
	m := &ipMacsec{flags: map[string]string{}}
	var targets []*map[string]uint64 // where the next "stats:" blocks go
	var rx *ipRxSC
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case reHead.MatchString(line):
			f := strings.Fields(reHead.FindStringSubmatch(line)[1])
			for i := 0; i+1 < len(f); i += 2 {
				m.flags[f[i]] = f[i+1]
			}
		case reCipher.MatchString(line):
			s := reCipher.FindStringSubmatch(line)
			m.cipher = s[1]
			m.icvLen, _ = strconv.Atoi(s[2])
		case reTxSC.MatchString(line):
			s := reTxSC.FindStringSubmatch(line)
			m.txSCI = s[1]
			m.encodingSA, _ = strconv.Atoi(s[2])
			targets = []*map[string]uint64{&m.secyStats, &m.txscStats}
		case reRxSC.MatchString(line):
			s := reRxSC.FindStringSubmatch(line)
			rx = &ipRxSC{sci: s[1], active: s[2] == "on"}
			m.rxSCs = append(m.rxSCs, rx)
			targets = []*map[string]uint64{&rx.stats}
		case reSA.MatchString(line):
			s := reSA.FindStringSubmatch(line)
			sa := &ipSA{ssci: s[3], active: s[4] == "on", keyID: s[5]}
			sa.an, _ = strconv.Atoi(s[1])
			sa.pn, _ = strconv.ParseUint(s[2], 10, 64)
			if rx != nil {
				rx.sas = append(rx.sas, sa)
			} else {
				m.txSAs = append(m.txSAs, sa)
			}
			targets = []*map[string]uint64{&sa.stats}
		case reOff.MatchString(line):
			m.offload = reOff.FindStringSubmatch(line)[1]
		case strings.HasPrefix(strings.TrimSpace(line), "stats:"):
			names := strings.Fields(strings.TrimSpace(line))[1:]
			if !sc.Scan() {
				return nil, fmt.Errorf("stats line without values: %q", line)
			}
			vals := strings.Fields(sc.Text())
			if len(vals) != len(names) {
				return nil, fmt.Errorf("%d stats names, %d values", len(names), len(vals))
			}
			if len(targets) == 0 {
				return nil, fmt.Errorf("stats without an owner: %q", line)
			}
			st := map[string]uint64{}
			for i, n := range names {
				v, err := strconv.ParseUint(vals[i], 10, 64)
				if err != nil {
					return nil, err
				}
				st[n] = v
			}
			*targets[0] = st
			targets = targets[1:]
		}
	}
	return m, sc.Err()
}

// statsMap turns a counters struct of package macsec into name -> value;
// the field names are the kernel's (and iproute2's) counter names.
func statsMap(v any) map[string]uint64 {
	out := map[string]uint64{}
	rv := reflect.ValueOf(v)
	for i := 0; i < rv.NumField(); i++ {
		out[rv.Type().Field(i).Name] = rv.Field(i).Uint()
	}
	return out
}
