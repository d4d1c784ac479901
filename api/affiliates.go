package api

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/projections"
)

type affiliateJSON struct {
	ID                string     `json:"id"`
	Code              string     `json:"code"`
	Name              *string    `json:"name"`
	Email             *string    `json:"email"`
	CommissionRateBps int        `json:"commission_rate_bps"`
	RecurringMonths   int        `json:"recurring_months"`
	CreatedAt         time.Time  `json:"created_at"`
	ErasedAt          *time.Time `json:"erased_at"`
	APIKey            string     `json:"api_key,omitempty"`
}

func affiliateFrom(a projections.Affiliate) affiliateJSON {
	erased := !a.ErasedAt.IsZero()
	return affiliateJSON{ID: a.ID, Code: a.Code, Name: strOrNil(a.Name, erased), Email: strOrNil(a.Email, erased),
		CommissionRateBps: a.RateBps, RecurringMonths: a.RecurringMonths, CreatedAt: a.RegisteredAt.UTC(), ErasedAt: timeOrNil(a.ErasedAt)}
}

type newAffiliateRequest struct {
	Name              *string `json:"name"`
	Email             *string `json:"email"`
	CommissionRateBps *int    `json:"commission_rate_bps"`
	RecurringMonths   *int    `json:"recurring_months"`
}

// createAffiliate registers an affiliate; its API key is in this response
// only (kept as a hash).
func (s *Server) createAffiliate(c echo.Context) error {
	var req newAffiliateRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.CommissionRateBps == nil {
		return &Problem{Status: http.StatusUnprocessableEntity, Code: domain.CodeValidationFailed, Detail: "the request has invalid fields",
			Errors: []domain.FieldError{{Field: "commission_rate_bps", Code: domain.FieldRequired}}}
	}
	reg, res, err := s.svc.RegisterAffiliate(s.ctx(c), domain.RegisterAffiliate{Name: deref(req.Name), Email: deref(req.Email),
		CommissionRateBps: *req.CommissionRateBps, RecurringMonths: deref(req.RecurringMonths)})
	if err != nil {
		return err
	}
	setSubject(c, reg.Affiliate.ID)
	s.wait(c, res.Position)
	a := reg.Affiliate
	out := affiliateJSON{ID: a.ID, Code: a.Code, Name: &a.Name, Email: &a.Email, CommissionRateBps: a.RateBps,
		RecurringMonths: a.RecurringMonths, CreatedAt: a.RegisteredAt.UTC(), APIKey: reg.APIKey}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/affiliates/"+a.ID)
	return c.JSON(http.StatusCreated, out)
}

// affiliateParam returns the :id of an affiliate route the caller may
// touch: an affiliate only itself (another is 404, revealing nothing).
func affiliateParam(c echo.Context) (string, error) {
	id, err := pathID(c)
	if err != nil {
		return "", err
	}
	if p := principalOf(c); p.role == RoleAffiliate && p.affiliateID != id {
		return "", errNotFound("affiliate")
	}
	return id, nil
}

func (s *Server) getAffiliate(c echo.Context) error {
	id, err := affiliateParam(c)
	if err != nil {
		return err
	}
	a, ok := s.proj.View().Affiliate(id)
	if !ok {
		return errNotFound("affiliate")
	}
	return c.JSON(http.StatusOK, affiliateFrom(a))
}

// eraseAffiliate erases an affiliate: its API key stops working, its keys
// are shredded (name, e-mail, the code's pseudonym); its figures stay.
func (s *Server) eraseAffiliate(c echo.Context) error {
	id, err := affiliateParam(c)
	if err != nil {
		return err
	}
	ctx := s.ctx(c)
	a, res, err := s.svc.EraseAffiliate(ctx, id)
	if err != nil {
		return err
	}
	if err := s.cfg.ShredAffiliate(ctx, id); err != nil {
		s.log.Error("shredding an erased affiliate's keys failed", "request_id", requestID(c), "affiliate_id", id, "error", err.Error())
		return err
	}
	s.wait(c, res.Position)
	return c.JSON(http.StatusOK, erasureJSON{ID: a.ID, Status: "erased", ErasedAt: a.ErasedAt.UTC()})
}

