// Command labrun boots one kernel of the VM lab under qemu (TCG) and
// supervises the run: it streams the guest console to stdout, splits the
// output of each test binary (lines "<label>| ...") into <dir>/<label>.log,
// records each binary's exit status in <dir>/<label>.rc, unpacks the files
// the guest sent back over its second serial port into <dir>/out, and exits
// with the guest's status (0 or 1). A guest that dies or hangs is an error,
// never a pass: labrun then exits with status 3. testenv/lab/vmtest.sh drives it; `-shell` gives an interactive
// console instead.
package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Markers the guest prints (testenv/lab/init.sh and the run script).
const (
	markBegin = "@@lab-begin "    // <label>
	markEnd   = "@@lab-end "      // <label> <rc>
	markExit  = "@@lab-exit "     // <rc>: /lab/run finished
	outBegin  = "@@lab-out-begin" // base64 tar of $MACSECD_LAB_OUT follows on ttyS1
	outEnd    = "@@lab-out-end"
)

// exitGrace is how long qemu may take to exit after the guest reported its
// status; a kernel without ACPI cannot power off, so it is then killed.
var exitGrace = 15 * time.Second

func main() {
	var (
		kernel  = flag.String("kernel", "", "kernel image (ELF vmlinux or bzImage)")
		initrd  = flag.String("initrd", "", "initramfs (concatenated cpio archives)")
		name    = flag.String("name", "", "lab kernel name, passed to the guest as MACSECD_LAB_KERNEL")
		dir     = flag.String("dir", "", "host directory for logs and the guest's files")
		timeout = flag.Duration("timeout", 20*time.Minute, "time allowed from boot to the exit marker")
		shell   = flag.Bool("shell", false, "interactive shell on the console instead of a test run")
		qemu    = flag.String("qemu", "qemu-system-x86_64", "qemu binary")
	)
	flag.Parse()
	if *kernel == "" || *initrd == "" || *name == "" || (*dir == "" && !*shell) {
		fmt.Fprintln(os.Stderr, "usage: labrun -kernel K -initrd I -name N -dir D [-timeout T] [-shell]")
		os.Exit(2)
	}
	args := []string{
		"-accel", "tcg", "-cpu", "max", "-m", "1G", "-smp", "2",
		"-nodefaults", "-no-reboot", "-display", "none",
		"-kernel", *kernel, "-initrd", *initrd,
	}
	cmdline := "console=ttyS0 loglevel=1 panic=-1 MACSECD_LAB_KERNEL=" + *name
	if *shell {
		args = append(args, "-serial", "mon:stdio", "-append", cmdline+" labmode=shell")
		cmd := exec.Command(*qemu, args...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "labrun:", err)
			os.Exit(1)
		}
		return
	}
	rc, err := run(*qemu, append(args, "-append", cmdline), *name, *dir, *timeout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "labrun: %s: %v\n", *name, err)
		os.Exit(3)
	}
	if rc != 0 {
		rc = 1
	}
	os.Exit(rc)
}

// run boots the guest and returns the status the guest reported.
func run(qemu string, args []string, name, dir string, timeout time.Duration) (int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	ttyS1 := filepath.Join(dir, "ttyS1")
	args = append(args, "-serial", "stdio", "-serial", "file:"+ttyS1)
	cmd := exec.Command(qemu, args...)
	cmd.Stderr = os.Stderr
	// qemu must not outlive labrun, even when labrun is killed outright.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	// An os.Pipe, not StdoutPipe: Wait would close StdoutPipe's reader and
	// could drop the last lines (the exit marker) written just before exit.
	// This reader sees EOF only once qemu has exited and all was read.
	stdout, w, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer stdout.Close()
	cmd.Stdout = w
	err = cmd.Start()
	w.Close()
	if err != nil {
		return 0, fmt.Errorf("start qemu: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			lines <- strings.TrimRight(sc.Text(), "\r")
		}
		close(lines)
	}()

	c := &consoleSplitter{name: name, dir: dir, logs: map[string]*os.File{}}
	defer c.closeAll()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	var grace <-chan time.Time // after the exit marker: qemu should exit soon
	exitRC := -1
	kill := func() { cmd.Process.Kill(); <-exited }
	console := (<-chan string)(lines)
	start := time.Now()
	for {
		select {
		case l, ok := <-console:
			if !ok {
				console = nil // closed: qemu is exiting; stop selecting on it
				continue
			}
			if rc, ok := c.line(l); ok {
				exitRC = rc
				grace = time.After(exitGrace)
			}
		case err := <-exited:
			for l := range lines { // drain what qemu wrote before exiting
				if rc, ok := c.line(l); ok {
					exitRC = rc
				}
			}
			if exitRC < 0 {
				return 0, fmt.Errorf("guest died after %s without reporting a status (qemu: %v); %s",
					time.Since(start).Round(time.Second), errOr(err, "exited"), c.where())
			}
			return c.finish(exitRC, ttyS1)
		case <-grace:
			kill() // the guest reported and could not power off by itself
			return c.finish(exitRC, ttyS1)
		case <-deadline.C:
			kill()
			return 0, fmt.Errorf("guest hung: no exit marker within %s; %s", timeout, c.where())
		case s := <-sigs:
			kill()
			return 0, fmt.Errorf("interrupted (%v): qemu killed", s)
		}
	}
}

