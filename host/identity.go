package host

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/mysharpjob/sharpjob/api"
	"github.com/mysharpjob/sharpjob/store"
)

// Identity is the host-native, Sanctum-compatible identity service: users, personal
// access tokens "{id}|{secret}" of which only a SHA-256 of the secret is stored,
// bcrypt passwords and login throttling.
type Identity struct {
	db       *store.DB
	cost     int
	cacheTTL time.Duration
	throttle *Throttle

	mu    sync.Mutex
	cache map[int64]cachedToken // token id → verified principal
}

type cachedToken struct {
	hash    [32]byte
	p       api.Principal
	expires time.Time
}

// User is a user as the API shows it; never with its password hash.
type User struct {
	ID              int64   `json:"id"`
	Name            string  `json:"name"`
	Email           string  `json:"email"`
	Role            string  `json:"role"`
	Phone           *string `json:"phone"`
	AvatarURL       *string `json:"avatar_url"`
	IsVerified      bool    `json:"is_verified"`
	SuspendedUntil  *string `json:"suspended_until,omitempty"`
	EmailVerifiedAt *string `json:"email_verified_at"`
	CreatedAt       string  `json:"created_at"`
	UpdatedAt       string  `json:"updated_at"`
}

// NewIdentity makes the identity service.
func NewIdentity(db *store.DB, bcryptCost int, cacheTTL time.Duration, throttle *Throttle) *Identity {
	if bcryptCost < bcrypt.MinCost {
		bcryptCost = bcrypt.DefaultCost
	}
	return &Identity{db: db, cost: bcryptCost, cacheTTL: cacheTTL, throttle: throttle, cache: map[int64]cachedToken{}}
}

var (
	errBadToken  = errors.New("invalid token")
	errSuspended = errors.New("account suspended")
)

// Authenticate resolves "Bearer {id}|{secret}" to a principal. A malformed, unknown,
// revoked or expired token is errBadToken; a suspended user errSuspended.
func (id *Identity) Authenticate(ctx context.Context, header string) (api.Principal, error) {
	raw, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		return api.Principal{}, errBadToken
	}
	idPart, secret, ok := strings.Cut(strings.TrimSpace(raw), "|")
	tokenID, err := strconv.ParseInt(idPart, 10, 64)
	if !ok || err != nil || tokenID <= 0 || len(secret) < 20 || len(secret) > 128 {
		return api.Principal{}, errBadToken
	}
	hash := sha256.Sum256([]byte(secret))
	now := time.Now()
	id.mu.Lock()
	c, hit := id.cache[tokenID]
	id.mu.Unlock()
	if hit && now.Before(c.expires) {
		if subtle.ConstantTimeCompare(c.hash[:], hash[:]) == 1 {
			return c.p, nil
		}
		return api.Principal{}, errBadToken
	}
	var (
		stored              string
		expiresAt, suspUntl sql.NullString
		p                   api.Principal
	)
	err = id.db.R.QueryRowContext(ctx, `SELECT t.token_hash, t.expires_at, u.id, u.name, u.email, u.role, u.suspended_until
		FROM personal_access_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ?`, tokenID).
		Scan(&stored, &expiresAt, &p.UserID, &p.Name, &p.Email, &p.Role, &suspUntl)
	if errors.Is(err, sql.ErrNoRows) {
		return api.Principal{}, errBadToken
	}
	if err != nil {
		return api.Principal{}, fmt.Errorf("identity: look up token: %w", err)
	}
	want, err := hex.DecodeString(stored)
	if err != nil || subtle.ConstantTimeCompare(want, hash[:]) != 1 {
		return api.Principal{}, errBadToken
	}
	if expiresAt.Valid && expiresAt.String != "" && expiresAt.String < now.UTC().Format(timeFormat) {
		return api.Principal{}, errBadToken
	}
	if suspUntl.Valid && suspUntl.String > now.UTC().Format(timeFormat) {
		return api.Principal{}, errSuspended
	}
	id.mu.Lock()
	if len(id.cache) > 100_000 {
		clear(id.cache)
	}
	id.cache[tokenID] = cachedToken{hash: hash, p: p, expires: now.Add(id.cacheTTL)}
	id.mu.Unlock()
	return p, nil
}

const timeFormat = "2006-01-02T15:04:05.000Z"

