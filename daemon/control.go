package daemon

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// The control protocol: macsecctl connects to the unix socket, writes one
// Request as a JSON object on one line, and reads one Response the same
// way; then the connection closes. The socket is mode 0600 in a 0700
// directory, and the server also checks that the peer is root
// (SO_PEERCRED), so only root can ask.

// Request is one control command.
type Request struct {
	Command string `json:"command"` // status, rekey
	Port    string `json:"port,omitempty"`
}

// Response is the answer to a Request: Error is set on failure.
type Response struct {
	Error  string        `json:"error,omitempty"`
	Status *StatusReport `json:"status,omitempty"`
}

// Controller is what the control server asks; *Daemon implements it.
type Controller interface {
	Status(port string) (*StatusReport, error)
	Rekey(port string) error
}

// ControlServer serves the control socket.
type ControlServer struct {
	ln   *net.UnixListener
	ctl  Controller
	log  *slog.Logger
	wg   sync.WaitGroup
	path string
}

// maxRequest bounds a request line; real ones are a few dozen bytes.
const maxRequest = 4096

// ListenControl creates the control socket at path (replacing a stale one
// that no daemon answers on) and serves it until Close.
func ListenControl(path string, ctl Controller, log *slog.Logger) (*ControlServer, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s: another macsecd is running", path)
	}
	os.Remove(path)
	// The umask makes the socket 0600 from the moment it exists; chmod
	// after bind would leave a window.
	old := syscall.Umask(0o177)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	s := &ControlServer{ln: ln, ctl: ctl, log: log, path: path}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Close stops serving and removes the socket.
func (s *ControlServer) Close() error {
	err := s.ln.Close() // also unlinks the socket file
	s.wg.Wait()
	return err
}

func (s *ControlServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn("control socket accept failed", "err", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(c)
		}()
	}
}

func (s *ControlServer) handle(c *net.UnixConn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	enc := json.NewEncoder(c)
	if uid, err := peerUID(c); err != nil || uid != 0 {
		s.log.Warn("control request refused: peer is not root", "uid", uid, "err", err)
		enc.Encode(Response{Error: "permission denied: only root may use the control socket"})
		return
	}
	line, err := bufio.NewReader(io.LimitReader(c, maxRequest)).ReadBytes('\n')
	if err != nil && !(errors.Is(err, io.EOF) && len(line) > 0) {
		enc.Encode(Response{Error: "bad request: " + err.Error()})
		return
	}
	enc.Encode(s.answer(line))
}

// answer parses one request line and answers it; a malformed request gets
// an error response and changes nothing.
func (s *ControlServer) answer(line []byte) Response {
	var req Request
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return Response{Error: "bad request: " + err.Error()}
	}
	return s.dispatch(&req)
}

func (s *ControlServer) dispatch(req *Request) Response {
	switch req.Command {
	case "status":
		st, err := s.ctl.Status(req.Port)
		if err != nil {
			return Response{Error: err.Error()}
		}
		return Response{Status: st}
	case "rekey":
		if req.Port == "" {
			return Response{Error: "rekey: which port?"}
		}
		if err := s.ctl.Rekey(req.Port); err != nil {
			return Response{Error: err.Error()}
		}
		return Response{}
	}
	return Response{Error: fmt.Sprintf("unknown command %q", req.Command)}
}

func peerUID(c *net.UnixConn) (uint32, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *syscall.Ucred
	var serr error
	err = raw.Control(func(fd uintptr) {
		cred, serr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	})
	if err != nil {
		return 0, err
	}
	if serr != nil {
		return 0, serr
	}
	return cred.Uid, nil
}

// ErrUnreachable wraps failures to reach the daemon at all, so that
// macsecctl can tell them from errors the daemon reports.
var ErrUnreachable = errors.New("macsecd unreachable")

// Call sends one request to the daemon at path and returns its response.
// Errors reaching the daemon wrap ErrUnreachable; an error the daemon
// answers is returned as a plain error.
func Call(ctx context.Context, path string, req Request) (*Response, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v (is macsecd running? is this root?)", ErrUnreachable, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	b, _ := json.Marshal(req)
	if _, err := c.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	var resp Response
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return nil, fmt.Errorf("%w: reading reply: %v", ErrUnreachable, err)
	}
	if resp.Error != "" {
		return &resp, errors.New(resp.Error)
	}
	return &resp, nil
}
