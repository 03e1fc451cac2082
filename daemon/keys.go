package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// KeySource reads key material (CAKs and SAKs). Errors name the file and
// the reason but never contain key bytes.
type KeySource interface {
	// ReadKeyFile reads a key from a file that only root can read.
	ReadKeyFile(path string) ([]byte, error)
	// ReadCredential reads a systemd credential (LoadCredential=NAME:...)
	// from $CREDENTIALS_DIRECTORY.
	ReadCredential(name string) ([]byte, error)
}

// osKeySource reads keys from the file system.
type osKeySource struct{}

// maxKeyFile bounds what is read from a key file: hex of a 32-octet key
// plus whitespace fits easily.
const maxKeyFile = 256

func (osKeySource) ReadKeyFile(path string) ([]byte, error) {
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("%q is not an absolute path", path)
	}
	return readPrivateKey(path)
}

func (osKeySource) ReadCredential(name string) ([]byte, error) {
	dir := os.Getenv("CREDENTIALS_DIRECTORY")
	if dir == "" {
		return nil, fmt.Errorf("credential %q: $CREDENTIALS_DIRECTORY is not set (run under systemd with LoadCredential=%s:/path/to/keyfile)", name, name)
	}
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return nil, fmt.Errorf("credential %q: not a credential name", name)
	}
	return readPrivateKey(filepath.Join(dir, name))
}

// readPrivateKey opens the file first and checks what it opened, so that a
// file swapped between check and read cannot slip through.
func readPrivateKey(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("%s is a symbolic link; name the key file itself", path)
		}
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := checkKeyFileMode(path, fi); err != nil {
		return nil, err
	}
	buf := make([]byte, maxKeyFile+1)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		clear(buf)
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	defer clear(buf)
	if n > maxKeyFile {
		return nil, fmt.Errorf("%s is longer than %d bytes; a key file holds one key in hex", path, maxKeyFile)
	}
	key, err := decodeHex(bytes.TrimSpace(buf[:n]))
	if err != nil {
		return nil, fmt.Errorf("%s does not hold a key in hex (%v)", path, err)
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("%s is empty", path)
	}
	return key, nil
}

// checkKeyFileMode refuses a key file that anyone but root could read or
// replace: the key would no longer be secret to the host.
func checkKeyFileMode(path string, fi os.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%s: cannot read owner", path)
	}
	if st.Uid != 0 {
		return fmt.Errorf("%s is owned by uid %d, not root; key files must belong to root (chown root:root %s)", path, st.Uid, path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%s has mode %04o: group or others can access it; key files must be 0600 or 0400 (chmod 600 %s)", path, perm, path)
	}
	return nil
}
