package realtime

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"

	"golang.org/x/crypto/nacl/secretbox"
)

// SharedSecret is the per-channel key of a private-encrypted- channel:
// SHA-256 of the channel name followed by the app's 32-byte master key. The
// host's POST /broadcasting/auth returns it base64-encoded as
// "shared_secret" next to "auth" (pusher-js needs it to decrypt).
func SharedSecret(channel string, masterKey []byte) string {
	k := sharedKey(channel, masterKey)
	return base64.StdEncoding.EncodeToString(k[:])
}

func sharedKey(channel string, masterKey []byte) [32]byte {
	return sha256.Sum256(append([]byte(channel), masterKey...))
}

// encryptData seals data for an encrypted channel as Pusher does:
// {"nonce": base64, "ciphertext": base64 NaCl secretbox}.
func encryptData(channel, data string, masterKey []byte) (string, error) {
	if len(masterKey) != 32 {
		return "", errors.New("private-encrypted- channels need a 32-byte encryption master key")
	}
	var nonce [24]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return "", err
	}
	key := sharedKey(channel, masterKey)
	ct := secretbox.Seal(nil, []byte(data), &nonce, &key)
	b, err := json.Marshal(map[string]string{
		"nonce":      base64.StdEncoding.EncodeToString(nonce[:]),
		"ciphertext": base64.StdEncoding.EncodeToString(ct),
	})
	return string(b), err
}
