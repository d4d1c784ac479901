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
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
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
