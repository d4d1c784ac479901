// Package openapitest checks HTTP traffic against subledger's OpenAPI
// document (api/openapi.json) with kin-openapi.
//
// A Validator wraps an http.RoundTripper. For every request it finds the
// documented operation, checks the request's path, query, headers, bearer
// token presence and Content-Type (not the body's schema: tests send bad
// bodies on purpose), sends it, then checks the response strictly: the
// status must be documented (a success status explicitly, an error one at
// least by the operation's default response), and the headers, content type
// and body must match. Every discrepancy is reported with t.Errorf; the
// transport itself only fails when the underlying transport does.
//
// A request that the document rejects (say, limit=0 or a missing bearer
// token) is reported only when the server accepts it (status below 400):
// rejecting it is exactly what the server should do. A request to a route or
// method the document does not have is reported unless the server answers
// 404 or 405 with a valid problem (a 405 also needs an Allow header listing
// every documented method of the path).
//
// The package does not import the api package: it reads the document from
// the module's source tree (see DocPath).
package openapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// DocFile is the document's path relative to the module root.
const DocFile = "api/openapi.json"

// DocPath returns the absolute path of api/openapi.json: it walks up from
// the working directory to the first directory holding both a go.mod and
// the document, and falls back to the location of this source file.
func DocPath() (string, error) {
	rel := filepath.FromSlash(DocFile)
	if dir, err := os.Getwd(); err == nil {
		for {
			if isFile(filepath.Join(dir, "go.mod")) && isFile(filepath.Join(dir, rel)) {
				return filepath.Join(dir, rel), nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		// file is <root>/api/openapitest/openapitest.go.
		p := filepath.Join(filepath.Dir(file), "..", "openapi.json")
		if isFile(p) {
			return filepath.Clean(p), nil
		}
	}
	return "", errors.New("openapitest: no go.mod with " + DocFile + " above the working directory")
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// Load reads, resolves and validates the OpenAPI document at path.
func Load(path string) (*openapi3.T, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("openapitest: %w", err)
	}
	return Parse(data)
}

// LoadDoc loads and validates api/openapi.json (see DocPath).
func LoadDoc() (*openapi3.T, error) {
	p, err := DocPath()
	if err != nil {
		return nil, err
	}
	return Load(p)
}

// Parse resolves and validates an OpenAPI document given as JSON (or YAML).
//
// kin-openapi v0.153.0 needs no option for OpenAPI 3.1: T.Validate turns on
// its 3.1 rules (type arrays such as ["string", "null"], const, numeric
// exclusive bounds) when the document's openapi field is 3.1.x, and
// openapi3filter validates 3.1 documents with the JSON Schema 2020-12
// validator, where only a "null" in type admits null.
func Parse(data []byte) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("openapitest: loading the document: %w", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		return nil, fmt.Errorf("openapitest: the document is OpenAPI %q, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("openapitest: invalid document: %w", err)
	}
	return doc, nil
}

// Validator checks traffic against the document and records which
// operations and responses it saw. It is safe for concurrent use.
type Validator struct {
	t     testing.TB
	state *state
}

// state is shared by a Validator and the views ReportTo makes of it.
type state struct {
	doc     *openapi3.T
	router  routers.Router
	problem *openapi3.Schema

	mu        sync.Mutex
	ops       map[string]bool // "METHOD /template" -> seen
	responses map[string]bool // "METHOD /template STATUS" -> seen ("default" excluded)
}

// New loads api/openapi.json and returns a Validator that reports to t. It
// stops the test when the document does not load or validate.
func New(t testing.TB) *Validator {
	t.Helper()
	doc, err := LoadDoc()
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewFromDoc(t, doc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// NewFromDoc returns a Validator for an already loaded, validated document.
// It takes the document over: its servers are cleared, so that requests
// match on their path whatever their scheme, host and port.
func NewFromDoc(t testing.TB, doc *openapi3.T) (*Validator, error) {
	// With no servers the router matches paths on any host, which is what a
	// test server on 127.0.0.1:<random port> needs.
	doc.Servers = nil
	for _, item := range doc.Paths.Map() {
		item.Servers = nil
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("openapitest: building the router: %w", err)
	}
	var problem *openapi3.Schema
	if doc.Components != nil {
		if ref := doc.Components.Schemas["Problem"]; ref != nil {
			problem = ref.Value
		}
	}
	if problem == nil {
		return nil, errors.New("openapitest: the document has no components.schemas.Problem")
	}
	s := &state{
		doc:       doc,
		router:    router,
		problem:   problem,
		ops:       make(map[string]bool),
		responses: make(map[string]bool),
	}
	for _, path := range doc.Paths.InMatchingOrder() {
		for method, op := range doc.Paths.Value(path).Operations() {
			key := opKey(method, path)
			s.ops[key] = false
			for code := range op.Responses.Map() {
				if code != "default" {
					s.responses[key+" "+code] = false
				}
			}
		}
	}
	return &Validator{t: t, state: s}, nil
}

// Doc returns the document.
func (v *Validator) Doc() *openapi3.T { return v.state.doc }

// ReportTo returns a view of v that reports to t; it shares v's document
// and coverage. Use it to hand a Validator made once (for a whole package)
// to each subtest.
func (v *Validator) ReportTo(t testing.TB) *Validator { return &Validator{t: t, state: v.state} }

// Client returns an HTTP client whose transport is v.Transport(nil).
func (v *Validator) Client() *http.Client { return &http.Client{Transport: v.Transport(nil)} }

// Transport returns a RoundTripper that sends requests through base
// (http.DefaultTransport when nil) and checks each exchange against the
// document. The response body is read in full and handed back unread.
func (v *Validator) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{v: v, base: base}
}

// Operations returns every documented operation, as "METHOD /path/{template}", sorted.
func (v *Validator) Operations() []string {
	v.state.mu.Lock()
	defer v.state.mu.Unlock()
	return sortedKeys(v.state.ops, func(bool) bool { return true })
}

// Covered returns, for every documented operation ("METHOD
// /path/{template}"), whether a request matched it.
func (v *Validator) Covered() map[string]bool {
	v.state.mu.Lock()
	defer v.state.mu.Unlock()
	out := make(map[string]bool, len(v.state.ops))
	for k, seen := range v.state.ops {
		out[k] = seen
	}
	return out
}

// Uncovered returns the documented operations no request matched, sorted.
func (v *Validator) Uncovered() []string {
	v.state.mu.Lock()
	defer v.state.mu.Unlock()
	return sortedKeys(v.state.ops, func(seen bool) bool { return !seen })
}

// UncoveredResponses returns the documented responses of each operation
// (other than default) that no exchange produced, as "METHOD
// /path/{template} STATUS", sorted.
func (v *Validator) UncoveredResponses() []string {
	v.state.mu.Lock()
	defer v.state.mu.Unlock()
	return sortedKeys(v.state.responses, func(seen bool) bool { return !seen })
}

func sortedKeys(m map[string]bool, keep func(bool) bool) []string {
	out := []string{}
	for k, val := range m {
		if keep(val) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func opKey(method, path string) string { return strings.ToUpper(method) + " " + path }

func (s *state) record(op, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ops[op] = true
	if _, ok := s.responses[op+" "+status]; ok {
		s.responses[op+" "+status] = true
	}
}

type transport struct {
	v    *Validator
	base http.RoundTripper
}

var requestOptions = func() *openapi3filter.Options {
	o := &openapi3filter.Options{
		// Tests send bad bodies on purpose; the server's own 400/422 answers
		// are checked as responses.
		ExcludeRequestBody: true,
		// Never write defaults into the request that is actually sent.
		SkipSettingDefaults: true,
		MultiError:          true,
		AuthenticationFunc:  authenticate,
	}
	o.WithCustomSchemaErrorFunc(schemaErrorMessage)
	return o
}()

var responseOptions = func() *openapi3filter.Options {
	o := &openapi3filter.Options{
		IncludeResponseStatus: true,
		MultiError:            true,
	}
	o.WithCustomSchemaErrorFunc(schemaErrorMessage)
	return o
}()

// schemaErrorMessage makes a schema error one line: where, why, and the
// offending value (shortened), rather than kin-openapi's dump of the whole
// schema and value.
func schemaErrorMessage(err *openapi3.SchemaError) string {
	var b strings.Builder
	if p := err.JSONPointer(); len(p) > 0 {
		b.WriteString("at /" + strings.Join(p, "/") + ": ")
	}
	reason := err.Reason
	if reason == "" {
		reason = "does not match schema keyword " + strconv.Quote(err.SchemaField)
	}
	b.WriteString(reason)
	if v, jerr := json.Marshal(err.Value); jerr == nil {
		const max = 160
		if len(v) > max {
			v = append(v[:max:max], "..."...)
		}
		b.WriteString(" (value: " + string(v) + ")")
	}
	return b.String()
}

// authenticate checks that the credentials a security scheme asks for are
// present; whether they are valid is the server's business.
func authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	s := in.SecurityScheme
	if s != nil && s.Type == "http" && strings.EqualFold(s.Scheme, "bearer") {
		h := in.RequestValidationInput.Request.Header.Get("Authorization")
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			return errors.New("no bearer token in the Authorization header")
		}
		return nil
	}
	return fmt.Errorf("security scheme %q is not supported by openapitest", in.SecuritySchemeName)
}

func (rt *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	v := rt.v
	s := v.state
	ctx := context.WithoutCancel(req.Context())

	route, pathParams, routeErr := s.router.FindRoute(req)
	var reqInput *openapi3filter.RequestValidationInput
	var reqErr error
	if routeErr == nil {
		clone := req.Clone(ctx)
		clone.Body = http.NoBody
		reqInput = &openapi3filter.RequestValidationInput{
			Request:    clone,
			PathParams: pathParams,
			Route:      route,
			Options:    requestOptions,
		}
		reqErr = errors.Join(
			openapi3filter.ValidateRequest(ctx, reqInput),
			checkRequestBody(req, route.Operation),
		)
	}

	res, err := rt.base.RoundTrip(req)
	if err != nil {
		return res, err
	}
	data, readErr := io.ReadAll(res.Body)
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(data))

	where := fmt.Sprintf("%s %s -> %d", req.Method, req.URL.RequestURI(), res.StatusCode)
	if readErr != nil {
		v.t.Errorf("openapitest: %s: reading the response body: %v", where, readErr)
		return res, nil
	}

	if routeErr != nil {
		if err := s.checkUnknownRoute(req, res, data, routeErr); err != nil {
			v.t.Errorf("openapitest: %s: %v", where, err)
		}
		return res, nil
	}

	key := opKey(req.Method, route.Path)
	s.record(key, strconv.Itoa(res.StatusCode))
	where = fmt.Sprintf("%s (%s)", where, key)

	if reqErr != nil && res.StatusCode < 400 {
		v.t.Errorf("openapitest: %s: the server accepted a request the document rejects: %v", where, reqErr)
	}
	if res.StatusCode < 400 && route.Operation.Responses.Status(res.StatusCode) == nil {
		v.t.Errorf("openapitest: %s: success status %d is not documented (only the default response covers it)", where, res.StatusCode)
	}
	resInput := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: reqInput,
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(data)),
		Options:                responseOptions,
	}
	if err := openapi3filter.ValidateResponse(ctx, resInput); err != nil {
		v.t.Errorf("openapitest: %s: %v", where, err)
	}
	if isProblem(res.Header) {
		if err := checkProblemStatus(data, res.StatusCode); err != nil {
			v.t.Errorf("openapitest: %s: %v", where, err)
		}
	}
	return res, nil
}

