// Package mail sends plain-text e-mail through an SMTP server, using only the
// standard library.
//
// The server is given as a URL: smtp://host:port or smtp://user:pass@host:port
// (STARTTLS is used when the server offers it), or smtps://... for implicit
// TLS. Credentials are sent with AUTH PLAIN, and only when the URL has them.
//
// Errors never contain the SMTP password, and errors from Send never contain
// the recipient's address, so both are safe to log.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// DefaultFrom is the sender address used when NewSender is given none.
const DefaultFrom = "subledger@localhost"

const (
	// dialTimeout bounds connecting to the server.
	dialTimeout = 10 * time.Second
	// sessionTimeout bounds a whole SMTP session, from dial to QUIT.
	sessionTimeout = 60 * time.Second
)

// Message is a plain-text e-mail to one recipient.
type Message struct {
	To      string // a single address, e.g. "ann@example.com" or "Ann <ann@example.com>"
	Subject string
	Body    string // plain text; line endings are sent as CRLF
}

// Sender sends messages through one SMTP server. It is safe for concurrent
// use; each Send opens its own connection.
type Sender struct {
	redacted    string // the URL with the password masked, for String and errors
	host        string // server host name, for TLS verification and AUTH
	addr        string // host:port to dial
	implicitTLS bool   // smtps: TLS from the first byte
	auth        smtp.Auth
	password    string // only to redact it from server replies
	from        *mail.Address
	rootCAs     *x509.CertPool // nil: the system roots (tests set their own)
}

// NewSender returns a Sender for the server at rawURL, sending as from
// (DefaultFrom if empty). rawURL is smtp://[user:pass@]host:port or
// smtps://[user:pass@]host:port; the error, if any, does not contain the
// password.
func NewSender(rawURL, from string) (*Sender, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error quotes the whole URL, and for some malformed URLs even
		// the inner error quotes part of the password; say only what is safe.
		if !strings.Contains(rawURL, "@") {
			var ue *url.Error
			if errors.As(err, &ue) {
				return nil, fmt.Errorf("mail: invalid SMTP URL: %v", ue.Err)
			}
		}
		return nil, errors.New("mail: invalid SMTP URL: want smtp://[user:pass@]host:port or smtps://[user:pass@]host:port")
	}
	if u.User == nil && strings.Contains(rawURL, "@") {
		// The "@" ended up in the path, query or fragment, so part of a
		// password may be anywhere in u: echo nothing.
		return nil, errors.New("mail: invalid SMTP URL: malformed user:pass@ (percent-encode '/', '?' and '#' in the password)")
	}
	if u.Opaque != "" {
		return nil, errors.New("mail: invalid SMTP URL: want smtp://[user:pass@]host:port or smtps://[user:pass@]host:port")
	}
	// Only the scheme, user and host go into errors and String: the password
	// is masked, and the rest is not needed to recognise the URL.
	red := (&url.URL{Scheme: u.Scheme, User: u.User, Host: u.Host}).Redacted()
	bad := func(why string) error {
		return fmt.Errorf("mail: invalid SMTP URL %q: %s", red, why)
	}
	var implicitTLS bool
	switch u.Scheme {
	case "smtp":
	case "smtps":
		implicitTLS = true
	default:
		return nil, bad("scheme must be smtp or smtps")
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return nil, bad("host is missing")
	}
	if port == "" {
		return nil, bad("port is missing")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, bad("port must be a number from 1 to 65535")
	}
	if u.Path != "" && u.Path != "/" {
		return nil, bad("a path is not supported")
	}
	if u.RawQuery != "" || u.ForceQuery {
		return nil, bad("query parameters are not supported")
	}
	if u.Fragment != "" {
		return nil, bad("a fragment is not supported")
	}

	if from == "" {
		from = DefaultFrom
	}
	if strings.ContainsAny(from, "\r\n") {
		return nil, errors.New("mail: the from address contains a line break")
	}
	fromAddr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail: invalid from address %q: %v", from, err)
	}

	s := &Sender{
		redacted:    red,
		host:        host,
		addr:        net.JoinHostPort(host, port),
		implicitTLS: implicitTLS,
		from:        fromAddr,
	}
	if u.User != nil && u.User.Username() != "" {
		password, _ := u.User.Password()
		s.auth = smtp.PlainAuth("", u.User.Username(), password, host)
		s.password = password
	}
	return s, nil
}

// String returns the server URL with the password masked.
func (s *Sender) String() string { return s.redacted }

// GoString returns the same as String, so that %#v does not print the
// password either.
func (s *Sender) GoString() string { return "mail.Sender(" + s.redacted + ")" }

