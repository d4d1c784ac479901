package portal

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The API's shapes, as far as the pages read them.
type accountJSON struct {
	ID               string  `json:"id"`
	Status           string  `json:"status"`
	Name             *string `json:"name"`
	Company          *string `json:"company"`
	Email            *string `json:"email"`
	MarketingConsent bool    `json:"marketing_consent"`
}

type licenseJSON struct {
	ID         string    `json:"id"`
	ProductID  string    `json:"product_id"`
	Quantity   int       `json:"quantity"`
	Status     string    `json:"status"`
	LicenseKey *string   `json:"license_key"`
	Amount     int64     `json:"amount"`
	Currency   string    `json:"currency"`
	Purchased  time.Time `json:"purchased_at"`
}

type subscriptionJSON struct {
	ID                string     `json:"id"`
	ProductID         string     `json:"product_id"`
	Status            string     `json:"status"`
	CancelAtPeriodEnd bool       `json:"cancel_at_period_end"`
	CurrentPeriodEnd  *time.Time `json:"current_period_end"`
	Amount            int64      `json:"amount"`
	Currency          string     `json:"currency"`
	EndedAt           *time.Time `json:"ended_at"`
}

type productJSON struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Interval string `json:"interval"`
}

// accountData is the account page's. Form holds what was typed when a
// change was refused; Errors are the messages beside the fields, by
// field name (details, password and delete forms have distinct names).
type accountData struct {
	Account       accountJSON
	Form          map[string]string
	Errors        map[string]string
	Problem       string
	Notice        string
	Licenses      []licenseJSON
	Subscriptions []subscriptionJSON
	Products      map[string]productJSON
}

func (accountData) title() string { return "Your account" }

// notices are the confirmations after a change (Post/Redirect/Get).
var notices = map[string]string{
	"details":    "Your details are saved.",
	"consent":    "Your marketing choice is saved.",
	"cancel":     "The subscription will end at the end of the period you paid for.",
	"reactivate": "The subscription continues.",
	"signed_in":  "",
	"no_change":  "Nothing to change.",
}

// accountPage shows the account: GET /v1/accounts/{id}, its licenses,
// subscriptions and the catalogue's product names.
func (p *Portal) accountPage(w http.ResponseWriter, r *http.Request, s *session) {
	d := accountData{Notice: notices[r.URL.Query().Get("done")]}
	p.showAccount(w, r, s, http.StatusOK, d)
}

// showAccount renders the account page with d's form state; status is the
// page's (422 for a refused change).
func (p *Portal) showAccount(w http.ResponseWriter, r *http.Request, s *session, status int, d accountData) {
	base := "/v1/accounts/" + url.PathEscape(s.id)
	res := p.call(r, s.token, http.MethodGet, base, nil)
	if res.status == http.StatusUnauthorized {
		p.ended(w, r)
		return
	}
	if !res.ok() || res.decode(&d.Account) != nil {
		p.fail(w, r, res.problem())
		return
	}
	var lic struct {
		Data []licenseJSON `json:"data"`
	}
	var sub struct {
		Data []subscriptionJSON `json:"data"`
	}
	var prod struct {
		Data []productJSON `json:"data"`
	}
	for _, c := range []struct {
		target string
		into   any
	}{{base + "/licenses?limit=500", &lic}, {base + "/subscriptions?limit=500", &sub}, {"/v1/products", &prod}} {
		res := p.call(r, s.token, http.MethodGet, c.target, nil)
		if !res.ok() || res.decode(c.into) != nil {
			p.fail(w, r, res.problem())
			return
		}
	}
	d.Licenses, d.Subscriptions = lic.Data, sub.Data
	d.Products = map[string]productJSON{}
	for _, pr := range prod.Data {
		d.Products[pr.ID] = pr
	}
	if d.Form == nil {
		d.Form = map[string]string{"name": deref(d.Account.Name), "company": deref(d.Account.Company), "email": deref(d.Account.Email)}
	}
	if d.Errors == nil {
		d.Errors = map[string]string{}
	}
	p.render(w, r, status, "account", d)
}

// changeDetails is PATCH /v1/accounts/{id} with name, company and e-mail.
func (p *Portal) changeDetails(w http.ResponseWriter, r *http.Request, s *session) {
	form := map[string]string{}
	body := map[string]any{}
	for _, f := range []string{"name", "company", "email"} {
		v := r.PostForm.Get(f)
		form[f] = v
		body[f] = v
	}
	res := p.call(r, s.token, http.MethodPatch, "/v1/accounts/"+url.PathEscape(s.id), body)
	p.after(w, r, s, res, "details", form, "")
}

// changeConsent is PATCH /v1/accounts/{id} with marketing_consent.
func (p *Portal) changeConsent(w http.ResponseWriter, r *http.Request, s *session) {
	given := r.PostForm.Get("consent") == "true"
	res := p.call(r, s.token, http.MethodPatch, "/v1/accounts/"+url.PathEscape(s.id), map[string]any{"marketing_consent": given})
	p.after(w, r, s, res, "consent", nil, "")
}

// changePassword is PUT /v1/accounts/{id}/password. It ends every session
// of the account, this one too, so the person signs in again.
func (p *Portal) changePassword(w http.ResponseWriter, r *http.Request, s *session) {
	res := p.call(r, s.token, http.MethodPut, "/v1/accounts/"+url.PathEscape(s.id)+"/password",
		map[string]string{"current_password": r.PostForm.Get("current_password"), "new_password": r.PostForm.Get("new_password")})
	if res.ok() {
		p.endSession(w, r)
		p.render(w, r, http.StatusOK, "signin", signInData{Notice: "Your password is changed, and every session of your account has ended. Please sign in with the new password."})
		return
	}
	p.after(w, r, s, res, "", nil, "password")
}

