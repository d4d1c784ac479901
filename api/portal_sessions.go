package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aseptsoft/subledger/domain"
)

// PortalLinkPath is where a portal link made for the store leads (opening
// it signs in); AffiliateLinkPath is where a mailed link leads (a page with
// a button that signs in, so that a mail scanner following the link does
// not spend it). The token follows as ?token=.
const (
	PortalLinkPath    = "/portal/link"
	AffiliateLinkPath = "/portal/sign-in/link"
)

type portalSessionRequest struct {
	AccountID *string `json:"account_id"`
	ReturnURL *string `json:"return_url"`
}

type portalSessionJSON struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// createPortalSession makes a single-use link to the customer's account
// page, valid 5 minutes, the way Stripe's billing portal sessions work. It
// is not recorded for Idempotency-Key: the answer holds the link's token,
// which is kept only as its hash.
func (s *Server) createPortalSession(c echo.Context) error {
	if s.cfg.NoPortal {
		return problem(http.StatusServiceUnavailable, "portal_unavailable", "the portal is turned off on this server")
	}
	var req portalSessionRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	var errs []domain.FieldError
	if req.AccountID == nil || *req.AccountID == "" {
		errs = append(errs, domain.FieldError{Field: "account_id", Code: domain.FieldRequired})
	}
	if req.ReturnURL != nil && !ValidReturnURL(*req.ReturnURL) {
		errs = append(errs, domain.FieldError{Field: "return_url", Code: domain.FieldInvalid})
	}
	if len(errs) > 0 {
		return &Problem{Status: http.StatusUnprocessableEntity, Code: domain.CodeValidationFailed, Detail: "the request has invalid fields", Errors: errs}
	}
	token, link, res, err := s.svc.IssuePortalLink(s.ctx(c), *req.AccountID)
	if err != nil {
		return err
	}
	s.wait(c, res.Position)
	u := s.portalBase(c.Request()) + PortalLinkPath + "?token=" + url.QueryEscape(token)
	if req.ReturnURL != nil && *req.ReturnURL != "" {
		u += "&return_url=" + url.QueryEscape(*req.ReturnURL)
	}
	// Not HTML-escaped: the link is meant to be copied as it stands (a
	// \u0026 in place of & would not survive that).
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	c.Response().WriteHeader(http.StatusCreated)
	enc := json.NewEncoder(c.Response())
	enc.SetEscapeHTML(false)
	return enc.Encode(portalSessionJSON{URL: u, ExpiresAt: link.ExpiresAt.UTC()})
}

// ValidReturnURL accepts an absolute http or https URL of at most 2048
// characters without user information.
func ValidReturnURL(s string) bool {
	if s == "" || len(s) > 2048 {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil
}

// portalBase is the portal's public origin: Config.PortalURL, else the
// request's own host.
func (s *Server) portalBase(r *http.Request) string {
	if s.cfg.PortalURL != "" {
		return strings.TrimRight(s.cfg.PortalURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// requestAffiliateLink answers 202 whether or not the address belongs to an
// affiliate; for each affiliate that has it (not erased), a single-use
// portal link valid 15 minutes goes out by mail, after the answer. Rate
// limited like password resets; 503 mail_unavailable without a mailer.
func (s *Server) requestAffiliateLink(c echo.Context) error {
	if s.cfg.NoPortal {
		return problem(http.StatusServiceUnavailable, "portal_unavailable", "the portal is turned off on this server")
	}
	var req resetRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := required(map[string]bool{"email": req.Email != nil}); err != nil {
		return err
	}
	if s.cfg.Mailer == nil {
		return problem(http.StatusServiceUnavailable, domain.CodeMailUnavailable, "mail is not configured on this server")
	}
	email := domain.NormalizeEmail(*req.Email)
	key := "affiliate:" + email
	if wait, ok := s.limits.allow(clientOf(c.Request()), key); !ok {
		return &Problem{Status: http.StatusTooManyRequests, Code: domain.CodeRateLimited, Detail: "too many requests; try again later", retryAfter: wait}
	}
	base := s.portalBase(c.Request())
	for _, a := range s.proj.View().AffiliatesByEmail(email) {
		s.limits.failed(key)
		ctx := context.WithoutCancel(s.ctx(c))
		rid := requestID(c)
		s.background.Add(1)
		go func() {
			defer s.background.Done()
			ctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			s.sendAffiliateLink(ctx, rid, base, a.ID, a.Email)
		}()
	}
	return c.JSON(http.StatusAccepted, acceptedJSON{Accepted: true})
}

// sendAffiliateLink makes a link for the affiliate and mails it.
func (s *Server) sendAffiliateLink(ctx context.Context, rid, base, affiliateID, to string) {
	token, _, _, err := s.svc.IssueAffiliateLink(ctx, affiliateID)
	if err != nil {
		s.log.Error("making an affiliate portal link failed", "request_id", rid, "error", err.Error())
		return
	}
	body := "To see your sales and commission reports, open this link within 15 minutes:\r\n\r\n" +
		base + AffiliateLinkPath + "?token=" + url.QueryEscape(token) + "\r\n\r\n" +
		"The link works once. If you did not ask for it, ignore this message.\r\n"
	if err := s.cfg.Mailer.Send(ctx, to, "Your affiliate reports", body); err != nil {
		s.log.Error("sending an affiliate portal link failed", "request_id", rid, "error", err.Error())
	}
}
