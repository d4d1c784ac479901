package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aseptsoft/subledger/domain"
)

// Problem is an RFC 9457 problem details body with subledger's stable code.
type Problem struct {
	Type      string              `json:"type"`
	Title     string              `json:"title"`
	Status    int                 `json:"status"`
	Detail    string              `json:"detail"`
	Code      string              `json:"code"`
	RequestID string              `json:"request_id,omitempty"`
	Errors    []domain.FieldError `json:"errors,omitempty"`

	retryAfter time.Duration
	allow      string
}

// kindStatus maps each domain error kind to its HTTP status: the one place
// where errors become statuses.
var kindStatus = [...]int{
	domain.KindInternal:        http.StatusInternalServerError,
	domain.KindInvalid:         http.StatusUnprocessableEntity,
	domain.KindMalformed:       http.StatusBadRequest,
	domain.KindNotFound:        http.StatusNotFound,
	domain.KindConflict:        http.StatusConflict,
	domain.KindForbidden:       http.StatusForbidden,
	domain.KindUnauthenticated: http.StatusUnauthorized,
	domain.KindTooLarge:        http.StatusRequestEntityTooLarge,
	domain.KindRateLimited:     http.StatusTooManyRequests,
	domain.KindUnavailable:     http.StatusServiceUnavailable,
	domain.KindUpstream:        http.StatusBadGateway,
}

// statusOf returns the HTTP status of a domain error kind.
func statusOf(k domain.Kind) int {
	if int(k) < len(kindStatus) {
		return kindStatus[k]
	}
	return http.StatusInternalServerError
}

// problemFor turns any error a handler returns into a problem. Domain
// errors keep their code and message (which never hold personal data);
// Echo's own errors (unknown route, wrong method, body too large) get the
// contract's codes; anything else is a 500 whose detail says nothing.
func problemFor(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	var de *domain.Error
	if errors.As(err, &de) {
		status := statusOf(de.Kind)
		detail := de.Message
		if de.Kind == domain.KindInternal {
			detail = "an internal error occurred"
		}
		return &Problem{Status: status, Code: de.Code, Detail: detail, Errors: de.Fields}
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return problem(http.StatusNotFound, domain.CodeNotFound, "no such route")
		case http.StatusMethodNotAllowed:
			return problem(http.StatusMethodNotAllowed, domain.CodeMethodNotAllowed, "the route does not take this method")
		case http.StatusRequestEntityTooLarge:
			return problem(http.StatusRequestEntityTooLarge, domain.CodeBodyTooLarge, "the request body is over 1 MiB")
		case http.StatusUnsupportedMediaType:
			return problem(http.StatusUnsupportedMediaType, domain.CodeUnsupportedMedia, "the body must be application/json")
		case http.StatusUnauthorized:
			return problem(http.StatusUnauthorized, domain.CodeUnauthenticated, "a valid bearer token is required")
		case http.StatusServiceUnavailable:
			return problem(http.StatusServiceUnavailable, "unavailable", "the server is busy; try again")
		}
		if he.Code >= 400 && he.Code < 500 {
			return problem(he.Code, domain.CodeBadRequest, http.StatusText(he.Code))
		}
	}
	return problem(http.StatusInternalServerError, domain.CodeInternal, "an internal error occurred")
}

// problem returns a problem with a status, code and detail.
func problem(status int, code, detail string) *Problem {
	return &Problem{Status: status, Code: code, Detail: detail}
}

// Error implements error, so that handlers can return a problem.
func (p *Problem) Error() string { return p.Code + ": " + p.Detail }

// Common problems.
var (
	errUnauthenticated = func() *Problem {
		return problem(http.StatusUnauthorized, domain.CodeUnauthenticated, "a valid bearer token is required")
	}
	errForbidden = func() *Problem {
		return problem(http.StatusForbidden, domain.CodeForbidden, "this token may not do that")
	}
	errNotFound = func(what string) *Problem {
		return problem(http.StatusNotFound, domain.CodeNotFound, what+" not found")
	}
	errMalformed = func(detail string) *Problem {
		return problem(http.StatusBadRequest, domain.CodeMalformedJSON, detail)
	}
)

// writeProblem sends p as application/problem+json.
func writeProblem(c echo.Context, p *Problem) error {
	if p.Type == "" {
		p.Type = "https://subledger.dev/problems/" + p.Code
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	p.RequestID = requestID(c)
	h := c.Response().Header()
	if p.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((p.retryAfter+time.Second-1)/time.Second)))
	}
	if p.allow != "" {
		h.Set("Allow", p.allow)
	}
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return c.Blob(p.Status, "application/problem+json", body)
}