// cancelSubscription is POST /v1/subscriptions/{id}/cancel at period end.
func (p *Portal) cancelSubscription(w http.ResponseWriter, r *http.Request, s *session) {
	res := p.call(r, s.token, http.MethodPost, "/v1/subscriptions/"+url.PathEscape(r.PathValue("id"))+"/cancel", map[string]bool{"at_period_end": true})
	p.after(w, r, s, res, "cancel", nil, "")
}

// reactivateSubscription is POST /v1/subscriptions/{id}/reactivate.
func (p *Portal) reactivateSubscription(w http.ResponseWriter, r *http.Request, s *session) {
	res := p.call(r, s.token, http.MethodPost, "/v1/subscriptions/"+url.PathEscape(r.PathValue("id"))+"/reactivate", map[string]any{})
	p.after(w, r, s, res, "reactivate", nil, "")
}

// export is GET /v1/accounts/{id}/export, downloaded as a JSON file.
func (p *Portal) export(w http.ResponseWriter, r *http.Request, s *session) {
	p.relay(w, r, s.token, "/v1/accounts/"+url.PathEscape(s.id)+"/export", "my-data.json")
}

// deleteAccount is DELETE /v1/accounts/{id}, once the person typed the
// account's e-mail address.
func (p *Portal) deleteAccount(w http.ResponseWriter, r *http.Request, s *session) {
	res := p.call(r, s.token, http.MethodGet, "/v1/accounts/"+url.PathEscape(s.id), nil)
	var acc accountJSON
	if res.status == http.StatusUnauthorized {
		p.ended(w, r)
		return
	}
	if !res.ok() || res.decode(&acc) != nil {
		p.fail(w, r, res.problem())
		return
	}
	typed := r.PostForm.Get("confirm_email")
	if acc.Email == nil || !strings.EqualFold(strings.TrimSpace(typed), strings.TrimSpace(*acc.Email)) {
		p.showAccount(w, r, s, http.StatusUnprocessableEntity, accountData{
			Problem: "Your account was not deleted.",
			Errors:  map[string]string{"confirm_email": "Type the e-mail address of this account exactly, to confirm."},
			Form:    map[string]string{"name": deref(acc.Name), "company": deref(acc.Company), "email": deref(acc.Email), "confirm_email": typed},
		})
		return
	}
	res = p.call(r, s.token, http.MethodDelete, "/v1/accounts/"+url.PathEscape(s.id), nil)
	if !res.ok() {
		p.after(w, r, s, res, "", nil, "")
		return
	}
	p.endSession(w, r)
	p.render(w, r, http.StatusOK, "message", messageData{Heading: "Your account is deleted", Status: http.StatusOK,
		Text: "Your personal data is erased: its encryption key is destroyed, so nobody can read it again. Your license keys keep working. Nothing else is needed from you."})
}

// after finishes an action: back to the page on success (Post/Redirect/
// Get), else the page again with the API's messages beside the fields and
// the API's status. prefix names the form whose fields the errors are for.
func (p *Portal) after(w http.ResponseWriter, r *http.Request, s *session, res *apiResult, done string, form map[string]string, prefix string) {
	if res.ok() {
		http.Redirect(w, r, "/portal/account?done="+done, http.StatusSeeOther)
		return
	}
	pr := res.problem()
	if pr.Status == http.StatusUnauthorized && pr.Code == "unauthenticated" {
		p.ended(w, r)
		return
	}
	if pr.Status == http.StatusNotFound || pr.Status >= 500 && pr.Code != "stripe_unavailable" {
		p.fail(w, r, pr)
		return
	}
	d := accountData{Form: form, Errors: map[string]string{}, Problem: problemText(pr)}
	for _, fe := range pr.Errors {
		name := fe.Field
		if prefix != "" {
			name = prefix + "_" + strings.TrimPrefix(name, prefix+"_")
		}
		d.Errors[name] = fieldMessage(fe.Field, fe.Code) + " (" + fe.Code + ")"
	}
	switch pr.Code {
	case "email_taken":
		d.Errors["email"] = "Another account uses this e-mail address. (email_taken)"
	case "invalid_credentials":
		d.Errors["password_current_password"] = "This is not your current password. (invalid_credentials)"
	}
	p.showAccount(w, r, s, pr.Status, d)
}

// problemText is the sentence above a refused form.
func problemText(pr *problem) string {
	switch pr.Code {
	case "validation_failed":
		return "Nothing was changed: please correct the fields marked below."
	case "email_taken", "invalid_credentials":
		return "Nothing was changed: please see the message below."
	case "rate_limited":
		return "Too many attempts. Please wait a minute and try again."
	case "stripe_unavailable":
		return "The payment provider could not be reached, so nothing was changed. Please try again later."
	}
	return "Nothing was changed: " + pr.Detail
}

// fieldMessage words a field code of the API for a person.
func fieldMessage(field, code string) string {
	switch code {
	case "required":
		return "This field is required."
	case "too_short":
		if strings.Contains(field, "password") {
			return "Use at least 10 characters."
		}
		return "This is too short."
	case "too_long":
		return "This is too long."
	case "invalid":
		if field == "email" {
			return "Enter one e-mail address, like name@example.com."
		}
		return "This value is not valid."
	}
	return "This value is not accepted."
}
