package daemon

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/macsecd/macsecd/userspace"
)

// MetricsHandler serves the Prometheus metrics of a daemon. They are read
// from the same status snapshot macsecctl shows, at scrape time.
func MetricsHandler(d *Daemon) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(newCollector(d))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// counterFields maps each Counters field to its metric, derived from the
// JSON name so that metrics and `macsecctl stats --json` agree:
// in_pkts_ok becomes macsecd_in_pkts_ok_total.
var counterFields = uintFields(reflect.TypeOf(Counters{}), "macsecd_",
	"802.1AE counter %s of the port's SecY (summed over receive SCs).")

// dataplaneFields does the same for the counters of a data plane that
// runs in macsecd (userspace.State): tx_segments becomes
// macsecd_dataplane_tx_segments_total.
var dataplaneFields = uintFields(reflect.TypeOf(userspace.State{}), "macsecd_dataplane_",
	"Userspace data plane counter %s of the port.")

// uintFields describes a counter metric for each uint64 field of struct
// type t, named prefix + its JSON name + _total.
func uintFields(t reflect.Type, prefix, help string) []counterField {
	var out []counterField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Type.Kind() != reflect.Uint64 {
			continue
		}
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		out = append(out, counterField{index: i, desc: prometheus.NewDesc(
			prefix+name+"_total", fmt.Sprintf(help, f.Name), []string{"port"}, nil)})
	}
	return out
}

type counterField struct {
	index int
	desc  *prometheus.Desc
}

type collector struct {
	d                                  *Daemon
	info, secured, live, potential, ks *prometheus.Desc
	txNextPN, rxSCs                    *prometheus.Desc
	tapPresent, parentUp               *prometheus.Desc
}

func newCollector(d *Daemon) *collector {
	l := []string{"port"}
	return &collector{
		d: d,
		info: prometheus.NewDesc("macsecd_port_info", "Port configuration and chosen backend (value 1).",
			[]string{"port", "interface", "parent", "backend", "offload", "key_agreement", "cipher_suite", "policy"}, nil),
		secured:   prometheus.NewDesc("macsecd_port_secured", "1 if the port's traffic is protected by an SA in use, else 0.", l, nil),
		live:      prometheus.NewDesc("macsecd_mka_live_peers", "MKA live peers of the port.", l, nil),
		potential: prometheus.NewDesc("macsecd_mka_potential_peers", "MKA potential peers of the port.", l, nil),
		ks:        prometheus.NewDesc("macsecd_mka_key_server", "1 if this port is the MKA key server, else 0.", l, nil),
		txNextPN:  prometheus.NewDesc("macsecd_tx_next_pn", "Next PN of the current transmit SA.", l, nil),
		rxSCs:     prometheus.NewDesc("macsecd_rx_scs", "Receive secure channels (peers) of the port.", l, nil),
		tapPresent: prometheus.NewDesc("macsecd_dataplane_tap_present",
			"Userspace data plane: 1 if the TAP interface exists, 0 between its deletion and recreation.", l, nil),
		parentUp: prometheus.NewDesc("macsecd_dataplane_parent_up",
			"Userspace data plane: 1 if the parent is up with carrier, else 0.", l, nil),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.info, c.secured, c.live, c.potential, c.ks, c.txNextPN, c.rxSCs, c.tapPresent, c.parentUp} {
		ch <- d
	}
	for _, f := range counterFields {
		ch <- f.desc
	}
	for _, f := range dataplaneFields {
		ch <- f.desc
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	rep, err := c.d.Status("")
	if err != nil {
		return
	}
	for i := range rep.Ports {
		ps := &rep.Ports[i]
		ch <- prometheus.MustNewConstMetric(c.info, prometheus.GaugeValue, 1,
			ps.Name, ps.Interface, ps.Parent, ps.Backend, ps.Offload, ps.KeyAgreement, ps.CipherSuite, ps.Policy)
		ch <- prometheus.MustNewConstMetric(c.secured, prometheus.GaugeValue, b2f(ps.Secured), ps.Name)
		ch <- prometheus.MustNewConstMetric(c.rxSCs, prometheus.GaugeValue, float64(len(ps.RxSCs)), ps.Name)
		if ps.MKA != nil {
			ch <- prometheus.MustNewConstMetric(c.live, prometheus.GaugeValue, float64(len(ps.MKA.LivePeers)), ps.Name)
			ch <- prometheus.MustNewConstMetric(c.potential, prometheus.GaugeValue, float64(len(ps.MKA.PotentialPeers)), ps.Name)
			ch <- prometheus.MustNewConstMetric(c.ks, prometheus.GaugeValue, b2f(ps.MKA.KeyServer != nil && ps.MKA.KeyServer.Self), ps.Name)
		}
		if ps.CurrentSA != nil {
			ch <- prometheus.MustNewConstMetric(c.txNextPN, prometheus.GaugeValue, float64(ps.CurrentSA.NextPN), ps.Name)
		}
		v := reflect.ValueOf(ps.Counters)
		for _, f := range counterFields {
			ch <- prometheus.MustNewConstMetric(f.desc, prometheus.CounterValue, float64(v.Field(f.index).Uint()), ps.Name)
		}
		if d := ps.Dataplane; d != nil {
			ch <- prometheus.MustNewConstMetric(c.tapPresent, prometheus.GaugeValue, b2f(d.TAPPresent), ps.Name)
			ch <- prometheus.MustNewConstMetric(c.parentUp, prometheus.GaugeValue, b2f(d.ParentUp), ps.Name)
			v := reflect.ValueOf(*d)
			for _, f := range dataplaneFields {
				ch <- prometheus.MustNewConstMetric(f.desc, prometheus.CounterValue, float64(v.Field(f.index).Uint()), ps.Name)
			}
		}
	}
}
