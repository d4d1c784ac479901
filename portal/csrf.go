package portal

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
)

// CSRF: every form carries a token that is an HMAC, under the portal's
// secret, of a random per-browser cookie and the session cookie, so a token
// works only in the browser and session it was made for; and a POST must
// come from the portal's own origin (Origin, else Referer; neither is a
// refusal). Both checks happen before anything else, so a refused form
// changes nothing.

// csrfToken returns the token for forms on the page being rendered,
// setting the per-browser cookie when there is none.
func (p *Portal) csrfToken(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(csrfCookie)
	seed := ""
	if err == nil && len(c.Value) == 64 {
		seed = c.Value
	} else {
		var b [32]byte
		_, _ = rand.Read(b[:])
		seed = hex.EncodeToString(b[:])
		r.AddCookie(&http.Cookie{Name: csrfCookie, Value: seed})
		http.SetCookie(w, p.cookie(r, csrfCookie, seed, p.now().AddDate(1, 0, 0)))
	}
	return p.csrfFor(seed, sessionValue(w, r))
}

// sessionValue is the session cookie the page is rendered for: the one
// being set in this response, else the request's.
func sessionValue(w http.ResponseWriter, r *http.Request) string {
	for _, line := range w.Header()["Set-Cookie"] {
		if c, err := http.ParseSetCookie(line); err == nil && c.Name == sessionCookie {
			return c.Value
		}
	}
	if s := readSession(r); s != nil {
		return s.raw
	}
	return ""
}

func (p *Portal) csrfFor(seed, sessionRaw string) string {
	m := hmac.New(sha256.New, p.secret)
	m.Write([]byte("portal-csrf\x00" + seed + "\x00" + sessionRaw))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// sameOrigin reports whether a POST comes from the portal's own origin.
func (p *Portal) sameOrigin(r *http.Request) bool {
	want := p.origin
	if want == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		want = scheme + "://" + r.Host
	}
	if o := r.Header.Get("Origin"); o != "" {
		return o == want
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		u, err := url.Parse(ref)
		return err == nil && u.Scheme+"://"+u.Host == want
	}
	return false
}

// form checks a POST's origin and CSRF token, then runs h; a refusal is a
// 403 page and changes nothing.
func (p *Portal) form(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !p.sameOrigin(r) {
			p.fail(w, r, &problem{Status: http.StatusForbidden, Code: "cross_origin",
				Detail: "This form was sent from another site, so it was refused. Nothing was changed."})
			return
		}
		if err := r.ParseForm(); err != nil {
			p.fail(w, r, &problem{Status: http.StatusBadRequest, Code: "bad_request", Detail: "The form could not be read. Nothing was changed."})
			return
		}
		c, err := r.Cookie(csrfCookie)
		sent := r.PostForm.Get("csrf")
		raw := ""
		if s := readSession(r); s != nil {
			raw = s.raw
		}
		if err != nil || sent == "" || !hmac.Equal([]byte(sent), []byte(p.csrfFor(c.Value, raw))) {
			p.fail(w, r, &problem{Status: http.StatusForbidden, Code: "csrf_failed",
				Detail: "This form has expired or did not come from this page. Please go back, reload the page and try again. Nothing was changed."})
			return
		}
		h(w, r)
	}
}
