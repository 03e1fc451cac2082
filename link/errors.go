package link

import (
	"errors"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Error is a failed operation on kernel MACsec. It names the operation
// ("add TX SA"), the object ("macsec0 AN 2") and, where the kernel's errno
// has a specific meaning for that operation, the reason in words.
//
// errors.Is works on the errno: errors.Is(err, unix.EBUSY), and through
// syscall.Errno also errors.Is(err, fs.ErrExist) for EEXIST and
// errors.Is(err, errors.ErrUnsupported) for EOPNOTSUPP. Refused changes of
// attributes fixed at creation also match ErrImmutable.
type Error struct {
	Op     string // operation, e.g. "add RX SA"
	Object string // what it acted on, e.g. "macsec0 RX SC 0200000000010001 AN 0"
	Reason string // explanation of Err for this operation; may be empty
	Kernel string // the kernel's extended acknowledgement text, if any
	Err    error  // underlying error, usually a unix.Errno
}

func (e *Error) Error() string {
	s := "link: " + e.Op
	if e.Object != "" {
		s += " " + e.Object
	}
	s += ": "
	if e.Reason != "" {
		s += e.Reason + " (" + e.Err.Error() + ")"
	} else {
		s += e.Err.Error()
	}
	if e.Kernel != "" {
		s += ": kernel says: " + e.Kernel
	}
	return s
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// ErrImmutable is matched (errors.Is) by the error of a change to an
// attribute the kernel fixes when it creates the interface: the SCI, the
// port, the ICV length and the cipher suite. Such an error also matches
// unix.EINVAL, the kernel's answer.
var ErrImmutable = errors.New("SCI, port, ICV length and cipher suite cannot change after the interface is created")

type immutableError struct {
	attrs string
	err   error
}

func (e *immutableError) Error() string {
	return e.attrs + ": " + ErrImmutable.Error() + " (" + e.err.Error() + ")"
}

func (e *immutableError) Is(target error) bool { return target == ErrImmutable }
func (e *immutableError) Unwrap() error        { return e.err }

// opErr wraps err from the kernel (or from the socket) into an *Error.
// reasons gives the meaning of specific errnos for this operation.
func opErr(op, object string, err error, reasons map[unix.Errno]string) error {
	if err == nil {
		return nil
	}
	e := &Error{Op: op, Object: object, Err: err}
	var oe *netlink.OpError
	if errors.As(err, &oe) {
		e.Kernel = oe.Message
		e.Err = oe.Err
	}
	var errno unix.Errno
	if errors.As(e.Err, &errno) {
		e.Err = errno
		if r, ok := reasons[errno]; ok {
			e.Reason = r
		} else if r, ok := commonReasons[errno]; ok {
			e.Reason = r
		}
	}
	return e
}

// commonReasons explain errnos that mean the same for every operation of
// the generic netlink family.
var commonReasons = map[unix.Errno]string{
	unix.EOPNOTSUPP: "the parent device does not offload MACsec in this mode",
	unix.EPERM:      "needs CAP_NET_ADMIN",
}

// newInvalid is an error detected before anything is sent: the kernel
// would answer EINVAL.
func newInvalid(op, object, reason string) error {
	return &Error{Op: op, Object: object, Reason: reason, Err: unix.EINVAL}
}

func sciObj(ifname string, sci [8]byte) string {
	return fmt.Sprintf("%s RX SC %x", ifname, sci[:])
}
