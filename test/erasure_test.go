package test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type exportBody struct {
	Account      account `json:"account"`
	PersonalData struct {
		Name        *string `json:"name"`
		Company     *string `json:"company"`
		Email       *string `json:"email"`
		PasswordSet bool    `json:"password_set"`
	} `json:"personal_data"`
	Events []struct {
		ID     string         `json:"id"`
		Type   string         `json:"type"`
		Stream string         `json:"stream"`
		Erased bool           `json:"erased"`
		Data   map[string]any `json:"data"`
	} `json:"events"`
}

func TestExportAndErasure(t *testing.T) {
	v := newValidator(t)
	srv := startServer(t, v, options{})
	c := srv.client(t)

	// The person to erase, with values found nowhere else, and one who stays.
	victim := newPerson("erase")
	victim.Name = secret("name", "Zebulon Quixotic-"+randHex(6))
	firstCompany := victim.Company
	keeper := newPerson("keep")
	idemKey, signUpBody := "erase-"+randHex(8), victim.signUpBody()
	c.do(http.MethodPost, "/v1/accounts", srv.storeKey, signUpBody, "Idempotency-Key", idemKey).want(http.StatusCreated).json(&struct {
		ID *string `json:"id"`
	}{&victim.ID})
	var victimValues []string // further values of erased accounts
	c.signUp(keeper)
	c.signIn(victim)
	c.signIn(keeper)
	victim.Company = secret("company", "Xylophage Umbra Ltd "+randHex(6))
	c.do(http.MethodPatch, "/v1/accounts/"+victim.ID, victim.Token, map[string]any{"company": victim.Company, "marketing_consent": true}).want(http.StatusOK)

	t.Run("export", func(t *testing.T) {
		c := srv.client(t)
		for _, who := range []struct{ name, token string }{{"own_session", victim.Token}, {"admin", srv.adminKey}} {
			t.Run(who.name, func(t *testing.T) {
				res := c.do(http.MethodGet, "/v1/accounts/"+victim.ID+"/export", who.token, nil).want(http.StatusOK)
				var e exportBody
				res.json(&e)
				pd := e.PersonalData
				if str(pd.Name) != victim.Name || str(pd.Email) != victim.Email || str(pd.Company) != victim.Company || !pd.PasswordSet {
					t.Errorf("personal_data %s", res.Body)
				}
				if e.Account.ID != victim.ID || str(e.Account.Email) != victim.Email {
					t.Errorf("account %+v", e.Account)
				}
				types := map[string]bool{}
				for _, ev := range e.Events {
					types[ev.Type] = true
				}
				if len(e.Events) < 3 || !bytes.Contains(res.Body, []byte(firstCompany)) {
					t.Errorf("export events %v: want the registration (with the first company), the change and the session", types)
				}
				if bytes.Contains(res.Body, []byte(victim.Password)) || bytes.Contains(res.Body, []byte("$argon2")) || bytes.Contains(res.Body, []byte(victim.Token)) {
					t.Errorf("the export holds the password, its hash or the session token")
				}
			})
		}
		c.do(http.MethodGet, "/v1/accounts/"+victim.ID+"/export", srv.storeKey, nil).problem(http.StatusForbidden, "forbidden")
		c.do(http.MethodGet, "/v1/accounts/"+victim.ID+"/export", keeper.Token, nil).problem(http.StatusNotFound, "not_found")
	})

	t.Run("erase", func(t *testing.T) {
		c := srv.client(t)
		before := c.stats()
		res := c.do(http.MethodDelete, "/v1/accounts/"+victim.ID, victim.Token, nil).want(http.StatusOK)
		var er map[string]any
		res.json(&er)
		if er["id"] != victim.ID || er["status"] != "erased" {
			t.Errorf("erasure answered %s", res.Body)
		}
		if at, _ := er["erased_at"].(string); at == "" {
			t.Errorf("no erased_at: %s", res.Body)
		} else if tm, err := time.Parse(time.RFC3339Nano, at); err != nil || time.Since(tm) > time.Hour {
			t.Errorf("erased_at %q (%v)", at, err)
		}
		if bytes.Contains(res.Body, []byte(victim.Email)) || bytes.Contains(res.Body, []byte(victim.Name)) {
			t.Errorf("the erasure's answer holds personal data: %s", res.Body)
		}

		got, raw := c.getAccount(victim.ID)
		if got.Status != "erased" || got.Name != nil || got.Company != nil || got.Email != nil || got.ErasedAt == nil {
			t.Errorf("GET after erasure %s", raw)
		}
		var fields map[string]any
		_ = json.Unmarshal(raw, &fields)
		for _, f := range []string{"name", "company", "email"} {
			if v, ok := fields[f]; !ok || v != nil {
				t.Errorf("%s: %v (present %v), want null", f, v, ok)
			}
		}
		c.do(http.MethodGet, "/v1/accounts/"+victim.ID, victim.Token, nil).problem(http.StatusUnauthorized, "unauthenticated")
		c.do(http.MethodPost, "/v1/sessions", "", map[string]any{"email": victim.Email, "password": victim.Password}).problem(http.StatusUnauthorized, "invalid_credentials")

		after := c.stats()
		if after.Accounts["registered"] != before.Accounts["registered"] || after.Accounts["erased"] != before.Accounts["erased"]+1 || after.Accounts["active"] != before.Accounts["active"]-1 {
			t.Errorf("stats accounts %v -> %v, want one active fewer and one erased more", before.Accounts, after.Accounts)
		}
		// Repeating the erasure answers the same.
		var again map[string]any
		c.do(http.MethodDelete, "/v1/accounts/"+victim.ID, srv.adminKey, nil).want(http.StatusOK).json(&again)
		if again["status"] != "erased" || again["erased_at"] != er["erased_at"] {
			t.Errorf("repeated erasure %v, want %v", again, er)
		}
		// An erased account takes no more changes (documented: 409
		// account_erased), and its address gets no reset mail (no mailer
		// here, so only the shape is checked elsewhere).
		for _, r := range []struct {
			method, path string
			body         any
		}{
			{"PATCH", "/v1/accounts/" + victim.ID, map[string]any{"name": "Back From The Dead"}},
			{"PATCH", "/v1/accounts/" + victim.ID, map[string]any{"marketing_consent": true}},
			{"PUT", "/v1/accounts/" + victim.ID + "/password", map[string]any{"new_password": "0123456789abc"}},
		} {
			c.do(r.method, r.path, srv.adminKey, r.body).problem(http.StatusConflict, "account_erased")
		}
		// The keeper is untouched.
		if k, _ := c.getAccount(keeper.ID); k.Status != "active" || str(k.Email) != keeper.Email {
			t.Errorf("keeper %+v", k)
		}
		c.do(http.MethodGet, "/v1/accounts/"+keeper.ID, keeper.Token, nil).want(http.StatusOK)
	})

	t.Run("nothing_personal_is_served_afterwards", func(t *testing.T) {
		c := srv.client(t)
		for _, r := range []struct{ path string }{
			{"/v1/accounts/" + victim.ID},
			{"/v1/accounts/" + victim.ID + "/export"},
			{"/v1/accounts/" + victim.ID + "/events?limit=500"},
			{"/v1/marketing/recipients?limit=500"},
			{"/v1/marketing/recipients?limit=500&format=csv"},
		} {
			res := c.do(http.MethodGet, r.path, srv.adminKey, nil).want(http.StatusOK)
			for _, val := range []string{victim.Name, victim.Email, victim.Company, firstCompany} {
				if bytes.Contains(bytes.ToLower(res.Body), []byte(strings.ToLower(val))) {
					t.Errorf("%s still holds %q", r.path, val)
				}
			}
		}
		// Repeating the sign-up with its Idempotency-Key must neither replay
		// the recorded answer (it was encrypted under the erased person's
		// key, and names them) nor run again, which would bring the person
		// back from a late retry: 409 conflict.
		res := c.do(http.MethodPost, "/v1/accounts", srv.storeKey, signUpBody, "Idempotency-Key", idemKey)
		if res.Status != http.StatusConflict || res.Header.Get("Idempotent-Replayed") != "" || bytes.Contains(res.Body, []byte(victim.ID)) {
			t.Errorf("repeating the erased person's sign-up: %d %s, want 409 and no replay", res.Status, res.Body)
		}
	})

	t.Run("the_address_can_sign_up_again", func(t *testing.T) {
		c := srv.client(t)
		again := newPerson("again")
		again.Email = victim.Email
		a := c.signUp(again)
		if a.ID == victim.ID {
			t.Errorf("the erased account came back")
		}
		c.signIn(again)
		// The new account's personal data is a live person's: encrypted at
		// rest. Erase it too, so that the e-mail address is nobody's.
		c.do(http.MethodDelete, "/v1/accounts/"+again.ID, srv.storeKey, nil).want(http.StatusOK)
		victimValues = append(victimValues, again.Name, again.Company)
	})

	// Everything on disk and in the logs, after a clean stop.
	srv.stop(t)
	roots := append([]string{srv.dataDir}, srv.logFiles()...)

	var needles []needle
	for _, v := range append([]struct{ what, v string }{
		{"the erased person's name", victim.Name},
		{"the erased person's company", victim.Company},
		{"the erased person's first company", firstCompany},
		{"the erased person's e-mail address", victim.Email},
		{"the erased person's password", victim.Password},
		{"the erased person's session token", victim.Token},
	}, valuesOf(victimValues)...) {
		needles = append(needles, needlesFor(v.what, v.v)...)
	}

	t.Run("the_scan_finds_a_planted_value", func(t *testing.T) {
		canary := filepath.Join(srv.dataDir, "keyring", "zz-canary.bin")
		planted := []byte("\x00\x01garbage")
		planted = append(planted, victim.Email...)
		planted = append(planted, "\xffmore garbage x"...)
		planted = append(planted, base64.StdEncoding.EncodeToString([]byte("x"+victim.Name+"!"))...)
		if err := os.WriteFile(canary, planted, 0o600); err != nil {
			t.Fatal(err)
		}
		found := scan(t, []string{srv.dataDir}, needles)
		if err := os.Remove(canary); err != nil {
			t.Fatal(err)
		}
		var plain, b64 bool
		for _, f := range found {
			if f.path != canary {
				continue
			}
			plain = plain || f.what == "the erased person's e-mail address"
			b64 = b64 || strings.HasPrefix(f.what, "the erased person's name (base64")
		}
		if !plain || !b64 {
			t.Errorf("the scan missed a planted value (plain e-mail %v, base64 name %v): %v", plain, b64, found)
		}
	})

	// The raw scans cannot see through encryption: with the master key, the
	// kept person is readable (the control) and the erased one is not.
	t.Run("a_decrypting_scan_reads_the_keeper_and_not_the_erased_person", func(t *testing.T) {
		found := decryptingScan(t, srv.dataDir, filepath.Join(srv.dataDir, "master.key"), map[string]string{
			"keeper's name": keeper.Name, "keeper's e-mail": keeper.Email, "keeper's company": keeper.Company,
			"erased name": victim.Name, "erased e-mail": victim.Email, "erased company": victim.Company, "erased first company": firstCompany,
		})
		for what, ok := range found {
			if want := strings.HasPrefix(what, "keeper"); ok != want {
				t.Errorf("%s readable: %v, want %v", what, ok, want)
			}
		}
	})

	t.Run("the_erased_person_is_nowhere", func(t *testing.T) {
		for _, f := range scan(t, roots, needles) {
			t.Errorf("%s found in %s at byte %d", f.what, f.path, f.offset)
		}
	})

	t.Run("a_live_persons_data_is_encrypted_at_rest", func(t *testing.T) {
		var live []needle
		for _, v := range []struct{ what, v string }{
			{"a live person's name", keeper.Name},
			{"a live person's company", keeper.Company},
			{"a live person's e-mail address", keeper.Email},
			{"a live person's password", keeper.Password},
			{"a live person's session token", keeper.Token},
		} {
			live = append(live, needle{v.what, []byte(v.v)})
		}
		for _, f := range scan(t, roots, live) {
			t.Errorf("%s found in plain text in %s at byte %d", f.what, f.path, f.offset)
		}
	})
}

func valuesOf(vs []string) []struct{ what, v string } {
	var out []struct{ what, v string }
	for _, v := range vs {
		out = append(out, struct{ what, v string }{"a value of an erased account", v})
	}
	return out
}
