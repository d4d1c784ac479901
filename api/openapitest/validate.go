// The validating transport: every request and response checked against
// the document, with the checks the document cannot express (unknown
// routes, Allow, problem+json).

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
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

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
