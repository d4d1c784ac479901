package portal

import (
	"net/http"
	"strings"
	"time"

	"github.com/aseptsoft/subledger/api"
)

// Cookie names. The session cookie holds "c.<account id>.<session token>"
// or "a.<affiliate id>.<affiliate session token>"; the ids only say which
// resources to ask for (the API checks the token owns them).
const (
	sessionCookie = "subledger_portal"
	returnCookie  = "subledger_portal_return"
	csrfCookie    = "subledger_portal_csrf"
)

// session is the portal session of a request.
type session struct {
	customer bool
	id       string // account or affiliate id
	token    string
	raw      string // the cookie's value, which CSRF tokens are bound to
}

func readSession(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	kind, rest, ok := strings.Cut(c.Value, ".")
	id, token, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || id == "" || token == "" || (kind != "c" && kind != "a") || len(c.Value) > 600 {
		return nil
	}
	return &session{customer: kind == "c", id: id, token: token, raw: c.Value}
}

// secureFor reports whether cookies go out Secure: behind TLS (the
// configured public URL is https, or the connection is TLS).
func (p *Portal) secureFor(r *http.Request) bool { return p.secure || r.TLS != nil }

func (p *Portal) cookie(r *http.Request, name, value string, expires time.Time) *http.Cookie {
	c := &http.Cookie{Name: name, Value: value, Path: "/portal", HttpOnly: true, Secure: p.secureFor(r), SameSite: http.SameSiteStrictMode}
	if !expires.IsZero() {
		c.Expires = expires.UTC()
		c.MaxAge = max(int(time.Until(expires).Seconds()), 1)
	}
	return c
}

// startSession sets the session cookie for s, expiring with the session.
func (p *Portal) startSession(w http.ResponseWriter, r *http.Request, s api.PortalSession, returnURL string) {
	v := "a." + s.AffiliateID + "." + s.Token
	if s.AccountID != "" {
		v = "c." + s.AccountID + "." + s.Token
	}
	http.SetCookie(w, p.cookie(r, sessionCookie, v, s.ExpiresAt))
	if returnURL != "" && api.ValidReturnURL(returnURL) {
		http.SetCookie(w, p.cookie(r, returnCookie, returnURL, s.ExpiresAt))
	}
}

// endSession removes the session cookies.
func (p *Portal) endSession(w http.ResponseWriter, r *http.Request) {
	for _, name := range []string{sessionCookie, returnCookie} {
		c := p.cookie(r, name, "", time.Time{})
		c.MaxAge = -1
		http.SetCookie(w, c)
	}
}

// returnURL is the store's page the customer came from, if any.
func returnURL(r *http.Request) string {
	c, err := r.Cookie(returnCookie)
	if err != nil || !api.ValidReturnURL(c.Value) {
		return ""
	}
	return c.Value
}

// customer admits requests with a customer session; others go to the
// sign-in page.
func (p *Portal) customer(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := readSession(r)
		if s == nil || !s.customer {
			p.needSignIn(w, r)
			return
		}
		h(w, r, s)
	}
}

// affiliate admits requests with an affiliate session.
func (p *Portal) affiliate(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := readSession(r)
		if s == nil || s.customer {
			p.needSignIn(w, r)
			return
		}
		h(w, r, s)
	}
}

// needSignIn sends a page view to the sign-in page and refuses an action.
func (p *Portal) needSignIn(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		http.Redirect(w, r, "/portal/sign-in", http.StatusSeeOther)
		return
	}
	p.fail(w, r, &problem{Status: http.StatusUnauthorized, Code: "unauthenticated", Detail: "Please sign in first. Nothing was changed."})
}

// ended handles an API answer of 401 to a session's request: the session
// is over (signed out, expired, password changed, account erased), so the
// cookie goes and the sign-in page says so.
func (p *Portal) ended(w http.ResponseWriter, r *http.Request) {
	p.endSession(w, r)
	p.render(w, r, http.StatusUnauthorized, "signin", signInData{Notice: "Your session has ended. Please sign in again."})
}
