// The webhook generator of bench webhooks: signed Stripe events for each
// subscription and month, rendered from the payload templates.

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/aseptsoft/subledger/domain"
)

// webhookBenchEpoch is the start of subscription 0's first period; each
// later subscription starts a second after the one before, and renews
// monthly from there.
var webhookBenchEpoch = time.Date(2020, 1, 6, 10, 0, 0, 0, time.UTC)

// webhookPeriod returns subscription i's period of month m (month 0 is the
// first invoice's).
func webhookPeriod(i, m int) (start, end time.Time) {
	a := webhookBenchEpoch.Add(time.Duration(i) * time.Second)
	return a.AddDate(0, m, 0), a.AddDate(0, m+1, 0)
}

// webhookGen makes the signed deliveries of the benchmark's subscriptions.
type webhookGen struct {
	secret string
	// nonce makes the ids of this run's renewals differ from any earlier
	// run's over the same store.
	nonce string
	state *webhookBenchState
	// next is each subscription's next month to invoice.
	next                  []atomic.Int64
	invoice, subscription *payloadTemplate
}

func newWebhookGen(secret string, state *webhookBenchState) *webhookGen {
	g := &webhookGen{secret: secret, nonce: strconv.FormatInt(time.Now().UnixNano(), 36), state: state,
		next:    make([]atomic.Int64, len(state.Next)),
		invoice: compileTemplate(invoicePaidTemplate), subscription: compileTemplate(subscriptionCreatedTemplate)}
	for i, m := range state.Next {
		g.next[i].Store(int64(m))
	}
	return g
}

// copyNext returns a copy of the months to invoice.
func (g *webhookGen) copyNext() []atomic.Int64 {
	c := make([]atomic.Int64, len(g.next))
	for i := range g.next {
		c[i].Store(g.next[i].Load())
	}
	return c
}

func webhookSubID(i int) string { return fmt.Sprintf("sub_bench%07d", i) }

func webhookCusID(i int) string { return fmt.Sprintf("cus_bench%07d", i) }

// suffix names subscription i's objects of month m: fixed for month 0 (a
// set-up that is run again redelivers the same events), of this run after.
func (g *webhookGen) suffix(i, m int) string {
	if m == 0 {
		return "bench_" + strconv.Itoa(i) + "_0"
	}
	return "bench" + g.nonce + "_" + strconv.Itoa(i) + "_" + strconv.Itoa(m)
}

// invoicePaid returns the invoice.paid event of subscription i's month m:
// billing_reason subscription_create for month 0, subscription_cycle
// after; a new event, invoice, charge and payment intent each.
func (g *webhookGen) invoicePaid(i, m int) []byte {
	start, end := webhookPeriod(i, m)
	prev, _ := webhookPeriod(i, max(m-1, 0))
	created, reason := start.Add(time.Hour), domain.BillingReasonCycle
	if m == 0 {
		created, reason = start.Add(10*time.Second), domain.BillingReasonCreate
	}
	sfx := g.suffix(i, m)
	var v webhookValues
	v[fEvt], v[fInv], v[fCh], v[fPI] = "evt_"+sfx, "in_"+sfx, "ch_"+sfx, "pi_"+sfx
	v[fCreated], v[fPStart], v[fPEnd], v[fPrev] = unixSeconds(created), unixSeconds(start), unixSeconds(end), unixSeconds(prev)
	v[fCus], v[fAcc], v[fSub] = webhookCusID(i), g.state.Accounts[i], webhookSubID(i)
	v[fNum], v[fReason] = "BENCH-"+strconv.Itoa(i)+"-"+strconv.Itoa(m), reason
	return g.invoice.render(&v)
}

// subscriptionCreated returns the customer.subscription.created event of
// subscription i.
func (g *webhookGen) subscriptionCreated(i int) []byte {
	start, end := webhookPeriod(i, 0)
	var v webhookValues
	v[fEvt], v[fCreated] = "evt_bench_sub_"+strconv.Itoa(i), unixSeconds(start.Add(3*time.Second))
	v[fPStart], v[fPEnd], v[fInv] = unixSeconds(start), unixSeconds(end), "in_"+g.suffix(i, 0)
	v[fCus], v[fAcc], v[fSub] = webhookCusID(i), g.state.Accounts[i], webhookSubID(i)
	return g.subscription.render(&v)
}

