package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/projections"
)

// accountJSON is the account of the contract; personal fields are null
// once the account is erased.
type accountJSON struct {
	ID                 string     `json:"id"`
	Status             string     `json:"status"`
	Name               *string    `json:"name"`
	Company            *string    `json:"company"`
	Email              *string    `json:"email"`
	MarketingConsent   bool       `json:"marketing_consent"`
	MarketingConsentAt *time.Time `json:"marketing_consent_at"`
	CreatedAt          time.Time  `json:"created_at"`
	UpdatedAt          time.Time  `json:"updated_at"`
	ErasedAt           *time.Time `json:"erased_at"`
}

func accountFromView(a projections.Account) accountJSON {
	return newAccountJSON(a.ID, a.Status, a.Name, a.Company, a.Email, a.MarketingConsent, a.MarketingConsentAt, a.CreatedAt, a.UpdatedAt, a.ErasedAt)
}

func accountFromDomain(a *domain.Account) accountJSON {
	return newAccountJSON(a.ID, a.Status, a.Name, a.Company, a.Email, a.MarketingConsent, a.MarketingConsentAt, a.CreatedAt, a.UpdatedAt, a.ErasedAt)
}

func newAccountJSON(id string, status domain.AccountStatus, name, company, email string, consent bool, consentAt, created, updated, erasedAt time.Time) accountJSON {
	erased := status == domain.AccountStatusErased
	return accountJSON{ID: id, Status: string(status), Name: strOrNil(name, erased), Company: strOrNil(company, erased),
		Email: strOrNil(email, erased), MarketingConsent: consent, MarketingConsentAt: timeOrNil(consentAt),
		CreatedAt: created.UTC(), UpdatedAt: updated.UTC(), ErasedAt: timeOrNil(erasedAt)}
}

type newAccountRequest struct {
	Name             *string `json:"name"`
	Company          *string `json:"company"`
	Email            *string `json:"email"`
	Password         *string `json:"password"`
	MarketingConsent *bool   `json:"marketing_consent"`
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func (s *Server) createAccount(c echo.Context) error {
	var req newAccountRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	acc, res, err := s.svc.RegisterAccount(s.ctx(c), domain.RegisterAccount{
		Name: deref(req.Name), Company: deref(req.Company), Email: deref(req.Email),
		Password: deref(req.Password), MarketingConsent: deref(req.MarketingConsent),
	})
	if err != nil {
		return err
	}
	setSubject(c, acc.ID)
	s.wait(c, res.Position)
	c.Response().Header().Set(echo.HeaderLocation, "/v1/accounts/"+acc.ID)
	return c.JSON(http.StatusCreated, accountFromDomain(acc))
}

func (s *Server) getAccount(c echo.Context) error {
	id, err := accountParam(c)
	if err != nil {
		return err
	}
	a, ok := s.proj.View().Account(id)
	if !ok {
		return errNotFound("account")
	}
	return c.JSON(http.StatusOK, accountFromView(a))
}

type patchAccountRequest struct {
	Name             *string `json:"name"`
	Company          *string `json:"company"`
	Email            *string `json:"email"`
	MarketingConsent *bool   `json:"marketing_consent"`
}

func (s *Server) patchAccount(c echo.Context) error {
	id, err := accountParam(c)
	if err != nil {
		return err
	}
	var req patchAccountRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	ctx := s.ctx(c)
	var acc *domain.Account
	var pos uint64
	if req.Name != nil || req.Company != nil || req.Email != nil {
		a, res, err := s.svc.ChangeAccountDetails(ctx, domain.ChangeAccountDetails{AccountID: id, Name: req.Name, Company: req.Company, Email: req.Email})
		if err != nil {
			return err
		}
		acc, pos = a, res.Position
	}
	if req.MarketingConsent != nil {
		a, res, err := s.svc.SetMarketingConsent(ctx, domain.SetMarketingConsent{AccountID: id, Given: *req.MarketingConsent})
		if err != nil {
			return err
		}
		acc, pos = a, max(pos, res.Position)
	}
	if acc == nil {
		if acc, err = s.svc.Account(ctx, id); err != nil {
			return err
		}
	}
	s.wait(c, pos)
	return c.JSON(http.StatusOK, accountFromDomain(acc))
}

type passwordRequest struct {
	CurrentPassword *string `json:"current_password"`
	NewPassword     *string `json:"new_password"`
}

// setPassword sets a new password. A customer must give the current one;
// the store and admins need not (they authenticated the person their own
// way). Every session of the account ends, the caller's own included.
func (s *Server) setPassword(c echo.Context) error {
	id, err := accountParam(c)
	if err != nil {
		return err
	}
	var req passwordRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	customer := principalOf(c).role == RoleCustomer
	if err := required(map[string]bool{"new_password": req.NewPassword != nil, "current_password": req.CurrentPassword != nil || !customer}); err != nil {
		return err
	}
	// Guesses of the current password through a session are limited like
	// failed sign-ins, per account.
	limitKey := "account:" + id
	if customer {
		if wait, ok := s.limits.allow(clientOf(c.Request()), limitKey); !ok {
			return &Problem{Status: http.StatusTooManyRequests, Code: domain.CodeRateLimited, Detail: "too many attempts; try again later", retryAfter: wait}
		}
	}
	_, res, err := s.svc.SetPassword(s.ctx(c), domain.SetPassword{AccountID: id, NewPassword: *req.NewPassword,
		CurrentPassword: deref(req.CurrentPassword), CheckCurrent: customer})
	if err != nil {
		if customer && domain.ErrorCode(err) == domain.CodeInvalidCredentials {
			s.limits.failed(limitKey)
		}
		return err
	}
	s.wait(c, res.Position)
	return c.NoContent(http.StatusNoContent)
}

type erasureJSON struct {
	ID       string    `json:"id"`
	Status   string    `json:"status"`
	ErasedAt time.Time `json:"erased_at"`
}

// eraseAccount erases the account now: whatever must be read before the
// key is gone is read (BeforeErasure: the Stripe calls), the erasure is
// recorded, and the key is shredded. Repeating it answers the same.
func (s *Server) eraseAccount(c echo.Context) error {
	id, err := accountParam(c)
	if err != nil {
		return err
	}
	ctx := s.ctx(c)
	cur, err := s.svc.Account(ctx, id)
	if err != nil {
		return err
	}
	if cur.Status != domain.AccountStatusErased && s.cfg.BeforeErasure != nil {
		if err := s.cfg.BeforeErasure(ctx, cur); err != nil {
			return err
		}
	}
	acc, res, err := s.svc.RequestErasure(ctx, domain.RequestErasure{AccountID: id})
	if err != nil {
		return err
	}
	if err := s.cfg.Shred(ctx, id); err != nil {
		// The erasure is recorded; the jobs shred the key on their next
		// round. The caller learns that it has not completed.
		s.log.Error("shredding an erased account's keys failed; the jobs will retry", "request_id", requestID(c), "account_id", id, "error", err.Error())
		return err
	}
	if cur.Status != domain.AccountStatusErased {
		s.metrics.erasures.Inc()
	}
	s.wait(c, res.Position)
	return c.JSON(http.StatusOK, erasureJSON{ID: acc.ID, Status: string(acc.Status), ErasedAt: acc.ErasedAt.UTC()})
}
