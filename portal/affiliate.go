package portal

import (
	"html/template"
	"net/http"
	"net/url"
	"time"
)

type affiliateJSON struct {
	ID                string  `json:"id"`
	Code              string  `json:"code"`
	Name              *string `json:"name"`
	CommissionRateBps int     `json:"commission_rate_bps"`
	RecurringMonths   int     `json:"recurring_months"`
}

type summaryRow struct {
	Period              string `json:"period"`
	Sales               int64  `json:"sales"`
	GrossAmount         int64  `json:"gross_amount"`
	CommissionAmount    int64  `json:"commission_amount"`
	ReversedAmount      int64  `json:"reversed_amount"`
	NetCommissionAmount int64  `json:"net_commission_amount"`
	Currency            string `json:"currency"`
}

type salesRow struct {
	OccurredAt       time.Time `json:"occurred_at"`
	SaleID           string    `json:"sale_id"`
	Kind             string    `json:"kind"`
	ProductID        string    `json:"product_id"`
	Amount           int64     `json:"amount"`
	Currency         string    `json:"currency"`
	CommissionAmount int64     `json:"commission_amount"`
	CommissionStatus string    `json:"commission_status"`
}

// affiliateData is the affiliate page's: its own figures only (the API
// answers nothing else to its token), and no customer's data (the reports
// have none).
type affiliateData struct {
	Affiliate  affiliateJSON
	Base       string // the page's own path
	From, To   string
	Errors     map[string]string
	Problem    string
	Summary    []summaryRow
	Chart      template.HTML
	Legend     []legendItem
	Sales      []salesRow
	NextCursor string
	Paged      bool // showing a page after the first
	Query      string
	// Links, built from url.Values (html/template would escape a query
	// given to it in pieces).
	SummaryCSV, SalesCSV, FirstPage, NextPage template.URL
	// SummaryRows and SalesRows are the tables' rows (see tables.go).
	SummaryRows, SalesRows template.HTML
}

func (affiliateData) title() string { return "Your reports" }

// PageSize is how many sales rows a page of the table shows.
const PageSize = 50

// defaultRange is the last 24 calendar months up to the end of this month.
func defaultRange(now time.Time) (string, string) {
	now = now.UTC()
	to := time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	return to.AddDate(0, -24, 0).Format(time.DateOnly), to.Format(time.DateOnly)
}

// affiliatePage shows the affiliate's summary as a chart and a table and a
// page of the sales report: GET /v1/affiliates/{id}, .../reports/summary,
// .../reports/sales?limit=&cursor=. /portal/affiliates/{id} asks for the
// figures of id, which the API answers 404 unless it is the affiliate's own.
func (p *Portal) affiliatePage(w http.ResponseWriter, r *http.Request, s *session) {
	id := s.id
	base := "/portal/affiliate"
	if v := r.PathValue("id"); v != "" {
		id, base = v, "/portal/affiliates/"+url.PathEscape(v)
	}
	q := r.URL.Query()
	d := affiliateData{Base: base, From: q.Get("from"), To: q.Get("to"), Errors: map[string]string{}}
	if d.From == "" && d.To == "" {
		d.From, d.To = defaultRange(p.now())
	}
	rng := url.Values{"from": {d.From}, "to": {d.To}}
	d.Query = rng.Encode()
	d.SummaryCSV = template.URL("/portal/affiliate/summary.csv?" + d.Query)
	d.SalesCSV = template.URL("/portal/affiliate/sales.csv?" + d.Query)
	d.FirstPage = template.URL(base + "?" + d.Query)
	path := "/v1/affiliates/" + url.PathEscape(id)

	res := p.call(r, s.token, http.MethodGet, path, nil)
	if res.status == http.StatusUnauthorized {
		p.ended(w, r)
		return
	}
	if !res.ok() || res.decode(&d.Affiliate) != nil {
		pr := res.problem()
		if pr.Status == http.StatusNotFound {
			pr.Detail = "There are no figures for you here: you can see only your own reports."
		}
		p.fail(w, r, pr)
		return
	}
	res.release()
	var sum struct {
		Data []summaryRow `json:"data"`
	}
	res = p.call(r, s.token, http.MethodGet, path+"/reports/summary?"+d.Query, nil)
	if res.status == http.StatusUnprocessableEntity {
		pr := res.problem()
		for _, fe := range pr.Errors {
			d.Errors[fe.Field] = rangeMessage(fe.Code) + " (" + fe.Code + ")"
		}
		d.Problem = "Please correct the dates: " + pr.Detail + "."
		p.render(w, r, pr.Status, "affiliate", d)
		return
	}
	if !res.ok() || res.decode(&sum) != nil {
		p.fail(w, r, res.problem())
		return
	}
	res.release()
	d.Summary = sum.Data
	d.SummaryRows = summaryRowsHTML(sum.Data)
	from, _ := time.Parse(time.DateOnly, d.From)
	to, _ := time.Parse(time.DateOnly, d.To)
	d.Chart, d.Legend = chart(sum.Data, from, to)

	page := url.Values{"from": {d.From}, "to": {d.To}, "limit": {itoa(PageSize)}}
	if c := q.Get("cursor"); c != "" {
		page.Set("cursor", c)
		d.Paged = true
	}
	var sales struct {
		Data       []salesRow `json:"data"`
		NextCursor string     `json:"next_cursor"`
	}
	res = p.call(r, s.token, http.MethodGet, path+"/reports/sales?"+page.Encode(), nil)
	if !res.ok() || res.decode(&sales) != nil {
		pr := res.problem()
		if pr.Status == http.StatusBadRequest {
			pr.Detail = "This page of the table does not exist (the link is not one this portal made)."
		}
		p.fail(w, r, pr)
		return
	}
	res.release()
	d.Sales, d.NextCursor = sales.Data, sales.NextCursor
	d.SalesRows = salesRowsHTML(sales.Data)
	if d.NextCursor != "" {
		next := url.Values{"from": {d.From}, "to": {d.To}, "cursor": {d.NextCursor}}
		d.NextPage = template.URL(base + "?" + next.Encode())
	}
	p.render(w, r, http.StatusOK, "affiliate", d)
}

func rangeMessage(code string) string {
	switch code {
	case "required":
		return "Enter a date."
	case "invalid":
		return "Enter a date as YYYY-MM-DD."
	case "out_of_range":
		return "The end must be after the start, at most five years later."
	}
	return "This date is not accepted."
}

// csv downloads a report as CSV: .../reports/{name}?format=csv.
func (p *Portal) csv(name string) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		q := r.URL.Query()
		v := url.Values{"from": {q.Get("from")}, "to": {q.Get("to")}, "format": {"csv"}}
		p.relay(w, r, s.token, "/v1/affiliates/"+url.PathEscape(s.id)+"/reports/"+name+"?"+v.Encode(), name+".csv")
	}
}
