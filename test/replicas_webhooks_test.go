package test

import (
	"bytes"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
)

// deliverToReplicas sends every event one to three times, shuffled by
// seed, from four goroutines, each delivery to a replica chosen at random:
// what Stripe does behind a load balancer. A 5xx is delivered again, as
// Stripe would.
func deliverToReplicas(t *testing.T, clients []*client, events []lifeEvent, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed*0x9e3779b97f4a7c15+1))
	type delivery struct{ ev, to int }
	var queue []delivery
	for i := range events {
		for range 1 + rng.IntN(3) {
			queue = append(queue, delivery{i, rng.IntN(len(clients))})
		}
	}
	rng.Shuffle(len(queue), func(i, j int) { queue[i], queue[j] = queue[j], queue[i] })
	work := make(chan delivery)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for d := range work {
				e, c := events[d.ev], clients[d.to]
				for attempt := 1; ; attempt++ {
					sig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: e.body, Secret: webhookSecret, Timestamp: time.Now()}).Header
					res, err := c.try(http.MethodPost, "/v1/webhooks/stripe", "", rawBody(e.body), "Stripe-Signature", sig)
					if err == nil && res.Status == http.StatusOK {
						break
					}
					if err == nil && res.Status >= 500 && attempt < 5 {
						time.Sleep(time.Duration(attempt) * 50 * time.Millisecond)
						continue
					}
					t.Errorf("deliver %s to replica %d (attempt %d): %v %v", e.name, d.to, attempt, res, err)
					break
				}
			}
		})
	}
	for _, d := range queue {
		work <- d
	}
	close(work)
	wg.Wait()
}

// TestWebhooksOnReplicas plays the lifecycles of TestLifecycles (a license
// refunded in parts, a subscription renewed past recurring_months, disputes
// lost and won, ...) with every Stripe event delivered to one of two
// replicas at random, shuffled and duplicated: both replicas then give the
// hand-computed reports that one server gives, byte for byte the same.
func TestWebhooksOnReplicas(t *testing.T) {
	v := newValidator(t)
	tmpl := loadStripeTemplates(t)
	store := startESDB(t)
	keys := t.TempDir()
	shared := []string{"--store", store, "--master-key-file", filepath.Join(keys, "master.key"), "--license-key-file", filepath.Join(keys, "license-signing.key")}
	a := startServer(t, v, options{args: shared})
	b := startServer(t, v, options{args: shared})
	ca, cb := a.client(t), b.client(t)

	ids := lifeIDs()
	pa := &lifeCustomer{newPerson("replA"), ids["cusA"]}
	pb := &lifeCustomer{newPerson("replB"), ids["cusB"]}
	pc := &lifeCustomer{newPerson("replC"), ids["cusC"]}
	for _, p := range []*lifeCustomer{pa, pb, pc} {
		ca.signUp(p.person)
		ca.signIn(p.person)
		secret("account id", p.ID)
	}
	var aff struct {
		ID     string `json:"id"`
		APIKey string `json:"api_key"`
	}
	ca.do(http.MethodPost, "/v1/affiliates", a.adminKey, map[string]any{
		"name":                secret("affiliate name", "Replica Partner "+randHex(4)),
		"email":               secret("affiliate e-mail", "replica.partner."+randHex(4)+"@example.com"),
		"commission_rate_bps": lifeRateBps, "recurring_months": lifeRecurringMonths,
	}).want(http.StatusCreated).json(&aff)
	secret("affiliate key", aff.APIKey)
	// B learns of the customers and the affiliate before Stripe speaks.
	for _, p := range []*lifeCustomer{pa, pb, pc} {
		if _, ok := eventually(replicaLag, func() bool {
			res, err := cb.try(http.MethodGet, "/v1/accounts/"+p.ID, b.adminKey, nil)
			return err == nil && res.Status == http.StatusOK
		}); !ok {
			t.Fatalf("B does not know account %s", p.ID)
		}
	}

	lb := &lifeBuilder{t: t, tmpl: tmpl, affiliate: aff.ID}
	yearly, rest := lifecycleEvents(lb, pa, pb, pc)
	clients := []*client{ca, cb}
	deliverToReplicas(t, clients, yearly, 7)
	deliverToReplicas(t, clients, rest, 1007)
	for _, c := range clients {
		if _, ok := eventually(replicaLag, func() bool { m, r := lagOf(t, c); return m == 0 && r == 0 }); !ok {
			t.Fatalf("a replica does not catch up")
		}
	}

	bodies := make([]map[string][]byte, 2)
	for i, c := range clients {
		srv := []*server{a, b}[i]
		bodies[i] = map[string][]byte{}
		for _, q := range reportQueries {
			path := "/v1/affiliates/" + aff.ID + "/reports/" + q.report + "?" + q.query
			token, headers := aff.APIKey, []string(nil)
			if q.csv && !strings.Contains(q.query, "format=csv") {
				token, headers = srv.adminKey, []string{"Accept", "text/csv"}
			}
			bodies[i][q.name] = c.do(http.MethodGet, path, token, nil, headers...).want(http.StatusOK).Body
		}
		saleIDs := map[string]string{}
		checkSalesJSON(t, "sales 2026 (JSON)", bodies[i]["sales 2026 (JSON)"], wantAllSales, saleIDs, true)
		checkSalesCSV(t, "sales 2026 (CSV)", bodies[i]["sales 2026 (CSV)"], wantAllSales, saleIDs)
		checkSalesJSON(t, "sales Feb-mid Apr (JSON)", bodies[i]["sales Feb-mid Apr (JSON)"], wantSomeSales, saleIDs, false)
		checkSummaryJSON(t, "summary Jan-Jun (JSON)", bodies[i]["summary Jan-Jun (JSON)"], wantHalfYear)
		checkSummaryCSV(t, "summary Jan-Jun (CSV)", bodies[i]["summary Jan-Jun (CSV)"], wantHalfYear)
		checkSummaryJSON(t, "summary mid Apr-mid May (JSON)", bodies[i]["summary mid Apr-mid May (JSON)"], wantCutMonths)
		// The licenses and the subscriptions, as on one server.
		checkLicenses(t, c, pa, licensesOf(c, pa), []wantLicense{wantLicenseA})
		checkLicenses(t, c, pc, licensesOf(c, pc), wantLicensesC)
	}
	for _, q := range reportQueries {
		if !bytes.Equal(bodies[0][q.name], bodies[1][q.name]) {
			t.Errorf("%s differs between the replicas:\n%s\n---\n%s", q.name, bodies[0][q.name], bodies[1][q.name])
		}
	}
}

