package api

import (
	"bytes"
	"io"
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/aseptsoft/subledger/domain"
)

// Idempotency-Key, on any POST: the first successful (2xx) response is
// recorded, as an event, under a keyed digest of the caller and the key;
// a repeat with the same key and the same request (method, path, body)
// gets that response again, and the same key with another request gets
// 422 idempotency_key_reused. Error responses are not recorded: they
// changed nothing, so a repeat runs again and gets the same answer, or a
// better one once the cause is gone. Records answer for 24 hours. A
// response about a person (an account, a session token) is recorded
// encrypted under that person's key, so that erasing them shreds it.

// maxIdempotencyKey is the longest Idempotency-Key accepted.
const maxIdempotencyKey = 255

// subjectKey is where a handler names the person its response is about.
const subjectKey = "idempotency_subject"

// setSubject names the person (account id) a response is about, so that an
// idempotency record of it is encrypted under their key.
func setSubject(c echo.Context, accountID string) { c.Set(subjectKey, accountID) }

// inFlight serialises requests with the same idempotency record on this
// replica, so that a repeat arriving while the first runs waits for its
// answer instead of running again.
type inFlight struct {
	mu    sync.Mutex
	locks map[string]*flightLock
}

type flightLock struct {
	mu   sync.Mutex
	refs int
}

func newInFlight() *inFlight { return &inFlight{locks: map[string]*flightLock{}} }

func (f *inFlight) lock(key string) func() {
	f.mu.Lock()
	l := f.locks[key]
	if l == nil {
		l = &flightLock{}
		f.locks[key] = l
	}
	l.refs++
	f.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		f.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(f.locks, key)
		}
		f.mu.Unlock()
	}
}

// recorder keeps a handler's response instead of sending it.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (s *Server) idempotent(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		key := c.Request().Header.Get("Idempotency-Key")
		if key == "" {
			return next(c)
		}
		if len(key) > maxIdempotencyKey {
			return &Problem{Status: http.StatusUnprocessableEntity, Code: domain.CodeValidationFailed, Detail: "the Idempotency-Key is too long",
				Errors: []domain.FieldError{{Field: "Idempotency-Key", Code: domain.FieldTooLong}}}
		}
		body, err := readBody(c)
		if err != nil {
			return err // over the body limit: 413
		}
		c.Request().Body = io.NopCloser(bytes.NewReader(body))
		req := append([]byte(c.Request().Method+" "+c.Request().URL.Path+"\n"), body...)
		k := s.svc.IdempotencyKeyFor(principalOf(c).caller(), key, req)
		unlock := s.idem.lock(k.String())
		defer unlock()
		ctx := s.ctx(c)
		if prev, err := s.svc.IdempotentReplay(ctx, k); err != nil {
			return err
		} else if prev != nil {
			s.metrics.idempotentReplay.Inc()
			return replay(c, prev)
		}

		// Run the request into a recorder, errors included, so that what
		// is sent is exactly what was recorded.
		real := c.Response().Writer
		rec := &recorder{header: real.Header()}
		c.Response().Writer = rec
		if err := next(c); err != nil {
			c.Error(err)
		}
		c.Response().Writer = real
		status := rec.status
		if status == 0 {
			status = c.Response().Status
		}
		if status >= 200 && status < 300 {
			subject, _ := c.Get(subjectKey).(string)
			resp := domain.IdempotentResponse{Status: status, ContentType: rec.header.Get(echo.HeaderContentType),
				Location: rec.header.Get(echo.HeaderLocation), Body: rec.body.String()}
			first, res, err := s.svc.RecordIdempotent(ctx, k, subject, resp)
			if err != nil {
				// The request's effect is durable; only its record failed.
				// Answer what happened, so the caller is not told a lie.
				s.log.Error("recording an idempotent response failed", "request_id", requestID(c), "error", err.Error())
			} else if first != nil {
				s.metrics.idempotentReplay.Inc()
				return replay(c, first)
			} else {
				s.wait(c, res.Position)
			}
		}
		resp := c.Response()
		resp.Status, resp.Committed = status, true
		real.WriteHeader(status)
		_, err = real.Write(rec.body.Bytes())
		return err
	}
}

// replay sends a recorded response, with the header Idempotent-Replayed.
func replay(c echo.Context, r *domain.IdempotentResponse) error {
	resp := c.Response()
	h := resp.Header()
	h.Set("Idempotent-Replayed", "true")
	h.Del(echo.HeaderLocation)
	if r.ContentType != "" {
		h.Set(echo.HeaderContentType, r.ContentType)
	}
	if r.Location != "" {
		h.Set(echo.HeaderLocation, r.Location)
	}
	resp.Status, resp.Committed = r.Status, true
	resp.Writer.WriteHeader(r.Status)
	_, err := io.WriteString(resp.Writer, r.Body)
	return err
}
