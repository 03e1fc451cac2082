package daemon

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/macsecd/macsecd/testenv"
)

const keyHex = "00112233445566778899aabbccddeeff"

func writeKey(t *testing.T, dir, name string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(keyHex+"\n"), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // umask-proof
		t.Fatal(err)
	}
	return p
}

func TestKeyFilePermissions(t *testing.T) {
	dir := t.TempDir()
	ks := osKeySource{}
	if os.Geteuid() != 0 {
		// Files we create belong to us, not root: refused, saying so.
		p := writeKey(t, dir, "k", 0o600)
		_, err := ks.ReadKeyFile(p)
		if err == nil || !strings.Contains(err.Error(), "not root") {
			t.Fatalf("non-root-owned key file: %v", err)
		}
		return
	}
	for _, tc := range []struct {
		mode os.FileMode
		want string // "" = accepted
	}{
		{0o600, ""},
		{0o400, ""},
		{0o644, "has mode 0644: group or others can access it; key files must be 0600 or 0400"},
		{0o640, "has mode 0640"},
		{0o604, "has mode 0604"},
	} {
		p := writeKey(t, dir, "k"+tc.mode.String(), tc.mode)
		key, err := ks.ReadKeyFile(p)
		if tc.want == "" {
			if err != nil || !bytes.Equal(key, []byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}) {
				t.Errorf("mode %v: %v %x", tc.mode, err, key)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("mode %v: got %v, want error containing %q and the path", tc.mode, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), keyHex) {
			t.Errorf("error shows the key: %v", err)
		}
	}

	p := writeKey(t, dir, "owned", 0o600)
	if err := os.Chown(p, 1000, 1000); err != nil {
		t.Fatal(err)
	}
	if _, err := ks.ReadKeyFile(p); err == nil || !strings.Contains(err.Error(), "owned by uid 1000, not root") {
		t.Errorf("uid 1000 key file: %v", err)
	}
	link := filepath.Join(dir, "link")
	os.Symlink(writeKey(t, dir, "target", 0o600), link)
	if _, err := ks.ReadKeyFile(link); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("symlink: %v", err)
	}
	if _, err := ks.ReadKeyFile("relative/key"); err == nil || !strings.Contains(err.Error(), "not an absolute path") {
		t.Errorf("relative path: %v", err)
	}
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("not hex at all"), 0o600)
	if _, err := ks.ReadKeyFile(bad); err == nil || !strings.Contains(err.Error(), "does not hold a key in hex") {
		t.Errorf("garbage: %v", err)
	}

	// systemd credentials: LoadCredential=NAME puts NAME in $CREDENTIALS_DIRECTORY.
	t.Setenv("CREDENTIALS_DIRECTORY", dir)
	if key, err := ks.ReadCredential("k-rw-------"); err != nil || len(key) != 16 {
		t.Errorf("credential: %v", err)
	}
	if _, err := ks.ReadCredential("../etc/shadow"); err == nil {
		t.Errorf("credential name with / accepted")
	}
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	if _, err := ks.ReadCredential("k"); err == nil || !strings.Contains(err.Error(), "$CREDENTIALS_DIRECTORY is not set") {
		t.Errorf("no credentials directory: %v", err)
	}
}

// TestCheckRefusesWorldReadableKey runs `macsecd -check` on a config whose
// CAK file is 0644: exit status 1 and a message naming the file, the port,
// the field and the fix.
func TestCheckRefusesWorldReadableKey(t *testing.T) {
	testenv.RequireRoot(t) // key files must belong to root
	dir := t.TempDir()
	k := writeKey(t, dir, "lan.cak", 0o644)
	conf := filepath.Join(dir, "macsecd.toml")
	os.WriteFile(conf, []byte(`
[port.lan]
parent = "eth0"
interface = "macsec0"
[[port.lan.mka.key]]
ckn = "01"
cak_file = "`+k+`"
`), 0o644)
	var out bytes.Buffer
	if code := Main([]string{"-check", conf}, &out); code != 1 {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	want := conf + `: port "lan": mka.key[0].cak_file: ` + k + ` has mode 0644: group or others can access it; key files must be 0600 or 0400 (chmod 600 ` + k + `)`
	if !strings.Contains(out.String(), want) {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
	os.Chmod(k, 0o600)
	out.Reset()
	if code := Main([]string{"-check", conf}, &out); code != 0 || !strings.Contains(out.String(), "OK: 1 port(s): lan (macsec0 on eth0, mka, backend auto)") {
		t.Errorf("exit %d: %s", code, out.String())
	}
	if strings.Contains(out.String(), keyHex) {
		t.Errorf("check output shows the key")
	}
}

// FuzzDecodeHex checks the key and identifier parser against encoding/hex
// on the same digits.
func FuzzDecodeHex(f *testing.F) {
	for _, s := range []string{keyHex, "0x0102", "01:02:03", "", "0", "zz", "0X"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := decodeHex(s)
		clean := s
		if len(s) >= 2 && (s[:2] == "0x" || s[:2] == "0X") {
			clean = s[2:]
		}
		clean = strings.ReplaceAll(clean, ":", "")
		want, werr := hex.DecodeString(clean)
		if (err == nil) != (werr == nil) {
			t.Fatalf("%q: decodeHex err %v, encoding/hex err %v", s, err, werr)
		}
		if err == nil && !bytes.Equal(got, want) {
			t.Fatalf("%q: got %x, want %x", s, got, want)
		}
	})
}
