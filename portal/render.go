package portal

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages are the parsed templates, one set per page (the layout and the
// page's "content").
type pages struct {
	sets map[string]*template.Template
}

var pageNames = []string{"signin", "account", "affiliate", "message", "redirect", "confirm"}

func parsePages() (*pages, error) {
	funcs := template.FuncMap{
		"money":     money,
		"date":      func(t *time.Time) string { return fmtDate(t) },
		"day":       func(t time.Time) string { return t.UTC().Format("2006-01-02") },
		"upper":     strings.ToUpper,
		"deref":     func(s *string) string { return deref(s) },
		"fieldArgs": fieldArgs,
	}
	pg := &pages{sets: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("portal: parsing %s: %w", name, err)
		}
		pg.sets[name] = t
	}
	return pg, nil
}

// page is what every page's layout needs; Data is the page's own.
type page struct {
	Title     string
	CSRF      string
	SignedIn  bool
	Customer  bool
	ReturnURL string
	Refresh   string
	Data      any
}

// titled is a page's data that names its page.
type titled interface{ title() string }

// render renders page name with data and status.
func (p *Portal) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	pg := page{Data: data, CSRF: p.csrfToken(w, r), ReturnURL: returnURL(r)}
	if t, ok := data.(titled); ok {
		pg.Title = t.title()
	}
	if s := readSessionFrom(w, r); s != nil {
		pg.SignedIn, pg.Customer = true, s.customer
	}
	if rd, ok := data.(redirectData); ok {
		pg.Refresh = rd.To
	}
	buf := getBuffer()
	defer putBuffer(buf)
	if err := p.pages.sets[name].Execute(buf, pg); err != nil {
		p.log.Error("rendering a portal page failed", "request_id", requestID(r), "page", name, "error", err.Error())
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// buffers keeps page and API answer buffers between requests, so that a
// page does not grow a new one each time.
var buffers = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, 64<<10)) }}

func getBuffer() *bytes.Buffer { return buffers.Get().(*bytes.Buffer) }

func putBuffer(b *bytes.Buffer) {
	if b.Cap() <= 1<<20 {
		b.Reset()
		buffers.Put(b)
	}
}

// readSessionFrom is the session the page is for: being set in this
// response (after a sign-in), removed in it (after a sign-out), or the
// request's.
func readSessionFrom(w http.ResponseWriter, r *http.Request) *session {
	for _, line := range w.Header()["Set-Cookie"] {
		if c, err := http.ParseSetCookie(line); err == nil && c.Name == sessionCookie {
			if c.MaxAge < 0 || c.Value == "" {
				return nil
			}
			req := &http.Request{Header: http.Header{"Cookie": {c.Name + "=" + c.Value}}}
			return readSession(req)
		}
	}
	return readSession(r)
}

// messageData is a page that says one thing: an error or a confirmation.
type messageData struct {
	Heading string
	Text    string
	Code    string
	Status  int
	Links   []linkData
}

type linkData struct{ Href, Text string }

func (m messageData) title() string { return m.Heading }

// redirectData is the page that moves on after a link was swapped for a
// cookie (a same-site step, so that the SameSite=Strict cookie is sent).
type redirectData struct{ To string }

func (redirectData) title() string { return "Signing you in" }

// fail shows a problem as a page with the problem's status.
func (p *Portal) fail(w http.ResponseWriter, r *http.Request, pr *problem) {
	heading := http.StatusText(pr.Status)
	switch pr.Status {
	case http.StatusNotFound:
		heading = "Not found"
	case http.StatusForbidden:
		heading = "Refused"
	case http.StatusUnauthorized:
		heading = "Please sign in"
	case http.StatusTooManyRequests:
		heading = "Too many attempts"
	}
	if pr.Status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "30")
	}
	links := []linkData{{"/portal/", "Go to the portal"}}
	p.render(w, r, pr.Status, "message", messageData{Heading: heading, Text: pr.Detail, Code: pr.Code, Status: pr.Status, Links: links})
}

func (p *Portal) notFound(w http.ResponseWriter, r *http.Request) {
	p.fail(w, r, &problem{Status: http.StatusNotFound, Code: "not_found", Detail: "There is no such page."})
}

// static serves the stylesheet and the copy button's script.
func (p *Portal) static(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, err := fs.ReadFile(staticFS, "static/"+name)
	if err != nil {
		p.notFound(w, r)
		return
	}
	ct := "text/css; charset=utf-8"
	if strings.HasSuffix(name, ".js") {
		ct = "text/javascript; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(b)
}

// home sends a signed-in person to their page, others to the sign-in page.
func (p *Portal) home(w http.ResponseWriter, r *http.Request) {
	switch s := readSession(r); {
	case s == nil:
		http.Redirect(w, r, "/portal/sign-in", http.StatusSeeOther)
	case s.customer:
		http.Redirect(w, r, "/portal/account", http.StatusSeeOther)
	default:
		http.Redirect(w, r, "/portal/affiliate", http.StatusSeeOther)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func fmtDate(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2 January 2006")
}

// zeroDecimal are the ISO 4217 currencies without minor unit that Stripe
// knows.
var zeroDecimal = map[string]bool{"bif": true, "clp": true, "djf": true, "gnf": true, "jpy": true, "kmf": true, "krw": true,
	"mga": true, "pyg": true, "rwf": true, "ugx": true, "vnd": true, "vuv": true, "xaf": true, "xof": true, "xpf": true}

// money formats an amount in minor units: 1234 eur is "12.34 EUR".
func money(amount int64, currency string) string {
	cur := strings.ToUpper(currency)
	if zeroDecimal[currency] {
		return strconv.FormatInt(amount, 10) + " " + cur
	}
	sign := ""
	if amount < 0 {
		sign, amount = "-", -amount
	}
	return fmt.Sprintf("%s%d.%02d %s", sign, amount/100, amount%100, cur)
}

// field is one labelled input with its message.
type field struct {
	Name, Input, Label, Type, Auto, Value, Error string
}

// fieldArgs builds a field of the account page: name is the message key
// (password_new_password), the input's name is what follows the form's
// prefix; password fields never show what was typed.
func fieldArgs(name, label, typ, auto string, d accountData) field {
	input := name
	if i := strings.Index(name, "password_"); i == 0 {
		input = strings.TrimPrefix(name, "password_")
	}
	f := field{Name: name, Input: input, Label: label, Type: typ, Auto: auto, Error: d.Errors[name]}
	if typ != "password" {
		f.Value = d.Form[name]
	}
	return f
}