// TestScheduledErasureOnReplicas: the lifecycles without the yearly plan
// leave the subscription customer with no paid subscription, ended long
// ago, so the erasure falls due at once; the jobs of both replicas carry it
// out, and it happens once: one account.erased event, the person erased on
// both replicas.
func TestScheduledErasureOnReplicas(t *testing.T) {
	v := newValidator(t)
	tmpl := loadStripeTemplates(t)
	store := startESDB(t)
	keys := t.TempDir()
	shared := []string{"--store", store, "--master-key-file", filepath.Join(keys, "master.key"), "--license-key-file", filepath.Join(keys, "license-signing.key")}
	a := startServer(t, v, options{args: shared})
	b := startServer(t, v, options{args: shared})
	ca, cb := a.client(t), b.client(t)

	ids := lifeIDs()
	pa := &lifeCustomer{newPerson("schedA"), ids["cusA"]}
	pb := &lifeCustomer{newPerson("schedB"), ids["cusB"]}
	pc := &lifeCustomer{newPerson("schedC"), ids["cusC"]}
	for _, p := range []*lifeCustomer{pa, pb, pc} {
		ca.signUp(p.person)
		secret("account id", p.ID)
	}
	lb := &lifeBuilder{t: t, tmpl: tmpl}
	_, rest := lifecycleEvents(lb, pa, pb, pc)
	deliverToReplicas(t, []*client{ca, cb}, rest, 11)
	for _, c := range []*client{ca, cb} {
		if took, ok := eventually(replicaLag+5*time.Second, func() bool {
			got, _ := c.getAccount(pb.ID)
			return got.Status == "erased" && got.Email == nil
		}); !ok {
			t.Fatalf("the subscription customer is not erased on a replica after %s", took)
		}
	}
	// Both replicas' jobs have had rounds to do it again.
	time.Sleep(2 * time.Second)
	hist := ca.do(http.MethodGet, "/v1/accounts/"+pb.ID+"/events?limit=500", a.adminKey, nil).want(http.StatusOK).Body
	if n := bytes.Count(hist, []byte(`"type":"account.erased.v1"`)); n != 1 {
		t.Errorf("%d account.erased events, want 1", n)
	}
	if !bytes.Contains(hist, []byte(`"type":"account.erasure_scheduled.v1"`)) {
		t.Errorf("the erasure was not a scheduled one: %s", hist)
	}
	for _, p := range []*lifeCustomer{pa, pc} {
		if got, _ := cb.getAccount(p.ID); got.Status != "active" {
			t.Errorf("license customer %s: %+v", p.ID, got)
		}
	}
}