// Send delivers m, giving up when ctx is done. The returned error does not
// contain the recipient's address; an SMTP reply from the server is kept as a
// *textproto.Error (with the address masked), so callers can tell permanent
// (5xx) from temporary (4xx) failures with errors.As.
func (s *Sender) Send(ctx context.Context, m Message) error {
	if strings.ContainsAny(m.To, "\r\n") {
		return errors.New("mail: send: the recipient contains a line break")
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return errors.New("mail: send: the subject contains a line break")
	}
	if strings.TrimSpace(m.To) == "" {
		return errors.New("mail: send: no recipient")
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		// net/mail errors may quote the address.
		return errors.New("mail: send: the recipient is not a valid address")
	}
	msg, err := s.compose(to, m)
	if err != nil {
		return fmt.Errorf("mail: send: %w", err)
	}

	secrets := []string{m.To, to.Address, to.Name}
	fail := func(stage string, err error) error {
		return s.sendError(ctx, stage, err, secrets)
	}

	dialer := net.Dialer{Timeout: dialTimeout}
	conn, err := dialer.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return fail("dial", err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(sessionTimeout)); err != nil {
		return fail("dial", err)
	}
	// When ctx is done, fail any read or write in progress. (Setting ctx's
	// deadline on conn instead could fail the I/O before ctx.Err is set, and
	// the error would not say it was the context.)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if s.implicitTLS {
		tc := tls.Client(conn, s.tlsConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail("tls", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return fail("greeting", err)
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return fail("hello", err)
	}
	if !s.implicitTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tlsConfig()); err != nil {
				return fail("starttls", err)
			}
		}
	}
	if s.auth != nil {
		if ok, _ := c.Extension("AUTH"); !ok {
			return fail("auth", errors.New("the server does not offer AUTH"))
		}
		if err := c.Auth(s.auth); err != nil {
			return fail("auth", err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return fail("mail from", err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return fail("rcpt to", err)
	}
	w, err := c.Data()
	if err != nil {
		return fail("data", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fail("data", err)
	}
	if err := w.Close(); err != nil {
		return fail("data", err)
	}
	// The message was accepted at the end of DATA; a failed QUIT does not
	// undo that, so it is not reported.
	_ = c.Quit()
	return nil
}

func (s *Sender) tlsConfig() *tls.Config {
	return &tls.Config{ServerName: s.host, RootCAs: s.rootCAs, MinVersion: tls.VersionTLS12}
}

// compose returns the message with headers, CRLF line endings and a
// quoted-printable body.
func (s *Sender) compose(to *mail.Address, m Message) ([]byte, error) {
	var b bytes.Buffer
	header := func(name, value string) {
		b.WriteString(name)
		b.WriteString(": ")
		b.WriteString(value)
		b.WriteString("\r\n")
	}
	header("From", fold("From", s.from.String()))
	header("To", fold("To", to.String()))
	header("Subject", fold("Subject", mime.QEncoding.Encode("utf-8", m.Subject)))
	header("Date", time.Now().Format(time.RFC1123Z))
	id, err := s.messageID()
	if err != nil {
		return nil, err
	}
	header("Message-ID", id)
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b) // writes every line break as CRLF
	if _, err := qp.Write([]byte(m.Body)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
		b.WriteString("\r\n")
	}
	return b.Bytes(), nil
}

// fold breaks a header value at spaces so that its lines stay within 76
// characters where a space allows (a longer word stays whole). It folds only
// at a single space between two words: parsers such as Go's net/textproto
// unfold by joining the lines with one space, dropping the white space around
// the line break. The encoded words of mime.QEncoding are at most 75
// characters and separated by single spaces.
func fold(name, value string) string {
	const limit = 76
	var b strings.Builder
	lineLen := len(name) + 2 // "Name: "
	start := 0               // of the segment not yet written
	flush := func(end int) {
		seg := value[start:end]
		if start > 0 {
			// value[start-1] is a single space between two words.
			if lineLen+1+len(seg) > limit {
				b.WriteString("\r\n")
				lineLen = 0
			}
			b.WriteByte(' ')
			lineLen++
		}
		b.WriteString(seg)
		lineLen += len(seg)
	}
	for i := 1; i+1 < len(value); i++ {
		if value[i] == ' ' && !isSpace(value[i-1]) && !isSpace(value[i+1]) {
			flush(i)
			start = i + 1
		}
	}
	flush(len(value))
	return b.String()
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

func (s *Sender) messageID() (string, error) {
	var r [16]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", err
	}
	domain := "localhost"
	if i := strings.LastIndexByte(s.from.Address, '@'); i >= 0 && i+1 < len(s.from.Address) {
		domain = s.from.Address[i+1:]
	}
	return "<" + hex.EncodeToString(r[:]) + "@" + domain + ">", nil
}

// sendError wraps err from the given stage of a session, masking the
// recipient (and the password) wherever the text might echo them.
func (s *Sender) sendError(ctx context.Context, stage string, err error, recipient []string) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		// The deadline set by the AfterFunc makes the I/O fail; the context
		// is the real reason.
		return fmt.Errorf("mail: send: %s: %w", stage, ctxErr)
	}
	redact := func(text string) string {
		for _, r := range recipient {
			if len(strings.TrimSpace(r)) >= 3 { // a shorter display name would mask too much
				text = regexp.MustCompile("(?i)"+regexp.QuoteMeta(r)).ReplaceAllLiteralString(text, "<recipient>")
			}
		}
		if len(s.password) >= 4 {
			text = strings.ReplaceAll(text, s.password, "xxxxx")
		}
		return text
	}
	var tpErr *textproto.Error
	if errors.As(err, &tpErr) {
		return fmt.Errorf("mail: send: %s: %w", stage, &textproto.Error{Code: tpErr.Code, Msg: redact(tpErr.Msg)})
	}
	if text := err.Error(); redact(text) != text {
		// Drop the chain: its errors still hold the unmasked text.
		return errors.New("mail: send: " + stage + ": " + redact(text))
	}
	return fmt.Errorf("mail: send: %s: %w", stage, err)
}
