package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aseptsoft/subledger/domain"
)

// maxBody is the body limit of every route (the BodyLimit middleware
// answers 413 above it).
const maxBody = 1 << 20

// readBody reads the request body into one buffer of its Content-Length
// (within the body limit), rather than growing one as io.ReadAll does; the
// server reads no further than Content-Length.
func readBody(c echo.Context) ([]byte, error) {
	r := c.Request()
	if n := r.ContentLength; n > 0 && n <= maxBody {
		buf := make([]byte, n)
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	return io.ReadAll(r.Body)
}

// decode reads a JSON object body into v: 415 for a body that is not
// application/json, 400 malformed_json for one that does not parse (or is
// not one object), 422 validation_failed naming the field of a value of
// the wrong type, 413 over the body limit. Unknown fields are ignored.
func decode(c echo.Context, v any) error {
	if ct := c.Request().Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !(len(mt) > 5 && mt[len(mt)-5:] == "+json")) {
			return problem(http.StatusUnsupportedMediaType, domain.CodeUnsupportedMedia, "the body must be application/json")
		}
	}
	body, err := readBody(c)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return he
		}
		return errMalformed("the body could not be read")
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return errMalformed("the body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := te.Field
			if field == "" {
				field = "body"
			}
			return &Problem{Status: http.StatusUnprocessableEntity, Code: domain.CodeValidationFailed, Detail: "a field has the wrong type",
				Errors: []domain.FieldError{{Field: field, Code: domain.FieldInvalid}}}
		}
		return errMalformed("the body is not valid JSON")
	}
	if dec.More() {
		return errMalformed("the body holds more than one JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errMalformed("the body holds more than one JSON value")
	}
	return nil
}

// required names the fields a body lacks (422).
func required(fields map[string]bool) error {
	var errs []domain.FieldError
	for _, f := range []string{"name", "email", "password", "current_password", "new_password", "token"} {
		if present, asked := fields[f]; asked && !present {
			errs = append(errs, domain.FieldError{Field: f, Code: domain.FieldRequired})
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &Problem{Status: http.StatusUnprocessableEntity, Code: domain.CodeValidationFailed, Detail: "the request has invalid fields", Errors: errs}
}

// timeOrNil returns t in RFC 3339 UTC, or nil when zero.
func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// strOrNil returns s, or nil when empty (a personal field after erasure).
func strOrNil(s string, erased bool) *string {
	if erased {
		return nil
	}
	return &s
}

// page returns the limit and cursor query parameters: limit 1..500
// (default 50), 400 otherwise.
func page(c echo.Context) (int, string, error) {
	limit := 50
	if s := c.QueryParam("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			return 0, "", problem(http.StatusBadRequest, domain.CodeBadRequest, "limit must be an integer from 1 to 500")
		}
		limit = n
	}
	cursor := c.QueryParam("cursor")
	if len(cursor) > 512 {
		return 0, "", errBadCursor()
	}
	return limit, cursor, nil
}

func errBadCursor() *Problem {
	return problem(http.StatusBadRequest, domain.CodeBadRequest, "the cursor is not one this server returned")
}

// list is the shape of every list.
type list[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor"`
}