func errOr(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}

// consoleSplitter routes console lines to stdout and the per-label logs.
type consoleSplitter struct {
	name    string
	dir     string
	logs    map[string]*os.File
	current string // label of the binary running now
	last    []string
}

// line handles one console line; it reports the guest's exit status when
// the line is the exit marker.
func (c *consoleSplitter) line(l string) (int, bool) {
	c.last = append(c.last, l)
	if len(c.last) > 20 {
		c.last = c.last[1:]
	}
	switch {
	case strings.HasPrefix(l, markBegin):
		c.current = strings.TrimSpace(l[len(markBegin):])
		fmt.Printf("[%s] === %s\n", c.name, c.current)
		return 0, false
	case strings.HasPrefix(l, markEnd):
		f := strings.Fields(l[len(markEnd):])
		if len(f) == 2 {
			os.WriteFile(filepath.Join(c.dir, safe(f[0])+".rc"), []byte(f[1]+"\n"), 0o644)
			fmt.Printf("[%s] === %s exit status %s\n", c.name, f[0], f[1])
		}
		c.current = ""
		return 0, false
	case strings.HasPrefix(l, markExit):
		rc, err := strconv.Atoi(strings.TrimSpace(l[len(markExit):]))
		if err != nil {
			rc = 1
		}
		fmt.Printf("[%s] guest exit status %d\n", c.name, rc)
		return rc, true
	}
	if label, text, ok := strings.Cut(l, "| "); ok && !strings.ContainsAny(label, " \t") && label != "" {
		fmt.Printf("[%s %s] %s\n", c.name, label, text)
		if f := c.log(label); f != nil {
			fmt.Fprintln(f, text)
		}
		return 0, false
	}
	fmt.Printf("[%s] %s\n", c.name, l)
	return 0, false
}

func (c *consoleSplitter) log(label string) *os.File {
	if f, ok := c.logs[label]; ok {
		return f
	}
	f, err := os.Create(filepath.Join(c.dir, safe(label)+".log"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "labrun:", err)
	}
	c.logs[label] = f
	return f
}

func (c *consoleSplitter) closeAll() {
	for _, f := range c.logs {
		if f != nil {
			f.Close()
		}
	}
}

// where describes the point the guest had reached, for failure messages.
func (c *consoleSplitter) where() string {
	s := "while booting"
	if c.current != "" {
		s = "while running " + c.current
	}
	return s + "; last console lines:\n    " + strings.Join(c.last, "\n    ")
}

// finish unpacks the guest's files and returns its status.
func (c *consoleSplitter) finish(rc int, ttyS1 string) (int, error) {
	out := filepath.Join(c.dir, "out")
	if err := unpackOut(ttyS1, out); err != nil {
		return 0, fmt.Errorf("guest files: %w", err)
	}
	return rc, nil
}

// unpackOut decodes the base64 tar between the markers on ttyS1 into dir.
func unpackOut(ttyS1, dir string) error {
	raw, err := os.ReadFile(ttyS1)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	i := bytes.Index(raw, []byte(outBegin))
	if i < 0 {
		return nil // the guest sent nothing
	}
	body := raw[i+len(outBegin):]
	j := bytes.Index(body, []byte(outEnd))
	if j < 0 {
		return errors.New("truncated: no end marker on ttyS1")
	}
	b64 := bytes.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == ' ' {
			return -1
		}
		return r
	}, body[:j])
	data, err := base64.StdEncoding.DecodeString(string(b64))
	if err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("untar: %w", err)
		}
		p := filepath.Join(dir, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				return err
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				return err
			}
		}
	}
}

// safe turns a label like "mka/eapol" into a file name.
func safe(label string) string { return strings.ReplaceAll(label, "/", "_") }
