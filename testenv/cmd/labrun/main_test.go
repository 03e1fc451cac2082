package main

import (
	"archive/tar"
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeQemu writes a shell script that stands in for qemu: it runs body,
// with $TTYS1 set to the file given as the second -serial.
func fakeQemu(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "qemu")
	script := `#!/bin/sh
for a in "$@"; do case $a in file:*) TTYS1=${a#file:};; esac; done
` + body + "\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunReportsStatusAndSplitsLogs(t *testing.T) {
	dir := t.TempDir()
	q := fakeQemu(t, `echo "lab: booted"
echo "@@lab-begin mka/eapol"
printf 'mka/eapol| === RUN   TestX\r\n'
echo "mka/eapol| --- FAIL: TestX (0.00s)"
echo "@@lab-end mka/eapol 1"
echo "@@lab-exit 1"`)
	rc, err := run(q, nil, "k", dir, time.Minute)
	if err != nil || rc != 1 {
		t.Fatalf("run = %d, %v; want 1, nil", rc, err)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "mka_eapol.log"))
	if string(log) != "=== RUN   TestX\n--- FAIL: TestX (0.00s)\n" {
		t.Errorf("log %q", log)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "mka_eapol.rc")); string(b) != "1\n" {
		t.Errorf("rc file %q", b)
	}
}

func TestRunGuestDied(t *testing.T) {
	q := fakeQemu(t, `echo "@@lab-begin p"; echo "Kernel panic - not syncing"; exit 0`)
	_, err := run(q, nil, "k", t.TempDir(), time.Minute)
	if err == nil || !strings.Contains(err.Error(), "guest died") || !strings.Contains(err.Error(), "while running p") ||
		!strings.Contains(err.Error(), "Kernel panic") {
		t.Errorf("err = %v", err)
	}
}

func TestRunGuestHung(t *testing.T) {
	q := fakeQemu(t, `echo booting; exec sleep 60`)
	start := time.Now()
	_, err := run(q, nil, "k", t.TempDir(), time.Second)
	if err == nil || !strings.Contains(err.Error(), "guest hung") {
		t.Errorf("err = %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("hung guest took %s to give up", d)
	}
}

func TestRunKillsGuestThatCannotPowerOff(t *testing.T) {
	defer func(g time.Duration) { exitGrace = g }(exitGrace)
	exitGrace = 100 * time.Millisecond
	q := fakeQemu(t, `echo "@@lab-exit 0"; exec sleep 60`)
	rc, err := run(q, nil, "k", t.TempDir(), time.Minute)
	if err != nil || rc != 0 {
		t.Errorf("run = %d, %v; want 0, nil", rc, err)
	}
}

func TestRunBringsBackFiles(t *testing.T) {
	var tarball bytes.Buffer
	tw := tar.NewWriter(&tarball)
	content := []byte("\xd4\xc3\xb2\xa1 pcap bytes\n\r\x00")
	tw.WriteHeader(&tar.Header{Name: "./p/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "./p/x.pcap", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(content))})
	tw.Write(content)
	tw.Close()
	// The guest's tty turns \n into \r\n; base64 wraps at 76 columns.
	b64 := base64.StdEncoding.EncodeToString(tarball.Bytes())
	var wrapped strings.Builder
	for len(b64) > 76 {
		wrapped.WriteString(b64[:76] + "\r\n")
		b64 = b64[76:]
	}
	wrapped.WriteString(b64 + "\r\n")
	dir := t.TempDir()
	payload := filepath.Join(dir, "payload")
	os.WriteFile(payload, []byte("@@lab-out-begin\r\n"+wrapped.String()+"@@lab-out-end\r\n"), 0o644)
	q := fakeQemu(t, `cat `+payload+` >"$TTYS1"; echo "@@lab-exit 0"`)
	if rc, err := run(q, nil, "k", dir, time.Minute); err != nil || rc != 0 {
		t.Fatalf("run = %d, %v", rc, err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "out", "p", "x.pcap"))
	if err != nil || !bytes.Equal(got, content) {
		t.Errorf("brought back %q, %v; want %q", got, err, content)
	}
}

func TestRunTruncatedFilesFail(t *testing.T) {
	dir := t.TempDir()
	q := fakeQemu(t, `echo "@@lab-out-begin" >"$TTYS1"; echo "AAAA" >>"$TTYS1"; echo "@@lab-exit 0"`)
	if _, err := run(q, nil, "k", dir, time.Minute); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("err = %v, want a truncated-transfer error", err)
	}
}
