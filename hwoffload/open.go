package hwoffload

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/macsecd/macsecd/link"
	"github.com/macsecd/macsecd/macsec"
)

// Open tries the choices of d in order (d.Choice, then d.Fallbacks) and
// returns the first SecY that opens together with the choice taken. When
// earlier choices were refused, the returned choice's Reason says which and
// why, and each refusal is logged at warning level as it happens: that is
// how an offload that refuses at creation (a full device, a cipher suite
// the hardware lacks) falls back to software kernel MACsec and then to the
// userspace data plane.
//
// open builds the SecY for one choice. The caller supplies it because it
// knows the port's configuration; for Offload choices it is New with
// link.Config.Offload set to the choice's Offload. When it fails it must
// leave nothing behind (the SecY it returns with an error is ignored).
// log may be nil.
func Open(d Decision, open func(Choice) (macsec.SecY, error), log *slog.Logger) (macsec.SecY, Choice, error) {
	if d.Err != nil {
		return nil, Choice{}, d.Err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var refused []string
	var errs []error
	for _, c := range d.Choices() {
		y, err := open(c)
		if err == nil {
			if len(refused) > 0 {
				c.Reason += "; taken after " + strings.Join(refused, "; ")
			}
			return y, c, nil
		}
		log.Warn("SecY backend refused", "backend", c.String(), "reason", c.Reason, "err", err)
		refused = append(refused, fmt.Sprintf("%s refused: %v", c, err))
		errs = append(errs, fmt.Errorf("%s: %w", c, err))
	}
	return nil, Choice{}, fmt.Errorf("%w: every candidate refused: %w", ErrNoBackend, errors.Join(errs...))
}

// KernelOpener returns an open function for Open that builds the choices
// package link can: Offload with New and Kernel with link.New, both from
// cfg with its Offload replaced by the choice's. Userspace choices go to
// userspace, which may be nil when the caller has no userspace data plane
// to offer.
func KernelOpener(conn *link.Conn, cfg link.Config, userspace func() (macsec.SecY, error)) func(Choice) (macsec.SecY, error) {
	return func(c Choice) (macsec.SecY, error) {
		cfg := cfg
		cfg.Offload = c.Offload
		switch c.Backend {
		case Offload:
			y, err := New(conn, cfg)
			if err != nil {
				return nil, err // not a typed nil in the interface
			}
			return y, nil
		case Kernel:
			y, err := link.New(conn, cfg)
			if err != nil {
				return nil, err
			}
			return y, nil
		case Userspace:
			if userspace != nil {
				return userspace()
			}
		}
		return nil, fmt.Errorf("hwoffload: no way to open backend %s here", c)
	}
}
