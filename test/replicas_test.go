package test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/stripe/stripemocktest"
)

// startESDB builds and runs the KurrentDB test double (our own, not
// KurrentDB: eventstore/esdb/esdbtest) as a process on 127.0.0.1 and
// returns its connection string; it is stopped when t ends.
func startESDB(t *testing.T) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(suite.dir, "esdbtest-server")
	if _, err := os.Stat(bin); err != nil {
		build := exec.Command("go", "build", "-o", bin, "./eventstore/esdb/esdbtest/cmd/esdbtest-server")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build esdbtest-server: %v\n%s", err, out)
		}
	}
	cmd := exec.Command(bin, "--addr", "127.0.0.1:0")
	cmd.Env = childEnv()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	setParentDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("esdbtest-server printed no connection string: %v", err)
	}
	go io.Copy(io.Discard, out)
	return strings.TrimSpace(line)
}

// stripeCalls is a recording proxy in front of stripe-mock: every call's
// method, path and Idempotency-Key, and the ids of the customers made.
type stripeCalls struct {
	mu        sync.Mutex
	calls     []string // "METHOD PATH KEY"
	customers []string
}

func (r *stripeCalls) matching(prefix string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.calls {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

func startStripeRecorder(t *testing.T) (*stripeCalls, string) {
	t.Helper()
	mock, err := url.Parse(stripemocktest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	rec := &stripeCalls{}
	proxy := httputil.NewSingleHostReverseProxy(mock)
	proxy.ModifyResponse = func(res *http.Response) error {
		if res.Request.Method != http.MethodPost || res.Request.URL.Path != "/v1/customers" {
			return nil
		}
		body, err := io.ReadAll(res.Body)
		if err != nil {
			return err
		}
		res.Body = io.NopCloser(bytes.NewReader(body))
		var cus struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(body, &cus); err != nil {
			return err
		}
		rec.mu.Lock()
		rec.customers = append(rec.customers, cus.ID)
		rec.mu.Unlock()
		return nil
	}
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.calls = append(rec.calls, r.Method+" "+r.URL.Path+" "+r.Header.Get("Idempotency-Key"))
		rec.mu.Unlock()
		if r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/v1/customers/") {
			// A slow Stripe: both replicas' jobs (every second) find the
			// call still due and make it.
			time.Sleep(slowStripe)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	return rec, front.URL
}

// eventually polls f every 50 ms until it returns true or d has passed,
// and returns how long it took, and whether it succeeded.
func eventually(d time.Duration, f func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if f() {
			return time.Since(start), true
		}
		if time.Since(start) > d {
			return time.Since(start), false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var lagMetric = regexp.MustCompile(`(?m)^subledger_projection_lag_events (\S+)$`)

// lagOf reads the projection lag in events from /metrics and /readyz.
func lagOf(t *testing.T, c *client) (metric, ready float64) {
	t.Helper()
	m := lagMetric.FindStringSubmatch(string(c.do(http.MethodGet, "/metrics", "", nil).want(http.StatusOK).Body))
	if m == nil {
		t.Fatalf("/metrics has no subledger_projection_lag_events")
	}
	metric, _ = strconv.ParseFloat(m[1], 64)
	var r struct {
		Lag float64 `json:"lag"`
	}
	c.do(http.MethodGet, "/readyz", "", nil).want(http.StatusOK).json(&r)
	return metric, r.Lag
}

// slowStripe is how long the recorder holds a customer deletion.
const slowStripe = 2500 * time.Millisecond

// replicaLag bounds how long a write on one replica takes to be read on
// the other.
const replicaLag = 10 * time.Second

// TestReplicas runs two `subledger serve` replicas on one store (the
// KurrentDB test double as its own process) with the same master key and
// license-signing key, and Stripe played by stripe-mock behind a recorder.
func TestReplicas(t *testing.T) {
	v := newValidator(t)
	store := startESDB(t)
	keys := t.TempDir()
	rec, stripeURL := startStripeRecorder(t)
	shared := []string{"--store", store, "--master-key-file", filepath.Join(keys, "master.key"), "--license-key-file", filepath.Join(keys, "license-signing.key")}
	a := startServer(t, v, options{stripeURL: stripeURL, args: shared})
	b := startServer(t, v, options{stripeURL: stripeURL, args: shared})
	ca, cb := a.client(t), b.client(t)

	p := newPerson("replica")
	t.Run("a_write_on_A_is_read_on_A_at_once_and_on_B_within_a_bounded_lag", func(t *testing.T) {
		ca.signUp(p)
		if got, _ := ca.getAccount(p.ID); got.Status != "active" || str(got.Email) != p.Email {
			t.Fatalf("on A right after the sign-up: %+v", got)
		}
		took, ok := eventually(replicaLag, func() bool {
			res, err := cb.try(http.MethodGet, "/v1/accounts/"+p.ID, b.adminKey, nil)
			return err == nil && res.Status == http.StatusOK
		})
		if !ok {
			t.Fatalf("B does not read the account after %s", took)
		}
		t.Logf("B read A's write after %s", took.Round(time.Millisecond))
		// A burst on A: B's lag shows in /metrics and /readyz, and goes
		// back to 0 within the bound.
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ca.do(http.MethodPatch, "/v1/accounts/"+p.ID, a.storeKey, map[string]any{"marketing_consent": i%2 == 0}).want(http.StatusOK)
			}()
		}
		wg.Wait()
		took, ok = eventually(replicaLag, func() bool {
			m, r := lagOf(t, cb)
			return m == 0 && r == 0
		})
		if !ok {
			m, r := lagOf(t, cb)
			t.Fatalf("B's lag after %s: %v in /metrics, %v in /readyz; want 0", took, m, r)
		}
		if m, r := lagOf(t, ca); m != 0 || r != 0 {
			t.Errorf("A's lag: %v in /metrics, %v in /readyz", m, r)
		}
	})

	t.Run("a_session_made_on_A_works_on_B", func(t *testing.T) {
		ca.signIn(p)
		took, ok := eventually(replicaLag, func() bool {
			res, err := cb.try(http.MethodGet, "/v1/accounts/"+p.ID, p.Token, nil)
			return err == nil && res.Status == http.StatusOK
		})
		if !ok {
			t.Fatalf("A's session does not work on B after %s", took)
		}
	})

	t.Run("an_erasure_on_A_reaches_B_and_drops_the_key_from_its_cache", func(t *testing.T) {
		// A checkout makes the account's Stripe customer, for the outbox.
		ca.do(http.MethodPost, "/v1/checkout-sessions", a.storeKey, map[string]any{"account_id": p.ID, "product_id": "app-license",
			"success_url": "https://store.example/ok", "cancel_url": "https://store.example/cancel"}).want(http.StatusCreated)
		// B decodes the person's events now, so their key is in its cache.
		hist := cb.do(http.MethodGet, "/v1/accounts/"+p.ID+"/events?limit=500", b.adminKey, nil).want(http.StatusOK)
		if !bytes.Contains(hist.Body, []byte(p.Email)) {
			t.Fatalf("B cannot read the person's history before the erasure")
		}
		ca.do(http.MethodDelete, "/v1/accounts/"+p.ID, a.storeKey, nil).want(http.StatusOK)
		took, ok := eventually(replicaLag, func() bool {
			got, _ := cb.getAccount(p.ID)
			return got.Status == "erased" && got.Email == nil && got.Name == nil
		})
		if !ok {
			t.Fatalf("B does not answer erased after %s", took)
		}
		hist = cb.do(http.MethodGet, "/v1/accounts/"+p.ID+"/events?limit=500", b.adminKey, nil).want(http.StatusOK)
		for _, val := range []string{p.Name, p.Email, p.Company} {
			if bytes.Contains(bytes.ToLower(hist.Body), []byte(strings.ToLower(val))) {
				t.Errorf("B still decrypts the erased person's history")
			}
		}
		cb.do(http.MethodGet, "/v1/accounts/"+p.ID, p.Token, nil).problem(http.StatusUnauthorized, "unauthenticated")
	})

	t.Run("both_replicas_jobs_delete_the_stripe_customer_with_one_idempotency_key", func(t *testing.T) {
		rec.mu.Lock()
		customers := append([]string(nil), rec.customers...)
		rec.mu.Unlock()
		if len(customers) != 1 {
			t.Fatalf("customers made at Stripe: %v", customers)
		}
		cus := secret("a Stripe customer id", customers[0])
		prefix := "DELETE /v1/customers/" + cus + " "
		if took, ok := eventually(20*time.Second, func() bool { return len(rec.matching(prefix)) > 0 }); !ok {
			t.Fatalf("no replica told Stripe to delete the customer after %s", took)
		}
		// Both job loops run every second: give each a few rounds, longer
		// than Stripe takes to answer.
		time.Sleep(slowStripe + 2*time.Second)
		calls := rec.matching(prefix)
		keys := map[string]bool{}
		for _, c := range calls {
			keys[strings.TrimPrefix(c, prefix)] = true
		}
		if len(keys) != 1 || keys[""] {
			t.Errorf("customer deletions at Stripe: %d calls with idempotency keys %v, want one key", len(calls), keys)
		}
		t.Logf("%d deletion call(s) at Stripe, one idempotency key", len(calls))
		for _, c := range []*client{ca, cb} {
			if _, ok := eventually(replicaLag, func() bool {
				return strings.Contains(string(c.do(http.MethodGet, "/metrics", "", nil).want(http.StatusOK).Body), "\nsubledger_stripe_outbox_pending 0\n")
			}); !ok {
				t.Errorf("an outbox still has pending calls")
			}
		}
	})

	t.Run("a_replica_with_another_master_key_refuses_to_start", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "other.key")
		if err := os.WriteFile(other, []byte("c3VibGVkZ2VyLXRlc3Qtb3RoZXItbWFzdGVyLWtleSE=\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, errOut, err := runCLIWithin(t, 20*time.Second, "serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--store", store,
			"--master-key-file", other, "--license-key-file", filepath.Join(keys, "license-signing.key"), "--api-key", "admin="+a.adminKey)
		if err == nil || !strings.Contains(errOut, "wrong master key") || !strings.Contains(errOut, "does not open the key ring in the event store") {
			t.Errorf("a replica with another master key: %v, stderr:\n%s", err, errOut)
		}
	})

	t.Run("killing_a_replica_loses_no_acknowledged_write", func(t *testing.T) {
		quiet := &lenient{TB: t}
		c := a.clientFor(t, v.ReportTo(quiet))
		var (
			mu   sync.Mutex
			ok   []*person
			errs []string
			wg   sync.WaitGroup
		)
		stop := make(chan struct{})
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					q := newPerson(fmt.Sprintf("r%d-%d", w, i))
					res, err := c.try(http.MethodPost, "/v1/accounts", a.storeKey, q.signUpBody())
					if err != nil {
						return // the replica is gone
					}
					var acc account
					if res.Status != http.StatusCreated || json.Unmarshal(res.Body, &acc) != nil || acc.ID == "" {
						mu.Lock()
						errs = append(errs, res.String())
						mu.Unlock()
						continue
					}
					q.ID = acc.ID
					mu.Lock()
					ok = append(ok, q)
					mu.Unlock()
				}
			}()
		}
		start := time.Now()
		eventually(20*time.Second, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(ok) >= 8 && time.Since(start) > time.Second
		})
		a.kill(t)
		close(stop)
		wg.Wait()
		for _, e := range quiet.errs {
			if !strings.Contains(e, "reading the response body") {
				t.Errorf("%s", e)
			}
		}
		for _, e := range errs {
			t.Errorf("a sign-up failed before the kill: %s", e)
		}
		if len(ok) == 0 {
			t.Fatal("no sign-up was acknowledged before the kill")
		}
		t.Logf("%d sign-ups acknowledged by A before SIGKILL", len(ok))
		for _, q := range ok {
			var got account
			if took, found := eventually(replicaLag, func() bool {
				res, err := cb.try(http.MethodGet, "/v1/accounts/"+q.ID, b.adminKey, nil)
				return err == nil && res.Status == http.StatusOK && json.Unmarshal(res.Body, &got) == nil
			}); !found {
				t.Fatalf("B does not have account %s, acknowledged by A, after %s", q.ID, took)
			}
			if got.Status != "active" || str(got.Email) != q.Email {
				t.Errorf("acknowledged account %s on B: %+v", q.ID, got)
			}
		}
		// B takes A's writes on: the first person signs in on B.
		cb.signIn(ok[0])
	})
}
