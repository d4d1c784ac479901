package portal

import (
	"html"
	"html/template"
	"strconv"
	"strings"
)

// The affiliate page's two tables are written here rather than in the
// template: a sales page has 50 rows of 7 cells, and html/template's
// reflection and escapers made them most of the page's render time. Every
// value is escaped with html.EscapeString (the ids, kinds and currencies
// come from the API; amounts are numbers).

// summaryRowsHTML renders the monthly summary's rows.
func summaryRowsHTML(rows []summaryRow) template.HTML {
	if len(rows) == 0 {
		return `<tr><td colspan="7">No sales in these months.</td></tr>`
	}
	var b strings.Builder
	b.Grow(len(rows) * 400)
	for _, r := range rows {
		cur := html.EscapeString(r.Currency)
		b.WriteString(`<tr data-period="` + html.EscapeString(r.Period) + `" data-currency="` + cur + `" data-net="` + strconv.FormatInt(r.NetCommissionAmount, 10) + `">`)
		b.WriteString(`<td>` + html.EscapeString(r.Period) + `</td><td>` + strings.ToUpper(cur) + `</td><td class="num">` + strconv.FormatInt(r.Sales, 10) + `</td>`)
		for _, v := range []int64{r.GrossAmount, r.CommissionAmount, r.ReversedAmount, r.NetCommissionAmount} {
			b.WriteString(`<td class="num">` + html.EscapeString(money(v, r.Currency)) + `</td>`)
		}
		b.WriteString("</tr>\n")
	}
	return template.HTML(b.String())
}

// salesRowsHTML renders a page of the sales report's rows.
func salesRowsHTML(rows []salesRow) template.HTML {
	if len(rows) == 0 {
		return `<tr><td colspan="7">No sales in these dates.</td></tr>`
	}
	var b strings.Builder
	b.Grow(len(rows) * 500)
	var when []byte
	for _, r := range rows {
		sale := html.EscapeString(r.SaleID)
		kind := html.EscapeString(r.Kind)
		b.WriteString(`<tr data-sale="` + sale + `" data-kind="` + kind + `" data-amount="` + strconv.FormatInt(r.Amount, 10) +
			`" data-commission="` + strconv.FormatInt(r.CommissionAmount, 10) + `"><td>`)
		when = r.OccurredAt.UTC().AppendFormat(when[:0], "2006-01-02 15:04")
		b.Write(when)
		b.WriteString(`</td><td><code>` + sale + `</code></td><td>` + kind + `</td><td>` + html.EscapeString(r.ProductID) +
			`</td><td class="num">` + html.EscapeString(money(r.Amount, r.Currency)) + `</td><td class="num">` +
			html.EscapeString(money(r.CommissionAmount, r.Currency)) + `</td><td>` + html.EscapeString(r.CommissionStatus) + "</td></tr>\n")
	}
	return template.HTML(b.String())
}