// checkRequestBody checks what ExcludeRequestBody leaves out but for the
// schema: a required body is present, and its Content-Type is documented.
func checkRequestBody(req *http.Request, op *openapi3.Operation) error {
	if op.RequestBody == nil || op.RequestBody.Value == nil {
		return nil
	}
	rb := op.RequestBody.Value
	if req.Body == nil || req.Body == http.NoBody {
		if rb.Required {
			return errors.New("request body is required but missing")
		}
		return nil
	}
	ct := req.Header.Get("Content-Type")
	if rb.Content.Get(ct) == nil {
		return fmt.Errorf("request Content-Type %q is not documented", ct)
	}
	return nil
}

// checkUnknownRoute accepts a request to an undocumented route or method
// only when answered by a 404 or 405 problem.
func (s *state) checkUnknownRoute(req *http.Request, res *http.Response, data []byte, routeErr error) error {
	if res.StatusCode != http.StatusNotFound && res.StatusCode != http.StatusMethodNotAllowed {
		return fmt.Errorf("undocumented operation (%v), answered %d rather than a 404 or 405 problem", routeErr, res.StatusCode)
	}
	var errs []error
	if res.StatusCode == http.StatusMethodNotAllowed {
		errs = append(errs, s.checkAllow(req, res))
	}
	if req.Method == http.MethodHead {
		return errors.Join(errs...)
	}
	if !isProblem(res.Header) {
		errs = append(errs, fmt.Errorf("undocumented operation (%v): Content-Type %q, want application/problem+json", routeErr, res.Header.Get("Content-Type")))
		return errors.Join(errs...)
	}
	value, err := decodeJSON(data, res.Header)
	if err != nil {
		errs = append(errs, fmt.Errorf("undocumented operation: decoding the problem: %w", err))
		return errors.Join(errs...)
	}
	if err := s.problem.VisitJSON(value, openapi3.EnableJSONSchema2020(), openapi3.VisitAsResponse(), openapi3.MultiErrors(),
		openapi3.SetSchemaErrorMessageCustomizer(schemaErrorMessage)); err != nil {
		errs = append(errs, fmt.Errorf("undocumented operation: the body is not a Problem: %w", err))
	}
	errs = append(errs, checkProblemStatus(data, res.StatusCode))
	return errors.Join(errs...)
}

