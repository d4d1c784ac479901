package mail_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/internal/nettest"
	"github.com/aseptsoft/subledger/mail"
	"github.com/aseptsoft/subledger/mail/mailpittest"
)

const wait = 5 * time.Second

func newSender(t *testing.T, rawURL, from string) *mail.Sender {
	t.Helper()
	s, err := mail.NewSender(rawURL, from)
	if err != nil {
		t.Fatalf("NewSender(%q): %v", rawURL, err)
	}
	return s
}

func send(t *testing.T, s *mail.Sender, m mail.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := s.Send(ctx, m); err != nil {
		t.Fatalf("Send: %v", err)
	}
}

func to(addr string) func(mailpittest.Message) bool {
	return func(m mailpittest.Message) bool {
		return len(m.To) == 1 && m.To[0] == addr
	}
}

// TestSendPlain sends through a Mailpit without TLS or AUTH.
func TestSendPlain(t *testing.T) {
	t.Parallel()
	srv := mailpittest.Start(t)

	t.Run("content", func(t *testing.T) {
		t.Parallel()
		subject := "Reçu n° 42 — ünïcödé ✓ and a long tail to force several encoded words: äöü ÄÖÜ ß € 日本語"
		long := strings.Repeat("0123456789=", 30) // 330 characters, well over the 76 of a QP line
		body := "Hello Ann,\n" +
			"a=b, ==, =3D and =?utf-8?q?not-a-word?= stay as they are.\n" +
			long + "\n" +
			".a line starting with a dot\n" +
			"trailing spaces   \n" +
			"CRLF line\r\n" +
			"ünïcödé ✓\n" +
			"\n" +
			"last line"
		send(t, newSender(t, srv.SMTPURL(), ""), mail.Message{To: "ann@example.com", Subject: subject, Body: body})

		m := srv.WaitFor(t, to("ann@example.com"), wait)
		if m.Subject != subject {
			t.Errorf("Subject = %q, want %q", m.Subject, subject)
		}
		if m.From != mail.DefaultFrom {
			t.Errorf("From = %q, want %q", m.From, mail.DefaultFrom)
		}
		wantText := strings.ReplaceAll(body, "\r\n", "\n")
		if got := strings.ReplaceAll(m.Text, "\r\n", "\n"); strings.TrimRight(got, "\n") != wantText {
			t.Errorf("Text =\n%q\nwant\n%q", got, wantText)
		}

		raw, err := srv.Raw(context.Background(), m.ID)
		if err != nil {
			t.Fatal(err)
		}
		head, encoded, ok := strings.Cut(string(raw), "\r\n\r\n")
		if !ok {
			t.Fatalf("no CRLF CRLF between header and body in\n%s", raw)
		}
		for _, h := range []string{
			"MIME-Version: 1.0",
			"Content-Type: text/plain; charset=utf-8",
			"Content-Transfer-Encoding: quoted-printable",
			"To: <ann@example.com>",
			"From: <subledger@localhost>",
		} {
			if !strings.Contains(head+"\r\n", "\r\n"+h+"\r\n") {
				t.Errorf("header %q missing in\n%s", h, head)
			}
		}
		hdr, err := textproto.NewReader(bufio.NewReader(strings.NewReader(head + "\r\n\r\n"))).ReadMIMEHeader()
		if err != nil {
			t.Fatal(err)
		}
		if id := hdr.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@localhost>") {
			t.Errorf("Message-ID = %q", id)
		}
		if d, err := time.Parse(time.RFC1123Z, hdr.Get("Date")); err != nil || time.Since(d) > time.Minute {
			t.Errorf("Date = %q (%v)", hdr.Get("Date"), err)
		}
		if s := hdr.Get("Subject"); !strings.HasPrefix(s, "=?utf-8?q?") {
			t.Errorf("Subject not Q-encoded: %q", s)
		}
		checkHeaderLines(t, head)
		if n := strings.Count(hdr.Get("Subject"), "=?utf-8?q?"); n < 3 {
			t.Errorf("Subject has %d encoded words, want the long subject split into several", n)
		}
		for _, line := range strings.Split(strings.TrimSuffix(encoded, "\r\n"), "\r\n") {
			if len(line) > 76 || strings.ContainsAny(line, "\r\n") {
				t.Errorf("bad quoted-printable line (%d bytes): %q", len(line), line)
			}
		}
		if !strings.Contains(encoded, "a=3Db") {
			t.Errorf("'=' not encoded as =3D in body:\n%s", encoded)
		}
	})

	t.Run("long ascii subject", func(t *testing.T) {
		t.Parallel()
		subject := strings.Repeat("word  twice spaced ", 80) + strings.Repeat("x", 100)
		send(t, newSender(t, srv.SMTPURL(), ""), mail.Message{To: "long@example.com", Subject: subject, Body: "x"})
		m := srv.WaitFor(t, to("long@example.com"), wait)
		if m.Subject != subject {
			t.Errorf("Subject =\n%q\nwant\n%q", m.Subject, subject)
		}
		raw, err := srv.Raw(context.Background(), m.ID)
		if err != nil {
			t.Fatal(err)
		}
		head, _, _ := strings.Cut(string(raw), "\r\n\r\n")
		checkHeaderLines(t, head)
	})

	t.Run("display names and from", func(t *testing.T) {
		t.Parallel()
		s := newSender(t, srv.SMTPURL(), "Subledger Billing <billing@example.org>")
		send(t, s, mail.Message{To: "Zoë Ünal <zoe@example.com>", Subject: "plain ascii", Body: "hi"})
		m := srv.WaitFor(t, to("zoe@example.com"), wait)
		if m.From != "billing@example.org" || m.Subject != "plain ascii" || strings.TrimSpace(m.Text) != "hi" {
			t.Errorf("got %+v", m)
		}
	})

	t.Run("header injection", func(t *testing.T) {
		t.Parallel()
		s := newSender(t, srv.SMTPURL(), "")
		bad := []mail.Message{
			{To: "inject1@example.com\r\nBcc: evil@example.com", Subject: "x", Body: "x"},
			{To: "inject2@example.com\nBcc: evil@example.com", Subject: "x", Body: "x"},
			{To: "inject3@example.com\r", Subject: "x", Body: "x"},
			{To: "inject4@example.com", Subject: "hi\r\nBcc: evil@example.com", Body: "x"},
			{To: "inject5@example.com", Subject: "hi\nBcc: evil@example.com", Body: "x"},
			{To: "inject6@example.com", Subject: "hi\r", Body: "x"},
		}
		for _, m := range bad {
			err := s.Send(context.Background(), m)
			if err == nil {
				t.Errorf("Send(%q, %q) succeeded", m.To, m.Subject)
				continue
			}
			if strings.Contains(err.Error(), "@example.com") {
				t.Errorf("error %q contains an address", err)
			}
		}
		for _, from := range []string{"a@example.com\r\nBcc: evil@example.com", "a@example.com\n"} {
			if _, err := mail.NewSender(srv.SMTPURL(), from); err == nil {
				t.Errorf("NewSender(from %q) succeeded", from)
			}
		}
		// Nothing of the above reached the server: a message sent after them
		// is the only one to these recipients.
		send(t, s, mail.Message{To: "inject-after@example.com", Subject: "after", Body: "x"})
		srv.WaitFor(t, to("inject-after@example.com"), wait)
		msgs, err := srv.Messages(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if strings.Contains(strings.Join(m.To, ","), "inject") && m.Subject != "after" || strings.Contains(fmt.Sprint(m), "evil") {
				t.Errorf("injected message arrived: %+v", m)
			}
		}
	})

	t.Run("bad recipient", func(t *testing.T) {
		t.Parallel()
		s := newSender(t, srv.SMTPURL(), "")
		for _, rcpt := range []string{"", "  ", "no-at-sign", "a@example.com, b@example.com", "<unclosed@example.com"} {
			err := s.Send(context.Background(), mail.Message{To: rcpt, Subject: "x", Body: "x"})
			if err == nil {
				t.Errorf("Send(To %q) succeeded", rcpt)
				continue
			}
			if strings.TrimSpace(rcpt) != "" && strings.Contains(err.Error(), strings.TrimSpace(rcpt)) {
				t.Errorf("error %q contains the recipient", err)
			}
		}
	})

	t.Run("credentials but no AUTH offered", func(t *testing.T) {
		t.Parallel()
		s := newSender(t, "smtp://alice:s3cretpw@"+srv.SMTPAddr(), "")
		err := s.Send(context.Background(), mail.Message{To: "noauth@example.com", Subject: "x", Body: "x"})
		if err == nil || !strings.Contains(err.Error(), "AUTH") {
			t.Fatalf("Send = %v, want an error about AUTH", err)
		}
		if strings.Contains(err.Error(), "s3cretpw") || strings.Contains(err.Error(), "noauth@") {
			t.Errorf("error %q leaks the password or the recipient", err)
		}
	})
}

