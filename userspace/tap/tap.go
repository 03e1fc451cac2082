// Package tap opens Linux TAP interfaces for the userspace MACsec data
// plane: one file descriptor per queue (IFF_MULTI_QUEUE) so that each
// worker owns a queue, with the virtio-net header (IFF_VNET_HDR) and TSO/USO
// offloads enabled so that the kernel hands over 64 KB TCP super-frames
// instead of one MTU-sized frame per read.
//
// Every frame read or written carries a 10-octet virtio-net header
// (package offload decodes it) in front of the Ethernet frame.
package tap

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Offloads are the TUN_F_* features the queues request. TSO lets the
// kernel hand over TCP super-frames, USO UDP ones (kernel 6.2 and later;
// Open retries without USO on older kernels).
const (
	offloadsTSO = unix.TUN_F_CSUM | unix.TUN_F_TSO4 | unix.TUN_F_TSO6 | unix.TUN_F_TSO_ECN
	offloadsUSO = unix.TUN_F_USO4 | unix.TUN_F_USO6
)

// Device is a TAP interface and its open queues.
type Device struct {
	name   string
	queues []*Queue
	uso    bool
}

// Queue is one queue of a TAP interface. A queue is used by one goroutine
// at a time for reading and one for writing.
type Queue struct {
	f  *os.File
	rc syscall.RawConn

	// Prebuilt closures and their arguments: handing a fresh closure to
	// RawConn.Read for every frame would allocate.
	rbuf, wbuf []byte
	rn, wn     int
	rerr, werr error
	readFn     func(fd uintptr) bool
	tryReadFn  func(fd uintptr) bool
	writeFn    func(fd uintptr) bool
}

// Open creates (or attaches to a persistent) TAP interface named name with
// the given number of queues. The interface is left down; the caller sets
// MAC, MTU and state through rtnetlink.
func Open(name string, queues int) (*Device, error) {
	if queues < 1 {
		queues = 1
	}
	if len(name) >= unix.IFNAMSIZ {
		return nil, fmt.Errorf("tap: open %q: name longer than %d octets", name, unix.IFNAMSIZ-1)
	}
	d := &Device{}
	for i := 0; i < queues; i++ {
		q, ifname, err := openQueue(name)
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("tap: open %q queue %d: %w", name, i, err)
		}
		d.name = ifname
		d.queues = append(d.queues, q)
		if i == 0 {
			uso, err := q.setOffloads()
			if err != nil {
				d.Close()
				return nil, fmt.Errorf("tap: %s: set offloads: %w", name, err)
			}
			d.uso = uso
		}
	}
	return d, nil
}

func openQueue(name string) (*Queue, string, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, "", err
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, "", err
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR | unix.IFF_MULTI_QUEUE)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, "", fmt.Errorf("TUNSETIFF: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, "", err
	}
	// A non-blocking descriptor goes to the runtime poller: a worker waiting
	// for a frame parks instead of holding a thread in read(2), and Close
	// wakes it.
	f := os.NewFile(uintptr(fd), "/dev/net/tun")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, "", err
	}
	q := &Queue{f: f, rc: rc}
	q.readFn = q.doRead
	q.tryReadFn = q.doTryRead
	q.writeFn = q.doWrite
	return q, ifr.Name(), nil
}

// setOffloads enables TSO (and USO where the kernel has it) and reports
// whether USO is on.
func (q *Queue) setOffloads() (uso bool, err error) {
	var ioErr error
	ctl := func(flags int) error {
		ioErr = nil
		if err := q.rc.Control(func(fd uintptr) {
			ioErr = unix.IoctlSetInt(int(fd), unix.TUNSETOFFLOAD, flags)
		}); err != nil {
			return err
		}
		return ioErr
	}
	if err := ctl(offloadsTSO | offloadsUSO); err == nil {
		return true, nil
	}
	return false, ctl(offloadsTSO)
}

// Name is the interface name the kernel assigned.
func (d *Device) Name() string { return d.name }

// Queues are the open queues, one per worker.
func (d *Device) Queues() []*Queue { return d.queues }

// USO reports whether the kernel accepted UDP segmentation offload.
func (d *Device) USO() bool { return d.uso }

// Close closes every queue; a non-persistent TAP interface disappears with
// its last queue.
func (d *Device) Close() error {
	var errs []error
	for _, q := range d.queues {
		errs = append(errs, q.Close())
	}
	d.queues = nil
	return errors.Join(errs...)
}

// Close closes the queue, waking a blocked Read.
func (q *Queue) Close() error { return q.f.Close() }

// Read reads one frame (virtio-net header first) into b, waiting for one.
func (q *Queue) Read(b []byte) (int, error) {
	q.rbuf = b
	if err := q.rc.Read(q.readFn); err != nil {
		return 0, err
	}
	q.rbuf = nil
	return q.rn, q.rerr
}

// TryRead reads one frame into b if one is queued; it returns 0, nil when
// none is. Workers use it to gather a batch after a blocking Read.
func (q *Queue) TryRead(b []byte) (int, error) {
	q.rbuf = b
	if err := q.rc.Read(q.tryReadFn); err != nil {
		return 0, err
	}
	q.rbuf = nil
	return q.rn, q.rerr
}

// Write writes one frame (virtio-net header first).
func (q *Queue) Write(b []byte) (int, error) {
	q.wbuf = b
	if err := q.rc.Write(q.writeFn); err != nil {
		return 0, err
	}
	q.wbuf = nil
	return q.wn, q.werr
}

func (q *Queue) doRead(fd uintptr) bool {
	n, err := read(int(fd), q.rbuf)
	if err == unix.EAGAIN {
		return false
	}
	q.rn, q.rerr = n, err
	return true
}

func (q *Queue) doTryRead(fd uintptr) bool {
	n, err := read(int(fd), q.rbuf)
	if err == unix.EAGAIN {
		n, err = 0, nil
	}
	q.rn, q.rerr = n, err
	return true
}

func (q *Queue) doWrite(fd uintptr) bool {
	n, err := write(int(fd), q.wbuf)
	if err == unix.EAGAIN {
		return false
	}
	q.wn, q.werr = n, err
	return true
}

// read and write are raw system calls on the queue's descriptor. Errno
// values below 256 convert to an error without allocating.
func read(fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, _, e := unix.Syscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func write(fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, _, e := unix.Syscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
