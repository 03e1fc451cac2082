// Command testsum summarises `go test -json` (or test2json) output read from
// stdin: it prints each package's result as it finishes, then the output of
// every failed test, every skipped test with its skip message (so that a
// silent skip is visible), and a last line "N passed, N failed, N skipped".
// It exits 1 when anything failed, including a package that did not build,
// and when it saw no test at all.
//
// Lines that are not JSON are copied through, so build errors printed as
// text are not lost.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json's TestEvent).
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string
}

type key struct{ pkg, test string }

type summary struct {
	out     io.Writer
	output  map[key]*strings.Builder
	failed  []key
	skipped []key
	passed  int
	pkgFail map[string]bool             // packages whose binary failed (or did not build)
	build   map[string]*strings.Builder // build output by import path
}

func main() {
	ok, err := summarise(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsum:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

// summarise reads the event stream from in, writes the summary to out and
// reports whether everything passed.
func summarise(in io.Reader, out io.Writer) (bool, error) {
	s := &summary{out: out, output: map[key]*strings.Builder{},
		build: map[string]*strings.Builder{}, pkgFail: map[string]bool{}}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		s.line(sc.Bytes())
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("read: %w", err)
	}
	return s.report(), nil
}

func (s *summary) line(b []byte) {
	var e event
	if len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &e) != nil {
		fmt.Fprintf(s.out, "%s\n", b)
		return
	}
	switch e.Action {
	case "build-output":
		s.buf(s.build, e.ImportPath).WriteString(e.Output)
		return
	case "build-fail":
		return
	}
	k := key{e.Package, e.Test}
	switch e.Action {
	case "output":
		b := s.output[k]
		if b == nil {
			b = &strings.Builder{}
			s.output[k] = b
		}
		b.WriteString(e.Output)
	case "pass":
		if e.Test != "" {
			s.passed++
		} else {
			fmt.Fprintf(s.out, "ok   %s\n", e.Package)
		}
	case "skip":
		if e.Test != "" {
			s.skipped = append(s.skipped, k)
		}
	case "fail":
		if e.Test != "" {
			s.failed = append(s.failed, k)
			return
		}
		if !s.pkgFail[e.Package] {
			fmt.Fprintf(s.out, "FAIL %s\n", e.Package)
		}
		s.pkgFail[e.Package] = true
	}
}

func (s *summary) buf(m map[string]*strings.Builder, k string) *strings.Builder {
	b := m[k]
	if b == nil {
		b = &strings.Builder{}
		m[k] = b
	}
	return b
}

// report prints the details and the count line; it reports success.
func (s *summary) report() bool {
	for _, pkg := range sortedKeys(s.build) {
		fmt.Fprintf(s.out, "\n=== build %s\n%s", pkg, s.build[pkg].String())
	}
	testFailed := map[string]bool{}
	for _, k := range s.failed {
		testFailed[k.pkg] = true
		fmt.Fprintf(s.out, "\n=== FAIL %s %s\n%s", k.pkg, k.test, s.text(k))
	}
	// A package that failed without a failing test (build error, panic in
	// init, crash, timeout) counts as one failure and shows its own output.
	failed := len(s.failed)
	for _, pkg := range sortedKeys(s.pkgFail) {
		if !testFailed[pkg] {
			failed++
			fmt.Fprintf(s.out, "\n=== FAIL %s (package)\n%s", pkg, s.text(key{pkg, ""}))
		}
	}
	if len(s.skipped) > 0 {
		fmt.Fprintf(s.out, "\nskipped tests:\n")
		for _, k := range s.skipped {
			fmt.Fprintf(s.out, "  %s %s: %s\n", k.pkg, k.test, skipReason(s.text(k)))
		}
	}
	fmt.Fprintf(s.out, "\n%d passed, %d failed, %d skipped\n", s.passed, failed, len(s.skipped))
	if s.passed+failed+len(s.skipped) == 0 {
		fmt.Fprintln(s.out, "testsum: no test ran")
		return false
	}
	return failed == 0
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (s *summary) text(k key) string {
	if b := s.output[k]; b != nil {
		return b.String()
	}
	return ""
}

// skipReason keeps the lines a test logged, without the framework's
// "=== RUN"/"--- SKIP" lines.
func skipReason(out string) string {
	var msg []string
	for _, l := range strings.Split(out, "\n") {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		msg = append(msg, t)
	}
	if len(msg) == 0 {
		return "(no message)"
	}
	return strings.Join(msg, " / ")
}