// checkAllow checks that a 405 carries an Allow header and, for a
// documented path, that it names every documented method of the path.
func (s *state) checkAllow(req *http.Request, res *http.Response) error {
	allow := strings.Join(res.Header.Values("Allow"), ",")
	if strings.TrimSpace(allow) == "" {
		return errors.New("405 without an Allow header")
	}
	got := map[string]bool{}
	for m := range strings.SplitSeq(allow, ",") {
		got[strings.ToUpper(strings.TrimSpace(m))] = true
	}
	// Find the documented path by trying its methods on the same URL.
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := req.Clone(context.Background())
		probe.Method = m
		probe.Body = http.NoBody
		route, _, err := s.router.FindRoute(probe)
		if err != nil {
			continue
		}
		var missing []string
		for method := range route.PathItem.Operations() {
			if !got[strings.ToUpper(method)] {
				missing = append(missing, strings.ToUpper(method))
			}
		}
		if len(missing) > 0 {
			slices.Sort(missing)
			return fmt.Errorf("the Allow header %q lacks documented method(s) %s of %s", allow, strings.Join(missing, ", "), route.Path)
		}
		return nil
	}
	return nil
}

func isProblem(h http.Header) bool {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	return err == nil && mt == "application/problem+json"
}

func decodeJSON(data []byte, h http.Header) (any, error) {
	dec := openapi3filter.RegisteredBodyDecoder("application/json")
	if dec == nil {
		return nil, errors.New("no JSON body decoder registered")
	}
	return dec(bytes.NewReader(data), h, nil, nil)
}

// checkProblemStatus checks that a problem's status member repeats the
// HTTP status.
func checkProblemStatus(data []byte, status int) error {
	var p struct {
		Status *json.Number `json:"status"`
	}
	if err := json.Unmarshal(data, &p); err != nil || p.Status == nil {
		return nil // the schema check reports it
	}
	if p.Status.String() != strconv.Itoa(status) {
		return fmt.Errorf("problem status %s differs from the HTTP status %d", p.Status, status)
	}
	return nil
}