// reportRange reads ?from= and ?to= (YYYY-MM-DD, UTC, to exclusive): both
// required, from before to, at most five years apart; 422 otherwise.
func reportRange(c echo.Context) (time.Time, time.Time, error) {
	var errs []domain.FieldError
	parse := func(name string) time.Time {
		v := c.QueryParam(name)
		if v == "" {
			errs = append(errs, domain.FieldError{Field: name, Code: domain.FieldRequired})
			return time.Time{}
		}
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			errs = append(errs, domain.FieldError{Field: name, Code: domain.FieldInvalid})
		}
		return t
	}
	from, to := parse("from"), parse("to")
	if len(errs) == 0 {
		switch {
		case !from.Before(to):
			errs = append(errs, domain.FieldError{Field: "to", Code: domain.FieldRange})
		case to.After(from.AddDate(5, 0, 0)):
			errs = append(errs, domain.FieldError{Field: "to", Code: domain.FieldRange})
		}
	}
	if len(errs) > 0 {
		return time.Time{}, time.Time{}, &Problem{Status: http.StatusUnprocessableEntity, Code: domain.CodeValidationFailed,
			Detail: "from and to must be dates (YYYY-MM-DD), from before to, at most five years apart", Errors: errs}
	}
	return from, to, nil
}

// wantsCSV reports whether the report is asked for as CSV (?format=csv or
// Accept: text/csv); 400 for another format.
func wantsCSV(c echo.Context) (bool, error) {
	switch c.QueryParam("format") {
	case "csv":
		return true, nil
	case "json":
		return false, nil
	case "":
		return strings.Contains(c.Request().Header.Get(echo.HeaderAccept), "text/csv"), nil
	}
	return false, problem(http.StatusBadRequest, domain.CodeBadRequest, "format must be json or csv")
}

// report checks the caller, the affiliate and the range, and returns the
// view to read the report from.
func (s *Server) report(c echo.Context) (*projections.View, string, time.Time, time.Time, bool, error) {
	id, err := affiliateParam(c)
	if err != nil {
		return nil, "", time.Time{}, time.Time{}, false, err
	}
	from, to, err := reportRange(c)
	if err != nil {
		return nil, "", time.Time{}, time.Time{}, false, err
	}
	asCSV, err := wantsCSV(c)
	if err != nil {
		return nil, "", time.Time{}, time.Time{}, false, err
	}
	view := s.proj.View()
	if _, ok := view.Affiliate(id); !ok {
		return nil, "", time.Time{}, time.Time{}, false, errNotFound("affiliate")
	}
	return view, id, from, to, asCSV, nil
}

var summaryColumns = []string{"period", "sales", "gross_amount", "commission_amount", "reversed_amount", "net_commission_amount", "currency"}

type summaryJSON struct {
	Period              string `json:"period"`
	Sales               int64  `json:"sales"`
	GrossAmount         int64  `json:"gross_amount"`
	CommissionAmount    int64  `json:"commission_amount"`
	ReversedAmount      int64  `json:"reversed_amount"`
	NetCommissionAmount int64  `json:"net_commission_amount"`
	Currency            string `json:"currency"`
}

// salesSummary is the affiliate's summary: one row per month and currency.
func (s *Server) salesSummary(c echo.Context) error {
	view, id, from, to, asCSV, err := s.report(c)
	if err != nil {
		return err
	}
	rows := view.SalesSummary(id, from, to)
	if asCSV {
		w := startCSV(c, "summary", summaryColumns)
		for _, r := range rows {
			_ = w.Write([]string{r.Period, itoa(r.Sales), itoa(r.GrossAmount), itoa(r.CommissionAmount), itoa(r.ReversedAmount), itoa(r.NetCommissionAmount), r.Currency})
		}
		w.Flush()
		return w.Error()
	}
	out := struct {
		Data []summaryJSON `json:"data"`
	}{Data: make([]summaryJSON, 0, len(rows))}
	for _, r := range rows {
		out.Data = append(out.Data, summaryJSON{r.Period, r.Sales, r.GrossAmount, r.CommissionAmount, r.ReversedAmount, r.NetCommissionAmount, r.Currency})
	}
	return c.JSON(http.StatusOK, out)
}

