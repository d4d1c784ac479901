package domain

import (
	"errors"
	"fmt"
)

// Kind is the class of an error. The set is closed: the API maps each kind
// to one HTTP status in one place.
type Kind uint8

// The kinds of error.
const (
	// KindInternal is a failure that is not the caller's fault.
	KindInternal Kind = iota
	// KindInvalid is input that fails validation (HTTP 422).
	KindInvalid
	// KindMalformed is input that cannot be parsed at all (HTTP 400).
	KindMalformed
	// KindNotFound is a missing resource (HTTP 404).
	KindNotFound
	// KindConflict is a request that contradicts the current state (HTTP 409).
	KindConflict
	// KindForbidden is a known caller asking for something it may not do (HTTP 403).
	KindForbidden
	// KindUnauthenticated is a caller without valid credentials (HTTP 401).
	KindUnauthenticated
	// KindTooLarge is a request body over the limit (HTTP 413).
	KindTooLarge
	// KindRateLimited is a caller that must slow down (HTTP 429).
	KindRateLimited
	// KindUnavailable is a dependency that is not configured or not reachable (HTTP 503).
	KindUnavailable
	// KindUpstream is a service we call (Stripe) that failed (HTTP 502).
	KindUpstream
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindMalformed:
		return "malformed"
	case KindNotFound:
		return "not_found"
	case KindConflict:
		return "conflict"
	case KindForbidden:
		return "forbidden"
	case KindUnauthenticated:
		return "unauthenticated"
	case KindTooLarge:
		return "too_large"
	case KindRateLimited:
		return "rate_limited"
	case KindUnavailable:
		return "unavailable"
	case KindUpstream:
		return "upstream"
	default:
		return "internal"
	}
}

// Stable error codes. They are part of the API contract and never change.
const (
	CodeInternal             = "internal"
	CodeValidationFailed     = "validation_failed"
	CodeMalformedJSON        = "malformed_json"
	CodeBodyTooLarge         = "body_too_large"
	CodeNotFound             = "not_found"
	CodeConflict             = "conflict"
	CodeForbidden            = "forbidden"
	CodeUnauthenticated      = "unauthenticated"
	CodeRateLimited          = "rate_limited"
	CodeEmailTaken           = "email_taken"
	CodeUnknownProduct       = "unknown_product"
	CodeUnknownAffiliateCode = "unknown_affiliate_code"
	CodeInvalidCredentials   = "invalid_credentials"
	CodeInvalidToken         = "invalid_token"
	CodeAccountClosed        = "account_closed"
	CodeAccountErased        = "account_erased"
	CodeSubscriptionEnded    = "subscription_ended"
	CodePeriodOver           = "period_over"
	CodeCommissionNotDue     = "commission_not_due"
	CodeErasureNotDue        = "erasure_not_due"
	CodeIdempotencyKeyReused = "idempotency_key_reused"
	CodeMailUnavailable      = "mail_unavailable"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeUnsupportedMedia     = "unsupported_media_type"
	CodeBadRequest           = "bad_request"
	CodeInvalidSignature     = "invalid_signature"
	CodeMalformedEvent       = "malformed_event"
	CodeStripeUnavailable    = "stripe_unavailable"
)

// Field-level validation codes, used in FieldError.Code.
const (
	FieldRequired = "required"
	FieldInvalid  = "invalid"
	FieldTooShort = "too_short"
	FieldTooLong  = "too_long"
	FieldRange    = "out_of_range"
)

// FieldError names one field that failed validation and why.
type FieldError struct {
	Field string `json:"field"`
	Code  string `json:"code"`
}

// Error is the one error type of the domain. Message never contains personal
// data, so it may be logged.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Fields  []FieldError
	Err     error
}

// Error returns the message with the code.
func (e *Error) Error() string {
	msg := e.Code
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying error, if any.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of the given kind and code with a formatted message.
func Errorf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorKind returns the kind of err, or KindInternal when err is not an *Error.
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// ErrorCode returns the code of err, or CodeInternal when err is not an *Error.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// validator collects field errors for one command.
type validator struct {
	fields []FieldError
}

// check records a field error when ok is false.
func (v *validator) check(ok bool, field, code string) {
	if !ok {
		v.fields = append(v.fields, FieldError{Field: field, Code: code})
	}
}

// err returns a validation_failed error when any check failed.
func (v *validator) err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &Error{Kind: KindInvalid, Code: CodeValidationFailed, Message: "the request has invalid fields", Fields: v.fields}
}

// notFound is the error of a missing resource, named by what.
func notFound(what string) *Error {
	return Errorf(KindNotFound, CodeNotFound, "%s not found", what)
}
