package main

import (
	"strings"
	"testing"
)

func sum(t *testing.T, events string) (bool, string) {
	t.Helper()
	var out strings.Builder
	ok, err := summarise(strings.NewReader(events), &out)
	if err != nil {
		t.Fatal(err)
	}
	return ok, out.String()
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func TestCountsAndDetails(t *testing.T) {
	ok, out := sum(t, `{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"pass","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:3: wanted 1, got 2\n"}
{"Action":"fail","Package":"p","Test":"TestB"}
{"Action":"output","Package":"p","Test":"TestC","Output":"=== RUN   TestC\n"}
{"Action":"output","Package":"p","Test":"TestC","Output":"    c_test.go:9: needs root\n"}
{"Action":"output","Package":"p","Test":"TestC","Output":"--- SKIP: TestC (0.00s)\n"}
{"Action":"skip","Package":"p","Test":"TestC"}
{"Action":"fail","Package":"p"}
plain text line
`)
	if ok {
		t.Error("a failed test reported success")
	}
	for _, want := range []string{"FAIL p\n", "=== FAIL p TestB\n    b_test.go:3: wanted 1, got 2", "p TestC: c_test.go:9: needs root", "plain text line"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if got := lastLine(out); got != "1 passed, 1 failed, 1 skipped" {
		t.Errorf("last line %q", got)
	}
}

// TestPackageFailureWithoutTest covers a crash or build failure: no test
// fails, yet the package does, and that must count.
func TestPackageFailureWithoutTest(t *testing.T) {
	ok, out := sum(t, `{"Action":"build-output","ImportPath":"q [q.test]","Output":"q.go:1: undefined: x\n"}
{"Action":"pass","Package":"p","Test":"TestA"}
{"Action":"output","Package":"q","Output":"FAIL\tq [build failed]\n"}
{"Action":"fail","Package":"q"}
{"Action":"fail","Package":"q"}
`)
	if ok {
		t.Error("a package that failed to build reported success")
	}
	if !strings.Contains(out, "undefined: x") || strings.Count(out, "FAIL q\n") != 1 {
		t.Errorf("summary:\n%s", out)
	}
	if got := lastLine(out); got != "1 passed, 1 failed, 0 skipped" {
		t.Errorf("last line %q", got)
	}
}

func TestNothingRanFails(t *testing.T) {
	if ok, out := sum(t, "?   \tp\t[no test files]\n"); ok || !strings.Contains(out, "no test ran") {
		t.Errorf("empty run: ok=%v\n%s", ok, out)
	}
}

func TestAllPass(t *testing.T) {
	ok, out := sum(t, `{"Action":"pass","Package":"p","Test":"TestA"}
{"Action":"pass","Package":"p","Test":"TestA/sub"}
{"Action":"pass","Package":"p"}
`)
	if !ok || lastLine(out) != "2 passed, 0 failed, 0 skipped" {
		t.Errorf("ok=%v\n%s", ok, out)
	}
}
