package main

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/eventstore/repository"
	"github.com/aseptsoft/subledger/projections"
)

// TestNoPlaintextPersonalDataInFilesOrLogs runs a small business through the
// whole stack (sign-ups, purchases, subscriptions, a Stripe customer link, a
// marketing consent with an IP address, an erasure, the jobs, a rebuild),
// with every log line captured, then scans every byte of the data directory
// and of the logs for the personal values it used.
func TestNoPlaintextPersonalDataInFilesOrLogs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := config{DataDir: dir, Store: "embedded", ErasureGrace: time.Hour, CommissionHold: time.Hour}
	st, err := openStack(ctx, cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := st.service(cfg, benchSigningKey(), domain.Argon2id{Time: 1, MemoryKiB: 64})
	if err != nil {
		t.Fatal(err)
	}
	personal := []string{
		"Quirinus Zephyrlight", "Xanthippe Corporation", "quirinus.zephyrlight@example.net",
		"cus_QuirinusSecret42", "203.0.113.77", "Yolanda Affiliatewoman", "yolanda.aff@example.net",
	}
	aff, _, err := svc.RegisterAffiliate(ctx, domain.RegisterAffiliate{Name: personal[5], Email: personal[6], CommissionRateBps: 1500})
	if err != nil {
		t.Fatal(err)
	}
	acc, _, err := svc.RegisterAccount(ctx, domain.RegisterAccount{Name: personal[0], Company: personal[1], Email: personal[2], Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.LinkStripeCustomer(ctx, domain.LinkStripeCustomer{AccountID: acc.ID, CustomerID: personal[3]}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.SetMarketingConsent(ctx, domain.SetMarketingConsent{AccountID: acc.ID, Given: true, IPAddress: personal[4]}); err != nil {
		t.Fatal(err)
	}
	lic, _, err := svc.RecordCheckoutPaid(ctx, domain.RecordCheckoutPaid{SessionID: "cs_q", PaymentIntentID: "pi_q", AccountID: acc.ID,
		ProductID: "desktop-license", Quantity: 1, AffiliateID: aff.Affiliate.ID, Amount: 4900, Currency: "eur", OccurredAt: time.Now().Add(-2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if lic.Key == "" {
		t.Fatal("no license key was issued")
	}
	personal = append(personal, lic.Key)
	// A second customer, erased, and a third who stays.
	gone, _, err := svc.RegisterAccount(ctx, domain.RegisterAccount{Name: "Gottfried Vanishing", Email: "gottfried.vanishing@example.net", Password: "another long password"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.RequestErasure(ctx, domain.RequestErasure{AccountID: gone.ID}); err != nil {
		t.Fatal(err)
	}
	if err := repository.ShredAccount(ctx, st.ring, gone.ID); err != nil {
		t.Fatal(err)
	}
	// Nothing ties the erased account's address to it any more: every claim
	// and release of its reservation, read from the store, is erased (its
	// pseudonym's key is gone), so none names the account. (The aggregate's
	// Owner proves nothing here: the release clears it whatever happens to
	// the keys.) The live account's reservation is the control.
	reservationOwners := func(email string) (owners []string, erased int) {
		t.Helper()
		r, err := svc.EmailReservation(ctx, email)
		if err != nil || r.Key == "" {
			t.Fatalf("the reservation of %s: %+v, %v", email, r, err)
		}
		hist, err := st.repo.History(ctx, domain.ReservationStream(r.Namespace, r.Key), 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hist {
			switch ev := h.Event.(type) {
			case domain.ReservationClaimed:
				owners = append(owners, ev.Owner)
			case domain.ReservationReleased:
				owners = append(owners, ev.Owner)
			default:
				t.Fatalf("the reservation of %s holds a %s", email, h.Type)
			}
			if h.Erased {
				erased++
			}
		}
		if len(owners) == 0 {
			t.Fatalf("the reservation of %s holds no claim", email)
		}
		return owners, erased
	}
	if owners, erased := reservationOwners("gottfried.vanishing@example.net"); erased != len(owners) || slices.ContainsFunc(owners, func(o string) bool { return o != "" }) {
		t.Fatalf("after erasure the address's reservation events name %q (%d of %d erased), want every one erased and naming nobody", owners, erased, len(owners))
	}
	if owners, erased := reservationOwners(personal[2]); erased != 0 || slices.ContainsFunc(owners, func(o string) bool { return o != acc.ID }) {
		t.Fatalf("a live account's reservation events name %q (%d erased), want %s", owners, erased, acc.ID)
	}
	proj, err := projections.New(projections.Config{Decoder: st.repo, Observe: st.ring.Observe, Logger: logger, CommissionHold: cfg.CommissionHold})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { proj.Run(runCtx, st.store); close(done) }()
	<-proj.Ready()
	(&jobs{proj: proj, svc: svc, ring: st.ring, logger: logger}).once(ctx)
	stop()
	<-done
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"rebuild", "--data-dir", dir}, &out, &logs); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	logs.Write(out.Bytes())
	if logs.Len() == 0 {
		t.Fatal("nothing was logged: the log scan proves nothing")
	}

	scan := func(where string, b []byte) {
		lower := bytes.ToLower(b)
		for _, p := range append(personal, "Gottfried Vanishing", "gottfried.vanishing@example.net") {
			if bytes.Contains(lower, bytes.ToLower([]byte(p))) {
				t.Errorf("%s holds the personal value %q in plain text", where, p)
			}
		}
	}
	scan("the logs", logs.Bytes())
	files := 0
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		scan(strings.TrimPrefix(path, dir), b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 4 {
		t.Fatalf("scanned %d files, want the log, the key ring and both keys", files)
	}
}
