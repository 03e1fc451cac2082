package link

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestUAPIMatchesXSys cross-checks the numbers copied from the UAPI headers
// against golang.org/x/sys/unix, an independent transcription.
func TestUAPIMatchesXSys(t *testing.T) {
	pairs := []struct {
		name      string
		ours, sys int
	}{
		{"IFLA_MACSEC_SCI", iflaMacsecSCI, unix.IFLA_MACSEC_SCI},
		{"IFLA_MACSEC_PORT", iflaMacsecPort, unix.IFLA_MACSEC_PORT},
		{"IFLA_MACSEC_ICV_LEN", iflaMacsecICVLen, unix.IFLA_MACSEC_ICV_LEN},
		{"IFLA_MACSEC_CIPHER_SUITE", iflaMacsecCipherSuite, unix.IFLA_MACSEC_CIPHER_SUITE},
		{"IFLA_MACSEC_WINDOW", iflaMacsecWindow, unix.IFLA_MACSEC_WINDOW},
		{"IFLA_MACSEC_ENCODING_SA", iflaMacsecEncodingSA, unix.IFLA_MACSEC_ENCODING_SA},
		{"IFLA_MACSEC_ENCRYPT", iflaMacsecEncrypt, unix.IFLA_MACSEC_ENCRYPT},
		{"IFLA_MACSEC_PROTECT", iflaMacsecProtect, unix.IFLA_MACSEC_PROTECT},
		{"IFLA_MACSEC_INC_SCI", iflaMacsecIncSCI, unix.IFLA_MACSEC_INC_SCI},
		{"IFLA_MACSEC_ES", iflaMacsecES, unix.IFLA_MACSEC_ES},
		{"IFLA_MACSEC_SCB", iflaMacsecSCB, unix.IFLA_MACSEC_SCB},
		{"IFLA_MACSEC_REPLAY_PROTECT", iflaMacsecReplayProtect, unix.IFLA_MACSEC_REPLAY_PROTECT},
		{"IFLA_MACSEC_VALIDATION", iflaMacsecValidation, unix.IFLA_MACSEC_VALIDATION},
		{"IFLA_MACSEC_PAD", iflaMacsecPad, unix.IFLA_MACSEC_PAD},
		{"IFLA_MACSEC_OFFLOAD", iflaMacsecOffload, unix.IFLA_MACSEC_OFFLOAD},
	}
	for _, p := range pairs {
		if p.ours != p.sys {
			t.Errorf("%s: ours %d, x/sys/unix %d", p.name, p.ours, p.sys)
		}
	}
}
