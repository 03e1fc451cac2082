package link

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// nlsock is one netlink socket used for request/reply exchanges. Requests
// are built in enc (memory this package owns and zeroes after every send);
// replies are read through mdlayher/netlink, which splits multi-part
// messages and turns NLMSG_ERROR into errors.
type nlsock struct {
	c   *netlink.Conn
	enc encoder
	seq uint32
	// send writes one datagram; tests replace it.
	send func(b []byte) error
}

func dialSock(family int) (*nlsock, error) {
	c, err := netlink.Dial(family, nil)
	if err != nil {
		return nil, err
	}
	// NETLINK_CAP_ACK: the kernel must not echo a failed request (which may
	// carry a key) back into receive buffers we do not control.
	// NETLINK_EXT_ACK: keep the kernel's explanation of a refusal.
	for _, o := range []netlink.ConnOption{netlink.CapAcknowledge, netlink.ExtendedAcknowledge} {
		if err := c.SetOption(o, true); err != nil {
			c.Close()
			return nil, err
		}
	}
	s := &nlsock{c: c}
	s.send = s.sendRaw
	return s, nil
}

func (s *nlsock) close() error {
	s.enc.zero()
	return s.c.Close()
}

// sendRaw writes b to the kernel on the socket's file descriptor.
func (s *nlsock) sendRaw(b []byte) error {
	rc, err := s.c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	werr := rc.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		return serr != unix.EAGAIN
	})
	if werr != nil {
		return werr
	}
	return serr
}

// do sends the message built in s.enc, zeroes the buffer whatever happens,
// and collects the replies that carry the request's sequence number.
// Requests other than dumps carry NLM_F_ACK: the acknowledgement ends the
// exchange, and a kernel error comes back as *netlink.OpError wrapping the
// errno (with the extended-ack text, if any).
func (s *nlsock) do() ([]netlink.Message, error) {
	seq, dump, err := s.sendRequest()
	if err != nil {
		return nil, err
	}
	return s.receive(seq, dump)
}

// sendRequest stamps, sends and zeroes the request in s.enc.
func (s *nlsock) sendRequest() (seq uint32, dump bool, err error) {
	s.seq++
	seq = s.seq
	b := s.enc.finish(seq, s.pid())
	dump = netlink.HeaderFlags(binary.NativeEndian.Uint16(b[6:]))&netlink.Dump == netlink.Dump
	err = s.send(b)
	s.enc.zero()
	if err != nil {
		return 0, false, fmt.Errorf("send: %w", err)
	}
	return seq, dump, nil
}

func (s *nlsock) pid() uint32 {
	if s.c == nil {
		return 0
	}
	return s.c.PID()
}

// receive collects the replies to request seq.
func (s *nlsock) receive(seq uint32, dump bool) ([]netlink.Message, error) {
	var out []netlink.Message
	for {
		msgs, err := s.c.Receive()
		if err != nil {
			var oe *netlink.OpError
			if errors.As(err, &oe) && oe.Sequence != 0 && oe.Sequence != seq {
				continue // a late error for an earlier request
			}
			return nil, err
		}
		mine := len(msgs) == 0 // an empty dump is only its NLMSG_DONE
		for _, m := range msgs {
			if m.Header.Sequence != seq {
				continue
			}
			mine = true
			if m.Header.Type == netlink.Error {
				return out, nil // the acknowledgement
			}
			out = append(out, m)
		}
		// mdlayher/netlink reads a multi-part reply up to its NLMSG_DONE,
		// which it consumes: a dump is complete when Receive returns.
		if dump && mine {
			return out, nil
		}
	}
}
