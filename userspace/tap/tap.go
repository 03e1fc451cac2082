// Package tap opens Linux TAP interfaces for the userspace MACsec data
// plane: one file descriptor per queue (IFF_MULTI_QUEUE) so that each
// worker owns a queue, with the virtio-net header (IFF_VNET_HDR) and TSO/USO
// offloads enabled so that the kernel hands over 64 KB TCP super-frames
// instead of one MTU-sized frame per read.
//
// Every frame read or written carries a 10-octet virtio-net header
// (package offload decodes it) in front of the Ethernet frame.
//
// The queues are non-blocking descriptors outside the Go runtime's poller
// (see package fdwait for why): a worker reads until the queue is empty,
// then sleeps in poll(2). Close is therefore in two steps: Interrupt wakes
// the workers, Close releases the descriptors once they are gone.
package tap

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/macsecd/macsecd/userspace/internal/fdwait"
)

// Offloads are the TUN_F_* features the queues request. TSO lets the
// kernel hand over TCP super-frames, USO UDP ones (kernel 6.2 and later;
// Open retries without USO on older kernels).
const (
	offloadsTSO = unix.TUN_F_CSUM | unix.TUN_F_TSO4 | unix.TUN_F_TSO6 | unix.TUN_F_TSO_ECN
	offloadsUSO = unix.TUN_F_USO4 | unix.TUN_F_USO6
)

// ErrClosed is returned by a queue after Interrupt or Close.
var ErrClosed = errors.New("tap: queue closed")

// Device is a TAP interface and its open queues.
type Device struct {
	name   string
	queues []*Queue
	uso    bool
}

// Queue is one queue of a TAP interface. A queue is used by one goroutine
// at a time for reading and one for writing.
type Queue struct {
	fd     int
	rwait  *fdwait.Waiter
	wwait  *fdwait.Waiter
	closed bool
}

// Open creates the TAP interface named name (the kernel picks a name when
// it is empty) with the given number of queues. The interface is left
// down; the caller sets MAC, MTU and state through rtnetlink.
func Open(name string, queues int) (*Device, error) {
	if queues < 1 {
		queues = 1
	}
	if len(name) >= unix.IFNAMSIZ {
		return nil, fmt.Errorf("tap: open %q: name longer than %d octets", name, unix.IFNAMSIZ-1)
	}
	d := &Device{}
	for i := 0; i < queues; i++ {
		// Later queues attach to the interface the first one created.
		q, ifname, err := openQueue(d.name, name)
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
				return nil, fmt.Errorf("tap: %s: set offloads: %w", d.name, err)
			}
			d.uso = uso
		}
	}
	return d, nil
}

func openQueue(created, name string) (*Queue, string, error) {
	if created != "" {
		name = created
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
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
	rw, err := fdwait.New()
	if err != nil {
		unix.Close(fd)
		return nil, "", err
	}
	ww, err := fdwait.New()
	if err != nil {
		rw.Close()
		unix.Close(fd)
		return nil, "", err
	}
	return &Queue{fd: fd, rwait: rw, wwait: ww}, ifr.Name(), nil
}

// setOffloads enables TSO (and USO where the kernel has it) and reports
// whether USO is on.
func (q *Queue) setOffloads() (uso bool, err error) {
	if err := unix.IoctlSetInt(q.fd, unix.TUNSETOFFLOAD, offloadsTSO|offloadsUSO); err == nil {
		return true, nil
	}
	return false, unix.IoctlSetInt(q.fd, unix.TUNSETOFFLOAD, offloadsTSO)
}

// Name is the interface name the kernel assigned.
func (d *Device) Name() string { return d.name }

// Queues are the open queues, one per worker.
func (d *Device) Queues() []*Queue { return d.queues }

// USO reports whether the kernel accepted UDP segmentation offload.
func (d *Device) USO() bool { return d.uso }

// Interrupt wakes every goroutine waiting on a queue; their calls and all
// later ones return ErrClosed.
func (d *Device) Interrupt() {
	for _, q := range d.queues {
		q.rwait.Interrupt()
		q.wwait.Interrupt()
	}
}

// Close interrupts the queues and closes their descriptors; no goroutine
// may be using them. A TAP interface disappears with its last queue.
func (d *Device) Close() error {
	d.Interrupt()
	var errs []error
	for _, q := range d.queues {
		if q.closed {
			continue
		}
		q.closed = true
		errs = append(errs, unix.Close(q.fd))
		q.rwait.Close()
		q.wwait.Close()
	}
	return errors.Join(errs...)
}

// Read reads one frame (virtio-net header first) into b, waiting for one.
// It returns ErrClosed after Interrupt, and an error (EBADFD) when the
// interface was deleted.
func (q *Queue) Read(b []byte) (int, error) {
	for {
		n, err := read(q.fd, b)
		if err != unix.EAGAIN {
			return n, err
		}
		if err := q.rwait.Wait(q.fd, unix.POLLIN); err != nil {
			return 0, mapErr(err)
		}
	}
}

// TryRead reads one frame into b if one is queued; it returns 0, nil when
// none is. Workers use it to gather a batch after a blocking Read.
func (q *Queue) TryRead(b []byte) (int, error) {
	n, err := read(q.fd, b)
	if err == unix.EAGAIN {
		return 0, nil
	}
	return n, err
}

// Write writes one frame (virtio-net header first).
func (q *Queue) Write(b []byte) (int, error) {
	for {
		n, err := write(q.fd, b)
		if err != unix.EAGAIN {
			return n, err
		}
		if err := q.wwait.Wait(q.fd, unix.POLLOUT); err != nil {
			return 0, mapErr(err)
		}
	}
}

func mapErr(err error) error {
	if err == fdwait.ErrInterrupted {
		return ErrClosed
	}
	return err
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
