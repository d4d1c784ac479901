package domain

import (
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on input.
const (
	maxNameLen      = 200
	maxEmailLen     = 254
	minPasswordLen  = 10
	maxPasswordLen  = 1024
	maxIDLen        = 255
	maxAmount       = 1_000_000_000_000 // minor units
	maxQuantity     = 1_000_000
	maxRateBps      = 10_000
	maxRecurMonths  = 1200
	erasureByUser   = "request"
	erasureBySubEnd = "subscription_ended"
)

// NormalizeEmail returns the form of an e-mail address that uniqueness is
// decided on: trimmed and lower-cased.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// validEmail reports whether email is one plain address (no display name).
func validEmail(email string) bool {
	if email == "" || len(email) > maxEmailLen || strings.ContainsAny(email, " \t\r\n<>") {
		return false
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(email, '@')
	return at > 0 && at < len(email)-1
}

// validText reports whether s is non-empty (after trimming) and within max runes.
func validText(s string, max int) bool {
	s = strings.TrimSpace(s)
	return s != "" && utf8.ValidString(s) && utf8.RuneCountInString(s) <= max
}

// validID reports whether an external or internal id is usable.
func validID(s string) bool {
	return s != "" && len(s) <= maxIDLen && utf8.ValidString(s) && !strings.ContainsAny(s, "\x00\r\n")
}

// validCurrency reports whether c is an ISO 4217 code in lower case.
func validCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for _, r := range c {
		if r < 'a' || r > 'z' {
			return false
		}
	}
	return true
}

// validAmount reports whether a money amount is within bounds.
func validAmount(a int64) bool { return a >= 0 && a <= maxAmount }

// passwordProblem returns the field code for a bad password, or "".
func passwordProblem(pw string) string {
	n := utf8.RuneCountInString(pw)
	switch {
	case pw == "":
		return FieldRequired
	case n < minPasswordLen:
		return FieldTooShort
	case len(pw) > maxPasswordLen:
		return FieldTooLong
	}
	return ""
}

// utc returns t in UTC, keeping the zero time zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}
