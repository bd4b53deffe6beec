package realtime

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net"
	"strconv"
	"testing"

	"golang.org/x/crypto/nacl/secretbox"
)

func TestEncryptedPublishing(t *testing.T) {
	master := []byte("abcdefghijklmnopqrstuvwxyz012345")
	cfg := testConfig()
	cfg.Apps[0].EncryptionMasterKeyBase64 = base64.StdEncoding.EncodeToString(master)
	s := mustServer(t, cfg, Options{})
	c := mustDial(t, s.addr, testKey)
	c.subscribe("private-encrypted-inbox")
	c.subscribe("news")
	host, port, _ := net.SplitHostPort(s.addr)
	p, _ := strconv.Atoi(port)
	pubs := map[string]Publisher{
		"in-process": s.Publisher(testID),
		"http":       NewHTTPPublisher(host, p, "http", testID, testKey, testSecret, WithEncryptionMasterKey(cfg.Apps[0].EncryptionMasterKeyBase64)),
	}
	for name, pub := range pubs {
		t.Run(name, func(t *testing.T) {
			if err := pub.Publish(t.Context(), Event{Channels: []string{"private-encrypted-inbox", "news"}, Name: "msg", Data: `{"secret":"s3"}`}); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 2; i++ {
				f := c.expect("msg")
				if f.Channel == "news" {
					if f.str() != `{"secret":"s3"}` {
						t.Errorf("plain channel got %s", f.Data)
					}
					continue
				}
				var em struct{ Nonce, Ciphertext string }
				if err := json.Unmarshal([]byte(f.str()), &em); err != nil || em.Nonce == "" {
					t.Fatalf("not an encrypted payload: %s", f.Data)
				}
				nonce, _ := base64.StdEncoding.DecodeString(em.Nonce)
				ct, _ := base64.StdEncoding.DecodeString(em.Ciphertext)
				var n [24]byte
				copy(n[:], nonce)
				key := sha256.Sum256(append([]byte("private-encrypted-inbox"), master...))
				plain, ok := secretbox.Open(nil, ct, &n, &key)
				if !ok || string(plain) != `{"secret":"s3"}` {
					t.Errorf("decrypted %q ok=%v", plain, ok)
				}
			}
		})
	}
	if got := SharedSecret("private-encrypted-inbox", master); got != base64.StdEncoding.EncodeToString(func() []byte {
		k := sha256.Sum256(append([]byte("private-encrypted-inbox"), master...))
		return k[:]
	}()) {
		t.Errorf("SharedSecret %s", got)
	}
	// Without a master key the in-process publisher refuses rather than leak plaintext.
	s2 := mustServer(t, testConfig(), Options{})
	if err := s2.Publisher(testID).Publish(t.Context(), Event{Channels: []string{"private-encrypted-x"}, Name: "m", Data: "{}"}); err == nil {
		t.Error("published on an encrypted channel without a key")
	}
}
