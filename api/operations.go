package api

import (
	"encoding/base64"
	"encoding/csv"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/projections"
)

// healthz answers while the process is up.
func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

type readyJSON struct {
	Status   string `json:"status"`
	Position uint64 `json:"position"`
	Lag      uint64 `json:"lag"`
}

// readyz answers 200 once the projections have caught up with the store,
// and 503 before; both say the position applied and the lag in events.
func (s *Server) readyz(c echo.Context) error {
	out := readyJSON{Status: "ready", Position: s.proj.Position()}
	if s.cfg.Lag != nil {
		out.Lag = s.cfg.Lag()
	}
	if !s.proj.CaughtUp() {
		out.Status = "catching up"
		return c.JSON(http.StatusServiceUnavailable, out)
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPIDocument)
}

func (s *Server) products(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string][]domain.Product{"data": s.cfg.Catalog.Products()})
}

func (s *Server) publicKey(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"algorithm": "Ed25519", "public_key": base64.StdEncoding.EncodeToString(s.cfg.LicensePublicKey)})
}

// dateRange reads ?from= and ?to= (YYYY-MM-DD, UTC; to is exclusive);
// defaults are the last 30 days.
func (s *Server) dateRange(c echo.Context) (time.Time, time.Time, error) {
	now := s.now().UTC()
	to := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
	from := to.AddDate(0, 0, -30)
	for name, p := range map[string]*time.Time{"from": &from, "to": &to} {
		if v := c.QueryParam(name); v != "" {
			t, err := time.Parse(time.DateOnly, v)
			if err != nil {
				return time.Time{}, time.Time{}, problem(http.StatusBadRequest, domain.CodeBadRequest, name+" must be a date, YYYY-MM-DD")
			}
			*p = t
		}
	}
	if !from.Before(to) {
		return time.Time{}, time.Time{}, problem(http.StatusBadRequest, domain.CodeBadRequest, "from must be before to")
	}
	return from, to, nil
}

// stats returns aggregate figures without personal data.
func (s *Server) stats(c echo.Context) error {
	from, to, err := s.dateRange(c)
	if err != nil {
		return err
	}
	st := s.proj.View().Stats(from, to)
	type day struct {
		Day   string `json:"day"`
		Count int64  `json:"count"`
	}
	type sales struct {
		Day            string `json:"day"`
		ProductID      string `json:"product_id"`
		Currency       string `json:"currency"`
		Sales          int64  `json:"sales"`
		SalesAmount    int64  `json:"sales_amount"`
		Renewals       int64  `json:"renewals"`
		RenewalsAmount int64  `json:"renewals_amount"`
	}
	type plan struct {
		ProductID string `json:"product_id"`
		Active    int64  `json:"active"`
		PastDue   int64  `json:"past_due"`
		Ended     int64  `json:"ended"`
	}
	type churn struct {
		Period    string `json:"period"`
		ProductID string `json:"product_id"`
		Started   int64  `json:"started"`
		Ended     int64  `json:"ended"`
	}
	out := struct {
		Position uint64           `json:"position"`
		From     string           `json:"from"`
		To       string           `json:"to"`
		Accounts map[string]int64 `json:"accounts"`
		SignUps  []day            `json:"sign_ups"`
		Sales    []sales          `json:"sales"`
		Plans    []plan           `json:"subscriptions"`
		Churn    []churn          `json:"churn"`
	}{Position: st.Position, From: from.Format(time.DateOnly), To: to.Format(time.DateOnly),
		Accounts: map[string]int64{"registered": st.Accounts.Registered, "active": st.Accounts.Active, "closed": st.Accounts.Closed, "erased": st.Accounts.Erased},
		SignUps:  []day{}, Sales: []sales{}, Plans: []plan{}, Churn: []churn{}}
	for _, d := range st.SignUps {
		out.SignUps = append(out.SignUps, day{d.Day, d.Count})
	}
	for _, x := range st.Sales {
		out.Sales = append(out.Sales, sales{x.Day, x.ProductID, x.Currency, x.Sales, x.SalesAmount, x.Renewals, x.RenewalsAmount})
	}
	for _, x := range st.Subscriptions {
		out.Plans = append(out.Plans, plan{x.ProductID, x.Active, x.PastDue, x.Ended})
	}
	for _, x := range st.Churn {
		out.Churn = append(out.Churn, churn{x.Period, x.ProductID, x.Started, x.Ended})
	}
	return c.JSON(http.StatusOK, out)
}

type recipientJSON struct {
	AccountID string    `json:"account_id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	ConsentAt time.Time `json:"consent_at"`
}

// marketingRecipients lists the live accounts that consent to marketing
// mail (an addition to API.md): JSON, or CSV with ?format=csv or Accept:
// text/csv.
func (s *Server) marketingRecipients(c echo.Context) error {
	limit, cursor, err := page(c)
	if err != nil {
		return err
	}
	format := c.QueryParam("format")
	if format == "" && c.Request().Header.Get(echo.HeaderAccept) == "text/csv" {
		format = "csv"
	}
	if format != "" && format != "json" && format != "csv" {
		return problem(http.StatusBadRequest, domain.CodeBadRequest, "format must be json or csv")
	}
	p, err := s.proj.View().MarketingRecipients(limit, cursor)
	if errors.Is(err, projections.ErrBadCursor) {
		return errBadCursor()
	}
	if err != nil {
		return err
	}
	if format == "csv" {
		h := c.Response().Header()
		h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
		h.Set(echo.HeaderContentDisposition, `attachment; filename="marketing-recipients.csv"`)
		if p.NextCursor != "" {
			h.Set("X-Next-Cursor", p.NextCursor)
		}
		c.Response().WriteHeader(http.StatusOK)
		w := csv.NewWriter(c.Response())
		_ = w.Write([]string{"account_id", "name", "email", "consent_at"})
		for _, r := range p.Items {
			_ = w.Write([]string{r.AccountID, csvSafe(r.Name), csvSafe(r.Email), r.ConsentAt.UTC().Format(time.RFC3339)})
		}
		w.Flush()
		return w.Error()
	}
	out := list[recipientJSON]{Data: make([]recipientJSON, 0, len(p.Items)), NextCursor: p.NextCursor}
	for _, r := range p.Items {
		out.Data = append(out.Data, recipientJSON{r.AccountID, r.Name, r.Email, r.ConsentAt.UTC()})
	}
	return c.JSON(http.StatusOK, out)
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(v string) string {
	if v != "" && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@' || v[0] == '\t' || v[0] == '\r') {
		return "'" + v
	}
	return v
}