func unixSeconds(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// request returns a POST of body to url, signed now as Stripe signs.
func (g *webhookGen) request(ctx context.Context, url string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	sig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: g.secret, Timestamp: time.Now()})
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
	req.Header.Set("Stripe-Signature", sig.Header)
	return req, nil
}

// renewals returns the requests of a phase's senders: each an invoice.paid
// of the next month of a random subscription, months taken from next.
func (g *webhookGen) renewals(ctx context.Context, url string, next []atomic.Int64, senders int) func(w, n int) (*http.Request, error) {
	seed := uint64(time.Now().UnixNano())
	rngs := make([]*rand.Rand, senders)
	for w := range rngs {
		rngs[w] = rand.New(rand.NewPCG(seed, uint64(w)))
	}
	return func(w, _ int) (*http.Request, error) {
		i := rngs[w].IntN(len(next))
		m := int(next[i].Add(1) - 1)
		return g.request(ctx, url, g.invoicePaid(i, m))
	}
}

// verify returns what is wrong with subscription i as its account's
// subscriptions list shows it ("" when nothing): one subscription, active,
// of the plan, with its current period ending with the last month invoiced.
func (g *webhookGen) verify(ctx context.Context, client *http.Client, base, storeKey string, i int) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/accounts/"+g.state.Accounts[i]+"/subscriptions", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+storeKey)
	status, body, err := postWebhook(ctx, client, req)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return fmt.Sprintf("subscription %d: its account's subscriptions: %d %s", i, status, bytes.TrimSpace(body)), nil
	}
	var list struct {
		Data []struct {
			ProductID        string     `json:"product_id"`
			Status           string     `json:"status"`
			CurrentPeriodEnd *time.Time `json:"current_period_end"`
			Amount           int64      `json:"amount"`
			Currency         string     `json:"currency"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return "", fmt.Errorf("bench webhooks: subscriptions of account %d: %w", i, err)
	}
	_, want := webhookPeriod(i, int(g.next[i].Load())-1)
	switch {
	case len(list.Data) != 1:
		return fmt.Sprintf("subscription %d: its account lists %d subscriptions, want 1", i, len(list.Data)), nil
	case list.Data[0].Status != "active" || list.Data[0].ProductID != "pro-monthly" || list.Data[0].Amount != 900 || list.Data[0].Currency != "usd":
		return fmt.Sprintf("subscription %d: %s", i, bytes.TrimSpace(body)), nil
	case list.Data[0].CurrentPeriodEnd == nil || !list.Data[0].CurrentPeriodEnd.Equal(want):
		return fmt.Sprintf("subscription %d: current_period_end %v, want %s (month %d)", i, list.Data[0].CurrentPeriodEnd, want.Format(time.RFC3339), g.next[i].Load()-1), nil
	}
	return "", nil
}

// Fields of the payload templates, written {{name}} in them.
type webhookField int

const (
	fEvt webhookField = iota
	fCreated
	fInv
	fCh
	fPI
	fCus
	fAcc
	fSub
	fPStart
	fPEnd
	fPrev
	fNum
	fReason
	nWebhookFields
)

var webhookFieldNames = [nWebhookFields]string{"evt", "created", "inv", "ch", "pi", "cus", "acc", "sub", "pstart", "pend", "prev", "num", "reason"}

type webhookValues [nWebhookFields]string

// payloadTemplate is a payload cut at its fields: lits[k] comes before
// fields[k], and the last lit ends it.
type payloadTemplate struct {
	lits   []string
	fields []webhookField
	size   int
}

func compileTemplate(s string) *payloadTemplate {
	t := &payloadTemplate{size: len(s)}
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			panic("bench webhooks: unterminated field in a payload template")
		}
		name := s[i+2 : i+j]
		f := webhookField(-1)
		for k, n := range webhookFieldNames {
			if n == name {
				f = webhookField(k)
			}
		}
		if f < 0 {
			panic("bench webhooks: unknown field " + name + " in a payload template")
		}
		t.lits, t.fields = append(t.lits, s[:i]), append(t.fields, f)
		t.size -= j + 2
		s = s[i+j+2:]
	}
	t.lits = append(t.lits, s)
	return t
}

// render returns the payload with the values in place.
func (t *payloadTemplate) render(v *webhookValues) []byte {
	n := t.size
	for _, f := range t.fields {
		n += len(v[f])
	}
	b := make([]byte, 0, n)
	for k, f := range t.fields {
		b = append(b, t.lits[k]...)
		b = append(b, v[f]...)
	}
	return append(b, t.lits[len(t.lits)-1]...)
}
