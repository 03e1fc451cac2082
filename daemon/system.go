package daemon

import (
	"fmt"
	"log/slog"
)

// systemOffloadProbe asks package hwoffload whether the parent can offload
// MACsec; nil until hwoffload's probe is wired in.
var systemOffloadProbe func(parent string) (mode, why string)

// SystemOpener opens the real backends: package link for kernel MACsec and
// offload, package userspace for the TAP data plane.
type SystemOpener struct{}

// Open implements Opener.
func (SystemOpener) Open(spec *BackendSpec, log *slog.Logger) (*Attachment, error) {
	return nil, fmt.Errorf("backend %s is not wired into this build yet", spec.Choice.Backend)
}