// Issue creates a token for user and returns its plain text "{id}|{secret}", the only
// time the secret exists outside the caller.
func (id *Identity) Issue(ctx context.Context, userID int64, name string) (string, error) {
	secret := randomToken(40)
	hash := sha256.Sum256([]byte(secret))
	var tokenID int64
	err := id.db.W.QueryRowContext(ctx, `INSERT INTO personal_access_tokens(user_id, name, token_hash) VALUES (?, ?, ?) RETURNING id`,
		userID, name, hex.EncodeToString(hash[:])).Scan(&tokenID)
	if err != nil {
		return "", fmt.Errorf("identity: issue token: %w", err)
	}
	return strconv.FormatInt(tokenID, 10) + "|" + secret, nil
}

// Revoke deletes the token the header carries.
func (id *Identity) Revoke(ctx context.Context, header string) error {
	raw, _ := strings.CutPrefix(header, "Bearer ")
	idPart, _, _ := strings.Cut(raw, "|")
	tokenID, err := strconv.ParseInt(idPart, 10, 64)
	if err != nil {
		return errBadToken
	}
	id.mu.Lock()
	delete(id.cache, tokenID)
	id.mu.Unlock()
	_, err = id.db.W.ExecContext(ctx, `DELETE FROM personal_access_tokens WHERE id = ?`, tokenID)
	return err
}

const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)] // 256 % 62 bias is negligible for 40 chars
	}
	return string(b)
}

// Registration is the validated input of POST /api/auth/register.
type Registration struct {
	Name, Email, Password, Role string
}

// ValidateRegistration checks a register body, Laravel-style.
func ValidateRegistration(in map[string]any) (Registration, api.Errors) {
	errs := api.Errors{}
	str := func(k string) (string, bool) {
		v, present := in[k]
		if !present || v == nil {
			return "", false
		}
		s, ok := v.(string)
		if !ok {
			errs.Add(k, "The "+k+" field must be a string.")
			return "", true
		}
		return s, true
	}
	var r Registration
	name, ok := str("name")
	r.Name = strings.TrimSpace(name)
	switch n := utf8.RuneCountInString(r.Name); {
	case !ok || n == 0:
		errs.Add("name", "The name field is required.")
	case n < 2 || n > 100:
		errs.Add("name", "The name field must be between 2 and 100 characters.")
	}
	email, ok := str("email")
	r.Email = strings.ToLower(strings.TrimSpace(email))
	if !ok || r.Email == "" {
		errs.Add("email", "The email field is required.")
	} else if a, err := mail.ParseAddress(r.Email); err != nil || a.Address != r.Email || !strings.Contains(r.Email[strings.IndexByte(r.Email, '@'):], ".") || len(r.Email) > 255 {
		errs.Add("email", "The email field must be a valid email address.")
	}
	r.Password, ok = str("password")
	confirm, _ := str("password_confirmation")
	switch {
	case !ok || r.Password == "":
		errs.Add("password", "The password field is required.")
	case utf8.RuneCountInString(r.Password) < 8:
		errs.Add("password", "The password field must be at least 8 characters.")
	case len(r.Password) > 72:
		errs.Add("password", "The password field must not be greater than 72 characters.") // bcrypt's limit
	case confirm != r.Password:
		errs.Add("password", "The password field confirmation does not match.")
	}
	r.Role, ok = str("role")
	if !ok || r.Role == "" {
		errs.Add("role", "The role field is required.")
	} else if r.Role != "client" && r.Role != "artisan" {
		errs.Add("role", "The selected role is invalid.")
	}
	return r, errs
}

var errEmailTaken = errors.New("email taken")

