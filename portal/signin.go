package portal

import (
	"net/http"
	"strings"
	"time"

	"github.com/aseptsoft/subledger/api"
)

// signInData is the sign-in page's.
type signInData struct {
	Notice string
	Error  string
	Email  string
}

func (signInData) title() string { return "Sign in" }

func (p *Portal) signInPage(w http.ResponseWriter, r *http.Request) {
	d := signInData{}
	if r.URL.Query().Get("signed_out") != "" {
		d.Notice = "You are signed out."
	}
	p.render(w, r, http.StatusOK, "signin", d)
}

// link swaps a portal link for a session cookie. The answer is a page that
// moves on by itself rather than a redirect: the link usually arrives from
// another site (the store, a mail), and a SameSite=Strict cookie is sent
// only on a navigation that starts on this site.
func (p *Portal) link(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.redeem(w, r, q.Get("token"), q.Get("return_url"))
}

// confirmData is the page a mailed link opens: it spends nothing until the
// person presses its button, so a mail scanner that follows links does not
// spend the link.
type confirmData struct{ Token string }

func (confirmData) title() string { return "Sign in to your reports" }

func (p *Portal) confirmLinkPage(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, http.StatusOK, "confirm", confirmData{Token: r.URL.Query().Get("token")})
}

// confirmLink spends a mailed link (its token comes in the form).
func (p *Portal) confirmLink(w http.ResponseWriter, r *http.Request) {
	p.redeem(w, r, r.PostForm.Get("token"), "")
}

// redeem swaps a link's token for a session cookie.
func (p *Portal) redeem(w http.ResponseWriter, r *http.Request, token, ret string) {
	s, pr := p.api.RedeemPortalLink(r, requestID(r), token)
	if pr != nil {
		p.endSession(w, r)
		text := "This link is not valid: it was already used, it has expired (links work for a few minutes), or it is not a link we made. Nothing was changed. Ask for a new link."
		if pr.Status >= 500 {
			text = "The link could not be opened just now. Please try again."
		}
		p.render(w, r, pr.Status, "message", messageData{Heading: "This link does not work", Text: text, Code: pr.Code, Status: pr.Status,
			Links: []linkData{{"/portal/sign-in", "Sign in instead"}}})
		return
	}
	p.startSession(w, r, s, ret)
	to := "/portal/affiliate"
	if s.AccountID != "" {
		to = "/portal/account"
	}
	p.render(w, r, http.StatusOK, "redirect", redirectData{To: to})
}

type sessionJSON struct {
	Token     string    `json:"token"`
	AccountID string    `json:"account_id"`
	ExpiresAt time.Time `json:"expires_at"`
}

// signIn is a customer's sign-in: POST /v1/sessions, with its rate limits.
func (p *Portal) signIn(w http.ResponseWriter, r *http.Request) {
	email := strings.TrimSpace(r.PostForm.Get("email"))
	res := p.call(r, "", http.MethodPost, "/v1/sessions", map[string]string{"email": email, "password": r.PostForm.Get("password")})
	if !res.ok() {
		pr := res.problem()
		msg := "The e-mail address or the password is not right."
		switch {
		case pr.Status == http.StatusTooManyRequests:
			msg = "Too many attempts. Please wait a minute and try again."
			w.Header().Set("Retry-After", res.header.Get("Retry-After"))
		case pr.Status == http.StatusUnprocessableEntity:
			msg = "Please enter your e-mail address and your password."
		case pr.Status >= 500:
			msg = "Signing in failed just now. Please try again."
		}
		p.render(w, r, pr.Status, "signin", signInData{Error: msg, Email: email})
		return
	}
	var s sessionJSON
	if err := res.decode(&s); err != nil {
		p.fail(w, r, &problem{Status: http.StatusBadGateway, Code: "internal", Detail: "Signing in failed just now. Please try again."})
		return
	}
	p.startSession(w, r, api.PortalSession{Token: s.Token, AccountID: s.AccountID, ExpiresAt: s.ExpiresAt}, "")
	http.Redirect(w, r, "/portal/account", http.StatusSeeOther)
}

// affiliateKeySignIn signs an affiliate in with its API key.
func (p *Portal) affiliateKeySignIn(w http.ResponseWriter, r *http.Request) {
	s, pr := p.api.SignInAffiliateKey(r, requestID(r), r.PostForm.Get("api_key"))
	if pr != nil {
		msg := "This API key is not valid."
		if pr.Status == http.StatusTooManyRequests {
			msg = "Too many attempts. Please wait a minute and try again."
			w.Header().Set("Retry-After", "30")
		}
		p.render(w, r, pr.Status, "signin", signInData{Error: msg})
		return
	}
	p.startSession(w, r, s, "")
	http.Redirect(w, r, "/portal/affiliate", http.StatusSeeOther)
}

// affiliateLink mails an affiliate a sign-in link:
// POST /v1/affiliate-portal-links.
func (p *Portal) affiliateLink(w http.ResponseWriter, r *http.Request) {
	email := strings.TrimSpace(r.PostForm.Get("email"))
	res := p.call(r, "", http.MethodPost, "/v1/affiliate-portal-links", map[string]string{"email": email})
	switch {
	case res.ok():
		p.render(w, r, http.StatusAccepted, "message", messageData{Heading: "Check your mail", Status: http.StatusAccepted,
			Text: "If this address belongs to an affiliate, a sign-in link is on its way. It works once, for 15 minutes."})
	case res.status == http.StatusTooManyRequests:
		w.Header().Set("Retry-After", res.header.Get("Retry-After"))
		p.render(w, r, res.status, "signin", signInData{Error: "Too many requests. Please wait a minute and try again."})
	case res.status == http.StatusUnprocessableEntity:
		p.render(w, r, res.status, "signin", signInData{Error: "Please enter your e-mail address."})
	default:
		pr := res.problem()
		if pr.Code == "mail_unavailable" {
			pr.Detail = "Sign-in links cannot be mailed from this server. Sign in with your API key instead."
		}
		p.fail(w, r, pr)
	}
}

// signOut ends the session (DELETE /v1/sessions/current for a customer)
// and removes the cookies.
func (p *Portal) signOut(w http.ResponseWriter, r *http.Request) {
	if s := readSession(r); s != nil {
		if s.customer {
			p.call(r, s.token, http.MethodDelete, "/v1/sessions/current", nil)
		} else {
			p.api.SignOutAffiliate(r, requestID(r), s.token)
		}
	}
	p.endSession(w, r)
	http.Redirect(w, r, "/portal/sign-in?signed_out=1", http.StatusSeeOther)
}
