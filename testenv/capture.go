package testenv

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// Capture is a tcpdump writing a pcap file in a host's namespace.
type Capture struct {
	// File is the pcap file being written.
	File string
	cmd  *exec.Cmd
	once sync.Once
	err  error
}

// Capture starts tcpdump on ifname in h, writing whole frames to file as
// they arrive (an optional pcap filter narrows them), and returns once
// tcpdump is listening, so nothing sent afterwards is missed. Stop ends it;
// the test's cleanup stops it too.
func (h *Host) Capture(t testing.TB, ifname, file string, filter ...string) *Capture {
	t.Helper()
	// -Z root: tcpdump would otherwise drop to a user that may not write
	// file's directory. --immediate-mode -U: each frame is written when it
	// arrives, not when a ring block fills, so Stop loses nothing.
	args := append([]string{"-Z", "root", "--immediate-mode", "-U", "-n", "-s", "0", "-i", ifname, "-w", file}, filter...)
	cmd := h.Command("tcpdump", args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("testenv: tcpdump in %s: %v", h.Name, err)
	}
	c := &Capture{File: file, cmd: cmd}
	t.Cleanup(func() { c.Stop() })
	listening := make(chan string, 1)
	go func() {
		var lines []string
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening on") {
				listening <- ""
				io.Copy(io.Discard, stderr)
				return
			}
			lines = append(lines, sc.Text())
		}
		listening <- strings.Join(lines, "\n")
	}()
	select {
	case msg := <-listening:
		if msg != "" {
			t.Fatalf("testenv: tcpdump on %s in %s exited: %s", ifname, h.Name, msg)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("testenv: tcpdump on %s in %s did not start listening in 30s", ifname, h.Name)
	}
	return c
}

// Stop ends the capture after tcpdump has written what it has seen. It is
// idempotent and reports an error if the file holds no frame.
func (c *Capture) Stop() error {
	c.once.Do(func() {
		// Frames just sent may still be on their way through the stack.
		time.Sleep(100 * time.Millisecond)
		c.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { c.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			c.cmd.Process.Kill()
			<-done
		}
		frames, err := ReadPcap(c.File)
		if err == nil && len(frames) == 0 {
			err = fmt.Errorf("capture %s: no frames", c.File)
		}
		c.err = err
	})
	return c.err
}

// Frames stops the capture and returns the captured frames.
func (c *Capture) Frames() ([][]byte, error) {
	if err := c.Stop(); err != nil {
		return nil, err
	}
	return ReadPcap(c.File)
}

// ReadPcap returns the frames of a classic pcap file with Ethernet link
// type, as tcpdump writes it.
func ReadPcap(path string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	frames, err := ParsePcap(b)
	if err != nil {
		return nil, fmt.Errorf("pcap %s: %w", path, err)
	}
	return frames, nil
}

// ParsePcap returns the frames of a classic pcap file (either byte order,
// micro- or nanosecond timestamps) with Ethernet link type. The frames
// alias b.
func ParsePcap(b []byte) ([][]byte, error) {
	recs, err := ParsePcapRecords(b)
	if err != nil {
		return nil, err
	}
	frames := make([][]byte, len(recs))
	for i, r := range recs {
		frames[i] = r.Frame
	}
	return frames, nil
}

// PcapRecord is one frame of a pcap file and when it was captured.
type PcapRecord struct {
	Time  time.Time
	Frame []byte // aliases the parsed file
}

// ErrPcapCut reports a pcap file whose last record is cut short, as a file
// tcpdump is still writing may be.
var ErrPcapCut = errors.New("pcap file cut short")

// ParsePcapRecords is ParsePcap with each frame's capture time. If the
// file ends inside a record it returns the whole records before it with an
// error wrapping ErrPcapCut, so that a capture still being written can be
// read up to its last complete frame.
func ParsePcapRecords(b []byte) ([]PcapRecord, error) {
	if len(b) < 24 {
		return nil, errors.New("short file header")
	}
	var bo binary.ByteOrder
	nano := false
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4:
		bo = binary.LittleEndian
	case 0xa1b23c4d:
		bo, nano = binary.LittleEndian, true
	case 0xd4c3b2a1:
		bo = binary.BigEndian
	case 0x4d3cb2a1:
		bo, nano = binary.BigEndian, true
	default:
		return nil, fmt.Errorf("bad magic %#x (not a classic pcap file)", binary.LittleEndian.Uint32(b))
	}
	if lt := bo.Uint32(b[20:]); lt != 1 {
		return nil, fmt.Errorf("link type %d, want 1 (Ethernet)", lt)
	}
	var recs []PcapRecord
	for off := 24; off < len(b); {
		if len(b)-off < 16 {
			return recs, fmt.Errorf("truncated record header at offset %d: %w", off, ErrPcapCut)
		}
		sec, frac := bo.Uint32(b[off:]), bo.Uint32(b[off+4:])
		incl := uint64(bo.Uint32(b[off+8:]))
		off += 16
		if incl > uint64(len(b)-off) {
			return recs, fmt.Errorf("record at offset %d: %d octets, %d left: %w", off-16, incl, len(b)-off, ErrPcapCut)
		}
		ns := int64(frac)
		if !nano {
			ns *= 1000
		}
		recs = append(recs, PcapRecord{Time: time.Unix(int64(sec), ns), Frame: b[off : off+int(incl) : off+int(incl)]})
		off += int(incl)
	}
	return recs, nil
}
