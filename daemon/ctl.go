package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// macsecctl exit codes; docs/operations.md documents them for scripts.
const (
	ExitOK          = 0 // command done; for status: every port shown is secured
	ExitNotSecured  = 1 // status: at least one port shown is not secured
	ExitUsage       = 2 // bad command line
	ExitUnreachable = 3 // cannot reach macsecd (not running, wrong socket, not root)
	ExitFailed      = 4 // macsecd answered with an error (e.g. no such port)
)

const ctlUsage = `usage: macsecctl [-s SOCKET] [-j|--json] COMMAND [PORT]

commands:
  status [PORT]   backend, cipher suite, policy, secured or not, MKA key
                  server and peers, SAs (AN, key identifier, next PN), counters
  peers [PORT]    MKA key server, live and potential peers
  stats [PORT]    802.1AE counters
  rekey PORT      ask the key server for a new SAK

exit status: 0 ok (status: all shown ports secured), 1 a port is not
secured, 2 usage, 3 macsecd unreachable, 4 macsecd reported an error
`

// CtlMain is macsecctl's main function; it returns the exit status.
func CtlMain(args []string, stdout, stderr io.Writer) int {
	socket := DefaultControlSocket
	asJSON := false
	timeout := 10 * time.Second
	var rest []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "-j", "--json", "-json":
			asJSON = true
		case "-s", "--socket", "-socket":
			if i+1 >= len(args) {
				fmt.Fprint(stderr, ctlUsage)
				return ExitUsage
			}
			i++
			socket = args[i]
		case "-h", "--help", "-help":
			fmt.Fprint(stdout, ctlUsage)
			return ExitOK
		default:
			if len(a) > 1 && a[0] == '-' {
				fmt.Fprintf(stderr, "macsecctl: unknown flag %s\n%s", a, ctlUsage)
				return ExitUsage
			}
			rest = append(rest, a)
		}
	}
	if len(rest) == 0 || len(rest) > 2 {
		fmt.Fprint(stderr, ctlUsage)
		return ExitUsage
	}
	cmd, port := rest[0], ""
	if len(rest) == 2 {
		port = rest[1]
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	switch cmd {
	case "status", "peers", "stats":
	case "rekey":
		if port == "" {
			fmt.Fprintf(stderr, "macsecctl: rekey needs a PORT\n")
			return ExitUsage
		}
		if _, err := Call(ctx, socket, Request{Command: "rekey", Port: port}); err != nil {
			return ctlError(stderr, err)
		}
		if asJSON {
			fmt.Fprintln(stdout, `{"ok":true}`)
		} else {
			fmt.Fprintf(stdout, "%s: rekey requested\n", port)
		}
		return ExitOK
	default:
		fmt.Fprintf(stderr, "macsecctl: unknown command %q\n%s", cmd, ctlUsage)
		return ExitUsage
	}

	resp, err := Call(ctx, socket, Request{Command: "status", Port: port})
	if err != nil {
		return ctlError(stderr, err)
	}
	rep := resp.Status
	if rep == nil {
		fmt.Fprintln(stderr, "macsecctl: empty reply from macsecd")
		return ExitFailed
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else {
		switch cmd {
		case "status":
			WriteStatusText(stdout, rep)
		case "peers":
			WritePeersText(stdout, rep)
		case "stats":
			WriteStatsText(stdout, rep)
		}
	}
	if cmd == "status" {
		for _, ps := range rep.Ports {
			if !ps.Secured {
				return ExitNotSecured
			}
		}
	}
	return ExitOK
}

func ctlError(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "macsecctl: %v\n", err)
	if errors.Is(err, ErrUnreachable) {
		return ExitUnreachable
	}
	return ExitFailed
}
