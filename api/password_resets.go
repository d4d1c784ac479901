package api

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aseptsoft/subledger/domain"
)

type resetRequest struct {
	Email *string `json:"email"`
}

type acceptedJSON struct {
	Accepted bool `json:"accepted"`
}

// requestPasswordReset answers 202 whether or not the address belongs to
// an account; when it belongs to an active one, a single-use token valid
// for an hour goes out by mail. Without a mailer it is 503
// mail_unavailable. Requests are rate limited like sign-ins, so the
// endpoint cannot be used to flood a mailbox. The mail goes out after the
// answer; a failure to send is logged (without the address).
func (s *Server) requestPasswordReset(c echo.Context) error {
	var req resetRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := required(map[string]bool{"email": req.Email != nil}); err != nil {
		return err
	}
	if s.cfg.Mailer == nil {
		return problem(http.StatusServiceUnavailable, domain.CodeMailUnavailable, "password-reset mail is not configured on this server")
	}
	email := domain.NormalizeEmail(*req.Email)
	if wait, ok := s.limits.allow(clientOf(c.Request()), email); !ok {
		return &Problem{Status: http.StatusTooManyRequests, Code: domain.CodeRateLimited, Detail: "too many requests; try again later", retryAfter: wait}
	}
	if a, ok := s.proj.View().AccountByEmail(email); ok && a.Status == domain.AccountStatusActive {
		// A mailed token counts against the address like a failed sign-in.
		s.limits.failed(email)
		// The token is made and mailed after the answer, so that the answer
		// takes as long whether or not the address exists.
		ctx := context.WithoutCancel(s.ctx(c))
		rid := requestID(c)
		s.background.Add(1)
		go func() {
			defer s.background.Done()
			ctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			s.sendReset(ctx, rid, a.ID, a.Email)
		}()
	}
	return c.JSON(http.StatusAccepted, acceptedJSON{Accepted: true})
}

// sendReset makes a reset token for the account and mails it.
func (s *Server) sendReset(ctx context.Context, rid, accountID, to string) {
	token, _, err := s.svc.RequestPasswordReset(ctx, accountID)
	if err != nil {
		s.log.Error("making a password-reset token failed", "request_id", rid, "error", err.Error())
		return
	}
	body := "Someone asked to reset the password of your account.\r\n\r\n"
	if s.cfg.ResetURL != "" {
		body += "To choose a new password, open this link within one hour:\r\n\r\n" + s.cfg.ResetURL + token + "\r\n\r\n"
	} else {
		body += "Your reset code, valid for one hour and usable once:\r\n\r\n" + token + "\r\n\r\n"
	}
	body += "If it was not you, ignore this message: your password stays as it is.\r\n"
	if err := s.cfg.Mailer.Send(ctx, to, "Reset your password", body); err != nil {
		s.log.Error("sending a password-reset mail failed", "request_id", rid, "error", err.Error())
	}
}

type resetConfirmRequest struct {
	Token       *string `json:"token"`
	NewPassword *string `json:"new_password"`
}

// confirmPasswordReset spends the token and sets the new password; every
// session of the account ends.
func (s *Server) confirmPasswordReset(c echo.Context) error {
	var req resetConfirmRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := required(map[string]bool{"token": req.Token != nil, "new_password": req.NewPassword != nil}); err != nil {
		return err
	}
	acc, res, err := s.svc.ConfirmPasswordReset(s.ctx(c), *req.Token, *req.NewPassword)
	if err != nil {
		return err
	}
	setSubject(c, acc.ID)
	s.wait(c, res.Position)
	return c.NoContent(http.StatusNoContent)
}
