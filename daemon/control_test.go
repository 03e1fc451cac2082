package daemon

import (
	"errors"
	"strings"
	"testing"
)

// countingCtl records what the control server asked for.
type countingCtl struct{ status, rekey []string }

func (c *countingCtl) Status(port string) (*StatusReport, error) {
	c.status = append(c.status, port)
	if port == "missing" {
		return nil, errors.New(`no port "missing"`)
	}
	return &StatusReport{Version: StatusSchemaVersion}, nil
}

func (c *countingCtl) Rekey(port string) error {
	c.rekey = append(c.rekey, port)
	return nil
}

func TestControlAnswer(t *testing.T) {
	ctl := &countingCtl{}
	s := &ControlServer{ctl: ctl}
	for _, tc := range []struct{ line, err string }{
		{`{"command":"status"}`, ""},
		{`{"command":"status","port":"missing"}`, `no port "missing"`},
		{`{"command":"rekey","port":"lan"}`, ""},
		{`{"command":"rekey"}`, "rekey: which port?"},
		{`{"command":"reboot"}`, `unknown command "reboot"`},
		{`{"command":"status","extra":1}`, `bad request: json: unknown field "extra"`},
		{`not json`, "bad request"},
		{``, "bad request"},
	} {
		r := s.answer([]byte(tc.line))
		if (tc.err == "") != (r.Error == "") || !strings.Contains(r.Error, tc.err) {
			t.Errorf("%s: error %q, want %q", tc.line, r.Error, tc.err)
		}
	}
	if strings.Join(ctl.status, ",") != ",missing" || strings.Join(ctl.rekey, ",") != "lan" {
		t.Errorf("controller saw status %q rekey %q", ctl.status, ctl.rekey)
	}
}

// FuzzControlRequest: any request line gets an answer, and only
// well-formed status and rekey requests reach the daemon.
func FuzzControlRequest(f *testing.F) {
	for _, s := range []string{`{"command":"status"}`, `{"command":"rekey","port":"x"}`, `{"command":1}`, `{}`, `[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		ctl := &countingCtl{}
		s := &ControlServer{ctl: ctl}
		r := s.answer(line)
		if r.Error == "" && r.Status == nil && len(ctl.rekey) != 1 {
			t.Fatalf("success without effect for %q", line)
		}
		if len(ctl.status)+len(ctl.rekey) > 1 {
			t.Fatalf("one request reached the daemon %d times", len(ctl.status)+len(ctl.rekey))
		}
	})
}
