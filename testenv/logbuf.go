package testenv

import (
	"bytes"
	"sync"
)

// LogBuffer collects output that other goroutines or a child process
// write while the test reads it (a logger's or a daemon's log): a
// bytes.Buffer whose Write and String may run concurrently.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
