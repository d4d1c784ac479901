package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/projections"
)

type licenseJSON struct {
	ID          string    `json:"id"`
	AccountID   string    `json:"account_id"`
	ProductID   string    `json:"product_id"`
	Quantity    int       `json:"quantity"`
	Status      string    `json:"status"`
	LicenseKey  *string   `json:"license_key"`
	Amount      int64     `json:"amount"`
	Currency    string    `json:"currency"`
	PurchasedAt time.Time `json:"purchased_at"`
}

func licenseFrom(l projections.License) licenseJSON {
	out := licenseJSON{ID: l.ID, AccountID: l.AccountID, ProductID: l.ProductID, Quantity: l.Quantity, Status: string(l.Status),
		Amount: l.Amount, Currency: l.Currency, PurchasedAt: l.PurchasedAt.UTC()}
	if l.Key != "" {
		out.LicenseKey = &l.Key
	}
	return out
}

type subscriptionJSON struct {
	ID                string     `json:"id"`
	AccountID         string     `json:"account_id"`
	ProductID         string     `json:"product_id"`
	Status            string     `json:"status"`
	CancelAtPeriodEnd bool       `json:"cancel_at_period_end"`
	CurrentPeriodEnd  *time.Time `json:"current_period_end"`
	Amount            int64      `json:"amount"`
	Currency          string     `json:"currency"`
	StartedAt         *time.Time `json:"started_at"`
	EndedAt           *time.Time `json:"ended_at,omitempty"`
}

func subscriptionFrom(s projections.Subscription) subscriptionJSON {
	return subscriptionJSONOf(s.ID, s.SubscriptionView)
}

// subscriptionJSONOf encodes a subscription's view, as the projections and
// the aggregate both carry it.
func subscriptionJSONOf(id string, v domain.SubscriptionView) subscriptionJSON {
	return subscriptionJSON{ID: id, AccountID: v.AccountID, ProductID: v.ProductID, Status: string(v.Status),
		CancelAtPeriodEnd: v.CancelAtPeriodEnd, CurrentPeriodEnd: timeOrNil(v.CurrentPeriodEnd), Amount: v.Amount,
		Currency: v.Currency, StartedAt: timeOrNil(v.StartedAt), EndedAt: timeOrNil(v.EndedAt)}
}

// listOf pages through an account's rows for its own session, the store or
// an admin; an account that does not exist is 404.
func listOf[T, J any](s *Server, c echo.Context, rows func(v *projections.View, id string, limit int, cursor string) (projections.Page[T], error), conv func(T) J) error {
	id, err := accountParam(c)
	if err != nil {
		return err
	}
	limit, cursor, err := page(c)
	if err != nil {
		return err
	}
	view := s.proj.View()
	if _, ok := view.Account(id); !ok {
		return errNotFound("account")
	}
	p, err := rows(view, id, limit, cursor)
	if errors.Is(err, projections.ErrBadCursor) {
		return errBadCursor()
	}
	if err != nil {
		return err
	}
	out := list[J]{Data: make([]J, 0, len(p.Items)), NextCursor: p.NextCursor}
	for _, it := range p.Items {
		out.Data = append(out.Data, conv(it))
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) accountLicenses(c echo.Context) error {
	return listOf(s, c, (*projections.View).Licenses, licenseFrom)
}

func (s *Server) accountSubscriptions(c echo.Context) error {
	return listOf(s, c, (*projections.View).Subscriptions, subscriptionFrom)
}

// owned checks that a customer reads only its own license or subscription
// (another's is 404).
func owned(c echo.Context, accountID string) bool {
	p := principalOf(c)
	return p.role != RoleCustomer || p.accountID == accountID
}

func (s *Server) getLicense(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	l, ok := s.proj.View().License(id)
	if !ok || !owned(c, l.AccountID) {
		return errNotFound("license")
	}
	return c.JSON(http.StatusOK, licenseFrom(l))
}

func (s *Server) getSubscription(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	sub, ok := s.proj.View().Subscription(id)
	if !ok || !sub.Started || !owned(c, sub.AccountID) {
		return errNotFound("subscription")
	}
	return c.JSON(http.StatusOK, subscriptionFrom(sub))
}

func subscriptionFromDomain(s *domain.Subscription) subscriptionJSON {
	return subscriptionJSONOf(s.ID, s.View())
}