var salesColumns = []string{"occurred_at", "sale_id", "kind", "product_id", "amount", "currency", "commission_amount", "commission_status"}

type salesRowJSON struct {
	OccurredAt       time.Time `json:"occurred_at"`
	SaleID           string    `json:"sale_id"`
	Kind             string    `json:"kind"`
	ProductID        string    `json:"product_id"`
	Amount           int64     `json:"amount"`
	Currency         string    `json:"currency"`
	CommissionAmount int64     `json:"commission_amount"`
	CommissionStatus string    `json:"commission_status"`
}

// salesReport streams the affiliate's sales rows, oldest first, straight
// from one projection snapshot: constant memory however many rows.
func (s *Server) salesReport(c echo.Context) error {
	view, id, from, to, asCSV, err := s.report(c)
	if err != nil {
		return err
	}
	if !asCSV && (c.QueryParam("limit") != "" || c.QueryParam("cursor") != "") {
		return s.salesReportPage(c, view, id, from, to)
	}
	flusher, _ := c.Response().Writer.(http.Flusher)
	if asCSV {
		// Rows are appended to one buffer and written in 64 KiB pieces; a
		// field is quoted (RFC 4180) only when it needs to be.
		startCSV(c, "sales", salesColumns).Flush()
		buf := make([]byte, 0, 64<<10)
		for r := range view.SalesRows(id, from, to) {
			buf = r.OccurredAt.UTC().AppendFormat(buf, time.RFC3339)
			buf = append(buf, ',')
			buf = appendCSVField(buf, r.SaleID)
			buf = append(buf, ',')
			buf = append(buf, r.Kind...)
			buf = append(buf, ',')
			buf = appendCSVField(buf, r.ProductID)
			buf = append(buf, ',')
			buf = strconv.AppendInt(buf, r.Amount, 10)
			buf = append(buf, ',')
			buf = appendCSVField(buf, r.Currency)
			buf = append(buf, ',')
			buf = strconv.AppendInt(buf, r.CommissionAmount, 10)
			buf = append(buf, ',')
			buf = append(buf, r.CommissionStatus...)
			buf = append(buf, '\n')
			if len(buf) > 60<<10 {
				if _, err := c.Response().Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
		_, err := c.Response().Write(buf)
		return err
	}
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	c.Response().WriteHeader(http.StatusOK)
	resp := c.Response()
	if _, err := resp.Write([]byte(`{"data":[`)); err != nil {
		return err
	}
	enc := json.NewEncoder(resp)
	n := 0
	for r := range view.SalesRows(id, from, to) {
		if n > 0 {
			if _, err := resp.Write([]byte(",")); err != nil {
				return err
			}
		}
		if err := enc.Encode(salesRowJSON{r.OccurredAt.UTC(), r.SaleID, string(r.Kind), r.ProductID, r.Amount, r.Currency,
			r.CommissionAmount, string(r.CommissionStatus)}); err != nil {
			return err
		}
		if n++; n%4096 == 0 && flusher != nil {
			flusher.Flush()
		}
	}
	_, err = resp.Write([]byte("]}\n"))
	return err
}

// startCSV sends the headers of a CSV attachment and its header row.
func startCSV(c echo.Context, name string, columns []string) *csv.Writer {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`.csv"`)
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	_ = w.Write(columns)
	return w
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// appendCSVField appends a field as encoding/csv would write it: quoted,
// with quotes doubled, when it holds a comma, a quote, a line break or
// leading space; as it is otherwise.
func appendCSVField(b []byte, f string) []byte {
	if f == "" || (!strings.ContainsAny(f, ",\"\r\n") && f[0] != ' ' && f[0] != '\t') {
		return append(b, f...)
	}
	b = append(b, '"')
	for i := 0; i < len(f); i++ {
		if f[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, f[i])
	}
	return append(b, '"')
}