// foldable matches where a header may be folded without loss: a single space
// between two words.
var foldable = regexp.MustCompile(`[^ \t] [^ \t]`)

// checkHeaderLines fails t if a header line is longer than 76 characters
// where it could have been folded, or longer than 998 at all.
func checkHeaderLines(t *testing.T, head string) {
	t.Helper()
	for i, line := range strings.Split(head, "\r\n") {
		value := strings.TrimLeft(line, " \t")
		if value == line {
			_, value, _ = strings.Cut(line, ": ")
		}
		if strings.ContainsAny(line, "\r\n") || len(line) > 998 || len(line) > 76 && foldable.MatchString(value) {
			t.Errorf("bad header line %d (%d bytes): %q", i, len(line), line)
		}
	}
}

// TestSendAuth authenticates with AUTH PLAIN (over plain text: net/smtp
// allows that to 127.0.0.1 only).
func TestSendAuth(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	authFile := filepath.Join(dir, "smtp-auth")
	if err := os.WriteFile(authFile, []byte("alice:s3cretpw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := mailpittest.Start(t, "--smtp-auth-file", authFile, "--smtp-auth-allow-insecure")

	send(t, newSender(t, "smtp://alice:s3cretpw@"+srv.SMTPAddr(), ""), mail.Message{To: "auth@example.com", Subject: "auth", Body: "x"})
	if m := srv.WaitFor(t, to("auth@example.com"), wait); m.Username != "alice" {
		t.Errorf("Username = %q, want alice", m.Username)
	}

	s := newSender(t, "smtp://alice:wrongpassword@"+srv.SMTPAddr(), "")
	err := s.Send(context.Background(), mail.Message{To: "wrong@example.com", Subject: "x", Body: "x"})
	if err == nil {
		t.Fatal("Send with a wrong password succeeded")
	}
	var tpErr *textproto.Error
	if !errors.As(err, &tpErr) || tpErr.Code/100 != 5 {
		t.Errorf("Send = %v, want a 5xx *textproto.Error", err)
	}
	if strings.Contains(err.Error(), "wrongpassword") || strings.Contains(err.Error(), "wrong@") {
		t.Errorf("error %q leaks the password or the recipient", err)
	}

	// Without credentials the server refuses the message.
	err = newSender(t, srv.SMTPURL(), "").Send(context.Background(), mail.Message{To: "anon@example.com", Subject: "x", Body: "x"})
	if err == nil {
		t.Error("Send without credentials to a server requiring AUTH succeeded")
	} else if strings.Contains(err.Error(), "anon@") {
		t.Errorf("error %q contains the recipient", err)
	}
}

// TestSendTLS covers STARTTLS (offered, so used) and smtps (implicit TLS),
// with a certificate the test makes for 127.0.0.1.
func TestSendTLS(t *testing.T) {
	t.Parallel()
	certFile, keyFile, pool := selfSigned(t)

	t.Run("starttls", func(t *testing.T) {
		t.Parallel()
		srv := mailpittest.Start(t, "--smtp-tls-cert", certFile, "--smtp-tls-key", keyFile,
			"--smtp-require-starttls", "--smtp-auth-accept-any")
		s := newSender(t, "smtp://bob:pw@"+srv.SMTPAddr(), "")
		mail.SetRootCAs(s, pool)
		send(t, s, mail.Message{To: "starttls@example.com", Subject: "starttls", Body: "x"})
		if m := srv.WaitFor(t, to("starttls@example.com"), wait); m.Username != "bob" {
			t.Errorf("Username = %q, want bob", m.Username)
		}

		// The certificate is verified: without the test's root it fails.
		err := newSender(t, srv.SMTPURL(), "").Send(context.Background(), mail.Message{To: "untrusted@example.com", Subject: "x", Body: "x"})
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Errorf("Send with an untrusted certificate = %v, want x509.UnknownAuthorityError", err)
		}
	})

	t.Run("smtps", func(t *testing.T) {
		t.Parallel()
		srv := mailpittest.Start(t, "--smtp-tls-cert", certFile, "--smtp-tls-key", keyFile, "--smtp-require-tls")
		s := newSender(t, "smtps://"+srv.SMTPAddr(), "")
		mail.SetRootCAs(s, pool)
		send(t, s, mail.Message{To: "smtps@example.com", Subject: "smtps", Body: "x"})
		srv.WaitFor(t, to("smtps@example.com"), wait)

		// Plain smtp:// to a TLS-only port fails.
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		if err := newSender(t, srv.SMTPURL(), "").Send(ctx, mail.Message{To: "x@example.com", Subject: "x", Body: "x"}); err == nil {
			t.Error("smtp:// to an implicit-TLS port succeeded")
		}
	})
}

func TestNewSenderURLs(t *testing.T) {
	t.Parallel()
	const secret = "s3cr"
	bad := []string{
		"",
		"127.0.0.1:25",
		"http://u:s3cretpw@mail.example.com:25",
		"smtp://u:s3cretpw@mail.example.com",
		"smtp://u:s3cretpw@:25",
		"smtp://u:s3cretpw@mail.example.com:0",
		"smtp://u:s3cretpw@mail.example.com:99999",
		"smtp://u:s3cretpw@mail.example.com:smtp",
		"smtp://u:s3cretpw@mail.example.com:25/path",
		"smtp://u:s3cretpw@mail.example.com:25?starttls=required",
		"smtp://u:s3cretpw@mail.example.com:25#frag",
		"smtp:u:s3cretpw@mail.example.com:25",
		"smtp://u:s3cret/pw@mail.example.com:25",
		"smtp://u:25/s3cretpw@mail.example.com",
		"smtp://u:25?s3cretpw@mail.example.com",
		"http:u:s3cretpw@mail.example.com:25",
		"smtp:mail.example.com:25",
		"smtp://u:s3cret pw@mail.example.com:25",
		"smtp://u:s3cr%zzetpw@mail.example.com:25",
		"smtp://u:s3cretpw@mail.example.com:25\n",
		" smtp://u:s3cretpw@mail.example.com:25",
	}
	for _, raw := range bad {
		s, err := mail.NewSender(raw, "")
		if err == nil {
			t.Errorf("NewSender(%q) = %v, want an error", raw, s)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("NewSender(%q) error %q contains the password", raw, err)
		}
	}

	good := []string{
		"smtp://127.0.0.1:1025",
		"smtp://mail.example.com:587/",
		"SMTP://mail.example.com:587",
		"smtps://u:s3cretpw@mail.example.com:465",
		"smtp://[::1]:25",
		"smtp://apikey:s3cr%2Fetpw@mail.example.com:587",
	}
	for _, raw := range good {
		s, err := mail.NewSender(raw, "")
		if err != nil {
			t.Errorf("NewSender(%q): %v", raw, err)
			continue
		}
		for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
			if out := fmt.Sprintf(f, s); strings.Contains(out, secret) {
				t.Errorf("Sprintf(%q, sender) = %q contains the password", f, out)
			}
		}
	}
}

