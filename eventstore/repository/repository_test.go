package repository_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/uuid"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/eventstore"
	"github.com/aseptsoft/subledger/eventstore/codec"
	"github.com/aseptsoft/subledger/eventstore/embedded"
	"github.com/aseptsoft/subledger/eventstore/keyring"
	"github.com/aseptsoft/subledger/eventstore/repository"
)

type env struct {
	dir   string
	store *embedded.Store
	ring  *keyring.FileRing
	repo  *repository.Repository
	svc   *domain.Service
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	store, err := embedded.Open(filepath.Join(dir, "events"), embedded.Config{})
	if err != nil {
		t.Fatal(err)
	}
	master, _, err := keyring.LoadOrCreateMasterKey(filepath.Join(dir, "master.key"), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.OpenFileRing(ctx, filepath.Join(dir, "keyring"), master, store, keyring.Config{})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := repository.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	repo := repository.New(store, codec.New(reg, ring, codec.Config{}))
	_, signing, _ := ed25519.GenerateKey(nil)
	svc, err := domain.NewService(domain.Config{Store: repo, Secret: bytes.Repeat([]byte("s"), 32), LicenseSigningKey: signing, Pseudonyms: repository.Pseudonyms{Ring: ring},
		Passwords: domain.Argon2id{Time: 1, MemoryKiB: 1024, Threads: 1, KeyLen: 32, SaltLen: 16}})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{dir: dir, store: store, ring: ring, repo: repo, svc: svc}
	t.Cleanup(e.close)
	return e
}

func (e *env) close() {
	e.ring.Close()
	e.store.Close()
}

func TestRoundTripConflictAndErasure(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	const name, email = "Zebulon Quixotically", "zebulon.quixotically@example.org"
	acc, res, err := e.svc.RegisterAccount(ctx, domain.RegisterAccount{Name: name, Email: email, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Position == 0 {
		t.Fatal("register reported no position")
	}

	events, version, err := e.repo.Load(ctx, domain.AccountStream(acc.ID))
	if err != nil {
		t.Fatal(err)
	}
	if len(events) == 0 || version != int64(len(events)-1) {
		t.Fatalf("loaded %d events at version %d", len(events), version)
	}
	reg, ok := events[0].(domain.AccountRegistered)
	if !ok || reg.Name != name || reg.Email != email {
		t.Fatalf("first event read back as %#v", events[0])
	}

	_, err = e.repo.Append(ctx, domain.AccountStream(acc.ID), version-1, []domain.Event{domain.AccountClosed{AccountID: acc.ID}}, domain.Meta{Actor: "test"})
	if !errors.Is(err, domain.ErrVersionConflict) {
		t.Fatalf("append at a stale version: %v, want domain.ErrVersionConflict", err)
	}

	if _, _, err := e.svc.RequestErasure(ctx, domain.RequestErasure{AccountID: acc.ID}); err != nil {
		t.Fatal(err)
	}
	if err := e.ring.Forget(ctx, acc.ID); err != nil {
		t.Fatal(err)
	}
	events, _, err = e.repo.Load(ctx, domain.AccountStream(acc.ID))
	if err != nil {
		t.Fatalf("load after erasure: %v", err)
	}
	if reg := events[0].(domain.AccountRegistered); reg.Name != "" || reg.Email != "" || reg.AccountID != acc.ID {
		t.Fatalf("after erasure the registration reads %#v, want empty personal fields and the id kept", reg)
	}

	e.close()
	err = filepath.WalkDir(e.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, secret := range []string{name, email, "zebulon"} {
			if bytes.Contains(bytes.ToLower(b), bytes.ToLower([]byte(secret))) {
				t.Errorf("%s holds %q in plain text", path, secret)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDecodeForTheProjector(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	acc, _, err := e.svc.RegisterAccount(ctx, domain.RegisterAccount{Name: "Ada", Email: "ada@example.org", Password: "long enough password"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ring.Forget(ctx, acc.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Append(ctx, "stranger", eventstore.Any(), eventstore.EventData{ID: uuid.NewString(), Type: "stranger.thing.v1", Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	all, err := e.store.ReadAll(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var domainEvents, skipped int
	for _, ev := range all {
		got, err := e.repo.Decode(ctx, ev)
		switch {
		case ev.Type == "stranger.thing.v1":
			if err == nil {
				t.Fatalf("an unknown event type decoded as %v, want an error", got)
			}
		case err != nil:
			t.Fatalf("decode %s: %v", ev.Type, err)
		case got == nil:
			if !keyring.Owns(ev) {
				t.Fatalf("domain event %s decoded as nil", ev.Type)
			}
			skipped++
		default:
			domainEvents++
		}
	}
	if domainEvents == 0 || skipped == 0 {
		t.Fatalf("decoded %d domain events and skipped %d key-ring events; want some of each", domainEvents, skipped)
	}
}