// EmailTaken reports whether a user has this email (case-insensitively).
func (id *Identity) EmailTaken(ctx context.Context, email string) bool {
	var n int
	_ = id.db.R.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE email = ?`, email).Scan(&n)
	return n > 0
}

// Register creates a user with a bcrypt hash of the password.
func (id *Identity) Register(ctx context.Context, r Registration) (User, error) {
	hash, err := bcrypt.GenerateFromPassword([]byte(r.Password), id.cost)
	if err != nil {
		return User{}, err
	}
	var uid int64
	err = id.db.W.QueryRowContext(ctx, `INSERT INTO users(name, email, password_hash, role) VALUES (?, ?, ?, ?)
		ON CONFLICT(email) DO NOTHING RETURNING id`, r.Name, r.Email, string(hash), r.Role).Scan(&uid)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, errEmailTaken
	}
	if err != nil {
		return User{}, fmt.Errorf("identity: register: %w", err)
	}
	return id.User(ctx, uid)
}

// dummyHash keeps an unknown email's login as slow as a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not-a-real-password"), bcrypt.MinCost)

var errBadCredentials = errors.New("bad credentials")

// Login checks email and password.
func (id *Identity) Login(ctx context.Context, email, password string) (User, error) {
	var (
		uid  int64
		hash string
	)
	err := id.db.R.QueryRowContext(ctx, `SELECT id, password_hash FROM users WHERE email = ?`, strings.ToLower(strings.TrimSpace(email))).Scan(&uid, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return User{}, errBadCredentials
	}
	if err != nil {
		return User{}, fmt.Errorf("identity: login: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return User{}, errBadCredentials
	}
	u, err := id.User(ctx, uid)
	if err != nil {
		return User{}, err
	}
	if u.SuspendedUntil != nil && *u.SuspendedUntil > time.Now().UTC().Format(timeFormat) {
		return User{}, errSuspended
	}
	return u, nil
}

// User loads one user.
func (id *Identity) User(ctx context.Context, uid int64) (User, error) {
	var u User
	err := id.db.R.QueryRowContext(ctx, `SELECT id, name, email, role, phone, avatar_url, is_verified, suspended_until, email_verified_at, created_at, updated_at
		FROM users WHERE id = ?`, uid).Scan(&u.ID, &u.Name, &u.Email, &u.Role, &u.Phone, &u.AvatarURL, &u.IsVerified, &u.SuspendedUntil, &u.EmailVerifiedAt, &u.CreatedAt, &u.UpdatedAt)
	if err != nil {
		return User{}, fmt.Errorf("identity: load user %d: %w", uid, err)
	}
	return u, nil
}

// CreateAdmin creates (or promotes) an administrator; for the CLI only.
func (id *Identity) CreateAdmin(ctx context.Context, name, email, password string) (User, error) {
	r, errs := ValidateRegistration(map[string]any{"name": name, "email": email, "password": password, "password_confirmation": password, "role": "client"})
	if len(errs) > 0 {
		return User{}, errors.New(api.Summary(errs))
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(r.Password), id.cost)
	if err != nil {
		return User{}, err
	}
	var uid int64
	err = id.db.W.QueryRowContext(ctx, `INSERT INTO users(name, email, password_hash, role) VALUES (?, ?, ?, 'admin')
		ON CONFLICT(email) DO UPDATE SET role = 'admin', password_hash = excluded.password_hash, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
		RETURNING id`, r.Name, r.Email, string(hash)).Scan(&uid)
	if err != nil {
		return User{}, fmt.Errorf("identity: create admin: %w", err)
	}
	return id.User(ctx, uid)
}

// Throttle counts failures per key in a sliding window (login: email|address).
type Throttle struct {
	max    int
	window time.Duration

	mu   sync.Mutex
	hits map[string][]time.Time
}

func NewThrottle(max int, window time.Duration) *Throttle {
	return &Throttle{max: max, window: window, hits: map[string][]time.Time{}}
}

// Blocked reports whether key is over the limit and, if so, how long until it is not.
func (t *Throttle) Blocked(key string) (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	hits := t.prune(key, now)
	if len(hits) < t.max {
		return 0, false
	}
	return hits[0].Add(t.window).Sub(now), true
}

// Fail records a failure.
func (t *Throttle) Fail(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	t.hits[key] = append(t.prune(key, now), now)
	if len(t.hits) > 100_000 { // bound memory under a spray of keys
		for k := range t.hits {
			if len(t.prune(k, now)) == 0 {
				delete(t.hits, k)
			}
		}
	}
}

// Clear forgets key (a successful login).
func (t *Throttle) Clear(key string) {
	t.mu.Lock()
	delete(t.hits, key)
	t.mu.Unlock()
}

func (t *Throttle) prune(key string, now time.Time) []time.Time {
	hits := t.hits[key]
	i := 0
	for i < len(hits) && now.Sub(hits[i]) >= t.window {
		i++
	}
	hits = hits[i:]
	if len(hits) == 0 {
		delete(t.hits, key)
	} else {
		t.hits[key] = hits
	}
	return hits
}