// TestSendFailures checks that failures carry no recipient address.
func TestSendFailures(t *testing.T) {
	t.Parallel()
	const rcpt = "Personal.Data@Example.com"

	t.Run("closed port", func(t *testing.T) {
		t.Parallel()
		addr := nettest.ClosedAddr(t)
		err := newSender(t, "smtp://"+addr, "").Send(context.Background(), mail.Message{To: rcpt, Subject: "x", Body: "x"})
		if err == nil {
			t.Fatal("Send to a closed port succeeded")
		}
		if !strings.HasPrefix(err.Error(), "mail: send: ") || strings.Contains(strings.ToLower(err.Error()), "personal") {
			t.Errorf("error = %q", err)
		}
	})

	t.Run("server echoes the recipient", func(t *testing.T) {
		t.Parallel()
		// A server that rejects RCPT quoting the address, once as given and
		// once in lower case.
		addr := fakeSMTP(t, func(rcptLine string) string {
			a := strings.TrimSuffix(strings.TrimPrefix(rcptLine, "RCPT TO:<"), ">")
			return fmt.Sprintf("550 5.1.1 <%s>: mailbox %s unavailable", a, strings.ToLower(a))
		})
		err := newSender(t, "smtp://"+addr, "").Send(context.Background(), mail.Message{To: rcpt, Subject: "x", Body: "x"})
		if err == nil {
			t.Fatal("Send succeeded")
		}
		if strings.Contains(strings.ToLower(err.Error()), "personal") {
			t.Errorf("error %q contains the recipient", err)
		}
		if !strings.Contains(err.Error(), "<recipient>") {
			t.Errorf("error %q: want the address replaced by <recipient>", err)
		}
		var tpErr *textproto.Error
		if !errors.As(err, &tpErr) || tpErr.Code != 550 || strings.Contains(strings.ToLower(tpErr.Msg), "personal") {
			t.Errorf("Send = %#v, want a masked 550 *textproto.Error", err)
		}
	})

	t.Run("context deadline", func(t *testing.T) {
		t.Parallel()
		// A server that accepts and never greets.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		accepted := make(chan net.Conn, 1)
		go func() {
			if c, err := ln.Accept(); err == nil {
				accepted <- c
			}
		}()
		t.Cleanup(func() {
			select {
			case c := <-accepted:
				c.Close()
			default:
			}
		})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		err = newSender(t, "smtp://"+ln.Addr().String(), "").Send(ctx, mail.Message{To: rcpt, Subject: "x", Body: "x"})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Send = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Send took %s after a 200ms deadline", d)
		}
	})

	t.Run("context cancelled", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		err = newSender(t, "smtp://"+ln.Addr().String(), "").Send(ctx, mail.Message{To: rcpt, Subject: "x", Body: "x"})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Send = %v, want context.Canceled", err)
		}
	})
}

// fakeSMTP serves one scripted SMTP session: it answers RCPT with
// rcptReply(the RCPT line) and everything else with a success.
func fakeSMTP(t *testing.T, rcptReply func(string) string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(wait))
		tp := textproto.NewConn(c)
		_ = tp.PrintfLine("220 fake ESMTP")
		for {
			line, err := tp.ReadLine()
			if err != nil {
				return
			}
			switch cmd := strings.ToUpper(strings.SplitN(line, " ", 2)[0]); {
			case cmd == "EHLO":
				_ = tp.PrintfLine("250-fake\r\n250 8BITMIME")
			case strings.HasPrefix(cmd, "RCPT"):
				_ = tp.PrintfLine("%s", rcptReply(line))
			case cmd == "QUIT":
				_ = tp.PrintfLine("221 bye")
				return
			default:
				_ = tp.PrintfLine("250 ok")
			}
		}
	}()
	return ln.Addr().String()
}

// selfSigned writes a certificate for 127.0.0.1 and its key into a temporary
// directory, and returns their paths and a pool trusting the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mailpittest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
