package hwoffload

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// ErrDriverLimit is matched (errors.Is) by every error of an operation the
// offload driver refused for lack of room (ENOSPC): it holds no more
// offloaded SecYs, receive SCs or SAs.
var ErrDriverLimit = errors.New("offload driver limit reached")

// Limits are the capacities of an offload driver, taken from its source.
// Drivers do not report them; they answer ENOSPC when full. The numbers are
// used only to explain that answer, never to refuse in the driver's place.
type Limits struct {
	SecYs        int // offloaded SecYs per device
	RxSCsPerSecY int // receive SCs per SecY
}

// knownLimits lists drivers whose limits are small enough that an operator
// meets them.
var knownLimits = map[string]Limits{
	// drivers/net/netdevsim/netdevsim.h: NSIM_MACSEC_MAX_SECY_COUNT,
	// NSIM_MACSEC_MAX_RXSC_COUNT.
	"netdevsim": {SecYs: 3, RxSCsPerSecY: 1},
}

// DriverName returns the driver of a network device as `ethtool -i`
// reports it (ETHTOOL_GDRVINFO, which works in any network namespace,
// unlike sysfs), or "" when it cannot be read.
func DriverName(ifname string) string {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return ""
	}
	defer unix.Close(fd)
	info, err := unix.IoctlGetEthtoolDrvinfo(fd, ifname)
	if err != nil {
		return ""
	}
	return unix.ByteSliceToString(info.Driver[:])
}

// LimitError is a refusal by the offload driver for lack of room (ENOSPC).
// errors.Is matches ErrDriverLimit and, through Err, unix.ENOSPC.
type LimitError struct {
	Op     string // what was refused: "create SecY", "create RX SC 0a0b..."
	Parent string // the offloading device
	Driver string // its driver, "" if unknown
	What   string // what ran out: "offloaded SecYs", "receive SCs per SecY", "SAs"
	Limit  int    // the driver's documented capacity, 0 if unknown
	Err    error  // the kernel backend's error
}

func (e *LimitError) Error() string {
	s := fmt.Sprintf("hwoffload: %s: the offload on %s has no room for more %s", e.Op, e.Parent, e.What)
	switch {
	case e.Driver != "" && e.Limit > 0:
		s += fmt.Sprintf(" (driver %s offloads at most %d)", e.Driver, e.Limit)
	case e.Driver != "":
		s += fmt.Sprintf(" (driver %s)", e.Driver)
	}
	return s + ": " + e.Err.Error()
}

// Is reports whether target is ErrDriverLimit.
func (e *LimitError) Is(target error) bool { return target == ErrDriverLimit }

// Unwrap returns the kernel backend's error.
func (e *LimitError) Unwrap() error { return e.Err }
