package portal

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// apiResult is an answer of the API to an in-process request.
type apiResult struct {
	status int
	header http.Header
	body   *bytes.Buffer
}

func (a *apiResult) Header() http.Header { return a.header }

func (a *apiResult) Write(b []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	return a.body.Write(b)
}

func (a *apiResult) WriteHeader(code int) {
	if a.status == 0 {
		a.status = code
	}
}

// release gives the body's buffer back; the result is not read after.
func (a *apiResult) release() {
	if a.body != nil {
		putBuffer(a.body)
		a.body = nil
	}
}

// ok reports a 2xx answer.
func (a *apiResult) ok() bool { return a.status >= 200 && a.status < 300 }

// decode reads a JSON answer into v.
func (a *apiResult) decode(v any) error { return json.Unmarshal(a.body.Bytes(), v) }

// problem is the API's problem+json, as the pages show it.
type problem struct {
	Status int          `json:"status"`
	Code   string       `json:"code"`
	Detail string       `json:"detail"`
	Errors []fieldError `json:"errors"`
}

type fieldError struct {
	Field string `json:"field"`
	Code  string `json:"code"`
}

// problem returns the answer's problem; an answer that is not one is a 502.
func (a *apiResult) problem() *problem {
	var p problem
	if err := a.decode(&p); err != nil || p.Status == 0 {
		return &problem{Status: http.StatusBadGateway, Code: "internal", Detail: "the server gave an answer the portal cannot read"}
	}
	return &p
}

// call sends a request to the API's route, in-process, as the bearer of
// token, on behalf of the browser's request r: the same context, client
// address (rate limits), host and request id.
func (p *Portal) call(r *http.Request, token, method, target string, body any) *apiResult {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return &apiResult{status: http.StatusInternalServerError, header: http.Header{}, body: &bytes.Buffer{}}
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(r.Context(), method, target, rd)
	if err != nil {
		return &apiResult{status: http.StatusInternalServerError, header: http.Header{}, body: &bytes.Buffer{}}
	}
	req.RemoteAddr, req.Host, req.TLS = r.RemoteAddr, r.Host, r.TLS
	req.Header.Set("X-Request-Id", requestID(r))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res := &apiResult{header: http.Header{}, body: getBuffer()}
	p.api.ServeHTTP(res, req)
	if res.status == 0 {
		res.status = http.StatusOK
	}
	return res
}

// relay sends the API's answer to target straight to the browser (a
// download), with the API's content type and disposition; an error answer
// becomes an error page instead.
func (p *Portal) relay(w http.ResponseWriter, r *http.Request, token, target, filename string) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, target, nil)
	if err != nil {
		p.fail(w, r, &problem{Status: http.StatusBadRequest, Code: "bad_request", Detail: "the request is not valid"})
		return
	}
	req.RemoteAddr, req.Host, req.TLS = r.RemoteAddr, r.Host, r.TLS
	req.Header.Set("X-Request-Id", requestID(r))
	req.Header.Set("Authorization", "Bearer "+token)
	rw := &relayWriter{w: w, filename: filename}
	p.api.ServeHTTP(rw, req)
	if rw.failed != nil {
		p.fail(w, r, rw.failed.problem())
	}
}

// relayWriter passes a 2xx answer through and keeps an error answer.
type relayWriter struct {
	w        http.ResponseWriter
	filename string
	header   http.Header
	started  bool
	failed   *apiResult
}

func (rw *relayWriter) Header() http.Header {
	if rw.header == nil {
		rw.header = http.Header{}
	}
	return rw.header
}

func (rw *relayWriter) WriteHeader(code int) {
	if rw.started || rw.failed != nil {
		return
	}
	if code >= 300 {
		rw.failed = &apiResult{status: code, header: rw.header, body: &bytes.Buffer{}}
		return
	}
	rw.started = true
	h := rw.w.Header()
	ct := rw.Header().Get("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 && strings.HasPrefix(ct, "application/json") {
		ct = ct[:i]
	}
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", `attachment; filename="`+rw.filename+`"`)
	rw.w.WriteHeader(code)
}

func (rw *relayWriter) Write(b []byte) (int, error) {
	if !rw.started && rw.failed == nil {
		rw.WriteHeader(http.StatusOK)
	}
	if rw.failed != nil {
		return rw.failed.body.Write(b)
	}
	return rw.w.Write(b)
}

func (rw *relayWriter) Flush() {
	if f, ok := rw.w.(http.Flusher); ok && rw.started {
		f.Flush()
	}
}
