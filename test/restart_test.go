package test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// statsPath pins the date range, so that two reads on either side of a
// restart ask the same question.
func statsPath() string {
	today := time.Now().UTC()
	return fmt.Sprintf("/v1/stats?from=%s&to=%s", today.AddDate(0, 0, -7).Format(time.DateOnly), today.AddDate(0, 0, 2).Format(time.DateOnly))
}

func TestRestartKeepsState(t *testing.T) {
	v := newValidator(t)
	srv := startServer(t, v, options{})
	c := srv.client(t)

	var people []*person
	for i := range 4 {
		p := newPerson(fmt.Sprintf("restart%d", i))
		c.signUp(p)
		people = append(people, p)
	}
	renamed := secret("name", "Zebulon Restarted-"+randHex(4))
	c.do(http.MethodPatch, "/v1/accounts/"+people[0].ID, srv.storeKey, map[string]any{"name": renamed, "marketing_consent": true}).want(http.StatusOK)
	c.do(http.MethodPatch, "/v1/accounts/"+people[1].ID, srv.adminKey, map[string]any{"email": secret("e-mail address", "zq.moved."+randHex(4)+"@quixotic.example")}).want(http.StatusOK)
	c.do(http.MethodDelete, "/v1/accounts/"+people[2].ID, srv.adminKey, nil).want(http.StatusOK)
	tok := c.signIn(people[3])

	snapshot := func(c *client) map[string][]byte {
		out := map[string][]byte{}
		for _, p := range people {
			for _, path := range []string{"/v1/accounts/" + p.ID, "/v1/accounts/" + p.ID + "/events?limit=500", "/v1/accounts/" + p.ID + "/licenses", "/v1/accounts/" + p.ID + "/subscriptions"} {
				out[path] = c.do(http.MethodGet, path, srv.adminKey, nil).want(http.StatusOK).Body
			}
		}
		for _, path := range []string{statsPath(), "/v1/products", "/v1/license-keys/public-key", "/v1/marketing/recipients?limit=500"} {
			out[path] = c.do(http.MethodGet, path, srv.adminKey, nil).want(http.StatusOK).Body
		}
		out["own session"] = c.do(http.MethodGet, "/v1/accounts/"+people[3].ID, tok, nil).want(http.StatusOK).Body
		return out
	}
	before := snapshot(c)

	srv.restart(t) // SIGTERM, exit 0 required, same data directory
	c = srv.client(t)
	after := snapshot(c)
	for path, b := range before {
		if !bytes.Equal(after[path], b) {
			t.Errorf("%s after a restart:\n%s\nwant\n%s", path, after[path], b)
		}
	}

	// And the server still works on the old data.
	var a account
	c.do(http.MethodPatch, "/v1/accounts/"+people[0].ID, tok, nil).problem(http.StatusNotFound, "not_found")
	c.do(http.MethodPatch, "/v1/accounts/"+people[3].ID, tok, map[string]any{"company": "After Restart " + randHex(3)}).want(http.StatusOK).json(&a)
	c.signIn(people[0])
	taken := newPerson("restart-dup")
	taken.Email = people[0].Email
	c.do(http.MethodPost, "/v1/accounts", srv.storeKey, taken.signUpBody()).problem(http.StatusConflict, "email_taken")
	free := newPerson("restart-free")
	free.Email = people[2].Email // erased before the restart
	c.signUp(free)
}

// TestKill9DuringSignUps kills the server with SIGKILL while 16 clients
// sign up; every sign-up acknowledged with 201 must be there afterwards.
func TestKill9DuringSignUps(t *testing.T) {
	v := newValidator(t)
	srv := startServer(t, v, options{})

	var (
		mu   sync.Mutex
		ok   []*person
		errs []string
		wg   sync.WaitGroup
	)
	// The validator's reports during the kill are held back: a response
	// cut short by the kill is expected, anything else is handed on.
	quiet := &lenient{TB: t}
	c := srv.clientFor(t, v.ReportTo(quiet))
	stop := make(chan struct{})
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				p := newPerson(fmt.Sprintf("k%d-%d", w, i))
				res, err := c.try(http.MethodPost, "/v1/accounts", srv.storeKey, p.signUpBody())
				if err != nil {
					return // the server is gone
				}
				if res.Status != http.StatusCreated {
					mu.Lock()
					errs = append(errs, res.String())
					mu.Unlock()
					continue
				}
				var a account
				if jerr := json.Unmarshal(res.Body, &a); jerr != nil || a.ID == "" || str(a.Email) != p.Email {
					mu.Lock()
					errs = append(errs, "bad 201: "+res.String())
					mu.Unlock()
					continue
				}
				p.ID = a.ID
				mu.Lock()
				ok = append(ok, p)
				mu.Unlock()
			}
		}()
	}
	// Kill once enough sign-ups are acknowledged (at least 1.5 s in, so
	// that many are in flight), whatever the machine's speed.
	start := time.Now()
	for {
		mu.Lock()
		n := len(ok)
		mu.Unlock()
		if (n >= 16 && time.Since(start) > 1500*time.Millisecond) || time.Since(start) > 20*time.Second {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	srv.kill(t)
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
	t.Logf("%d sign-ups acknowledged in %s before SIGKILL", len(ok), time.Since(start).Round(time.Millisecond))
	if len(ok) == 0 {
		t.Fatal("no sign-up was acknowledged before the kill")
	}

	srv.start(t) // the same data directory
	c = srv.client(t)
	for _, p := range ok {
		var a account
		c.do(http.MethodGet, "/v1/accounts/"+p.ID, srv.adminKey, nil).want(http.StatusOK).json(&a)
		if a.Status != "active" || str(a.Email) != p.Email || str(a.Name) != p.Name {
			t.Errorf("acknowledged account %s after the kill: %+v", p.ID, a)
		}
	}
	for _, p := range ok {
		c.signIn(p)
	}
	st := c.stats()
	if st.Accounts["registered"] < int64(len(ok)) {
		t.Errorf("stats: %d accounts registered, %d were acknowledged", st.Accounts["registered"], len(ok))
	}
	// The kill left nothing that stops the next clean stop and start.
	srv.restart(t)
	srv.client(t).do(http.MethodGet, "/v1/accounts/"+ok[len(ok)-1].ID, srv.adminKey, nil).want(http.StatusOK)
}
