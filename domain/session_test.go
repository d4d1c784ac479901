package domain

import (
	"sync"
	"testing"
	"time"
)

// TestPasswordHashingIsBounded: 500 sign-ins at once never compute more
// than MaxConcurrentHashes argon2id hashes at the same time (each takes
// Passwords.MemoryKiB of memory), and all of them are answered.
func TestPasswordHashingIsBounded(t *testing.T) {
	f := newFixture(t)
	svc, err := NewService(Config{Store: f.store, Secret: testSecret, LicenseSigningKey: testSignKey, Now: f.clock, NewID: f.nextID,
		Passwords: Argon2id{Time: 1, MemoryKiB: 2048, Threads: 1}, Pseudonyms: f.store, MaxConcurrentHashes: 3})
	if err != nil {
		t.Fatal(err)
	}
	acc, _, err := svc.RegisterAccount(ctxb, RegisterAccount{Name: "A", Email: "a@example.org", Password: "long enough pw"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	answered := 0
	for i := range 500 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := acc.ID
			if i%2 == 0 {
				id = "" // an unknown e-mail hashes against nothing
			}
			_, err := svc.VerifyCredentials(ctxb, id, "not the password")
			if ErrorCode(err) == CodeInvalidCredentials {
				mu.Lock()
				answered++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if answered != 500 {
		t.Fatalf("%d of 500 answered invalid_credentials", answered)
	}
	if m := svc.maxHashing.Load(); m > 3 || m < 2 {
		t.Fatalf("at most %d hashes ran at once, want 2..3 (bound 3)", m)
	}
}

func TestPasswordResetTokens(t *testing.T) {
	tests := []struct {
		name  string
		act   func(f *fixture, token string) error
		check func(t *testing.T, f *fixture, token string, err error)
	}{
		{"a fresh token sets the password once", func(f *fixture, token string) error {
			_, _, err := f.svc.ConfirmPasswordReset(ctxb, token, "a brand new password")
			return err
		}, func(t *testing.T, f *fixture, token string, err error) {
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := f.svc.ConfirmPasswordReset(ctxb, token, "a third password!"); ErrorCode(err) != CodeInvalidToken {
				t.Fatalf("second use: %v", err)
			}
		}},
		{"an expired token is invalid", func(f *fixture, token string) error {
			f.now = f.now.Add(ResetTokenTTL)
			_, _, err := f.svc.ConfirmPasswordReset(ctxb, token, "a brand new password")
			return err
		}, func(t *testing.T, f *fixture, token string, err error) {
			if ErrorCode(err) != CodeInvalidToken || ErrorKind(err) != KindInvalid {
				t.Fatalf("err %v", err)
			}
		}},
		{"an unknown token is invalid", func(f *fixture, token string) error {
			_, _, err := f.svc.ConfirmPasswordReset(ctxb, token+"x", "a brand new password")
			return err
		}, func(t *testing.T, f *fixture, token string, err error) {
			if ErrorCode(err) != CodeInvalidToken {
				t.Fatalf("err %v", err)
			}
		}},
		{"a short new password spends nothing", func(f *fixture, token string) error {
			_, _, err := f.svc.ConfirmPasswordReset(ctxb, token, "short")
			return err
		}, func(t *testing.T, f *fixture, token string, err error) {
			if ErrorCode(err) != CodeValidationFailed {
				t.Fatalf("err %v", err)
			}
			if _, _, err := f.svc.ConfirmPasswordReset(ctxb, token, "a brand new password"); err != nil {
				t.Fatalf("token spent by a refused request: %v", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			acc, _, err := f.svc.RegisterAccount(ctxb, RegisterAccount{Name: "A", Email: "a@example.org", Password: "the old password"})
			if err != nil {
				t.Fatal(err)
			}
			token, _, err := f.svc.RequestPasswordReset(ctxb, acc.ID)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, f, token, tc.act(f, token))
		})
	}
}

func TestSessionExpiry(t *testing.T) {
	f := newFixture(t)
	acc, _, err := f.svc.RegisterAccount(ctxb, RegisterAccount{Name: "A", Email: "a@example.org", Password: "the password!"})
	if err != nil {
		t.Fatal(err)
	}
	sess, token, _, err := f.svc.SignIn(ctxb, SignIn{AccountID: acc.ID, Password: "the password!", Idle: time.Hour, MaxAge: 3 * time.Hour})
	if err != nil || token == "" || sess.TokenHash != HashToken(token) {
		t.Fatalf("sign-in: %v %+v", err, sess)
	}
	f.now = f.now.Add(50 * time.Minute)
	if _, _, err := f.svc.TouchSession(ctxb, sess.ID); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(50 * time.Minute)
	if s, _, err := f.svc.TouchSession(ctxb, sess.ID); err != nil || !s.ActiveAt(f.now) {
		t.Fatalf("touched session over: %v", err)
	}
	f.now = f.now.Add(61 * time.Minute)
	if _, _, err := f.svc.TouchSession(ctxb, sess.ID); ErrorKind(err) != KindUnauthenticated {
		t.Fatalf("idle session touched: %v", err)
	}
	if _, _, _, err := f.svc.SignIn(ctxb, SignIn{AccountID: acc.ID, Password: "wrong password"}); ErrorCode(err) != CodeInvalidCredentials {
		t.Fatalf("wrong password: %v", err)
	}
}
