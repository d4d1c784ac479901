package portal

import (
	"html"
	"html/template"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Chart geometry, in SVG user units.
const (
	chartHeight = 240
	chartTop    = 16
	chartBottom = 40 // room for the month labels
	chartLeft   = 64 // room for the axis labels
	groupWidth  = 36
)

// chart draws the net commission per month of rows, one bar series per
// currency, as an SVG with no script and no style attribute (presentation
// attributes only, which the CSP allows). Every bar carries its period,
// currency and amount (data-*) and a <title>, and the table beside it
// holds the same figures. Months in [from, to) without a row draw no bar.
func chart(rows []summaryRow, from, to time.Time) (template.HTML, []legendItem) {
	months := monthsBetween(from, to)
	if len(months) == 0 || len(months) > 61 {
		return "", nil
	}
	var currencies []string
	values := map[string]map[string]int64{}
	var maxV, minV int64
	for _, r := range rows {
		if values[r.Currency] == nil {
			values[r.Currency] = map[string]int64{}
			currencies = append(currencies, r.Currency)
		}
		values[r.Currency][r.Period] += r.NetCommissionAmount
		maxV, minV = max(maxV, values[r.Currency][r.Period]), min(minV, values[r.Currency][r.Period])
	}
	sort.Strings(currencies)
	if maxV == minV {
		maxV = minV + 100
	}
	plotH := float64(chartHeight - chartTop - chartBottom)
	y := func(v int64) float64 { return chartTop + plotH*float64(maxV-v)/float64(maxV-minV) }
	width := chartLeft + len(months)*groupWidth + 8
	var b strings.Builder
	b.Grow(4096 + len(months)*len(currencies)*200)
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 `)
	b.WriteString(strconv.Itoa(width))
	b.WriteString(` `)
	b.WriteString(strconv.Itoa(chartHeight))
	b.WriteString(`" role="img" aria-labelledby="chart-title" id="chart"><title id="chart-title">Net commission per month`)
	if len(currencies) > 1 {
		b.WriteString(", one series per currency")
	}
	b.WriteString(`</title>`)
	// Axis: zero line and the top and bottom values.
	for _, v := range uniq(maxV, 0, minV) {
		yy := ftoa(y(v))
		b.WriteString(`<line x1="` + strconv.Itoa(chartLeft) + `" x2="` + strconv.Itoa(width-4) + `" y1="` + yy + `" y2="` + yy + `" stroke="#c8ced6" stroke-width="1"/>`)
		b.WriteString(`<text x="` + strconv.Itoa(chartLeft-6) + `" y="` + yy + `" font-size="11" text-anchor="end" dominant-baseline="middle" fill="#444">` + html.EscapeString(axisLabel(v, currencies)) + `</text>`)
	}
	barW := float64(groupWidth-8) / float64(max(len(currencies), 1))
	for i, m := range months {
		x0 := float64(chartLeft + i*groupWidth + 4)
		for j, cur := range currencies {
			v, ok := values[cur][m]
			if !ok {
				continue
			}
			top, bottom := y(max(v, 0)), y(min(v, 0))
			h := max(bottom-top, 1)
			b.WriteString(`<rect class="bar" x="` + ftoa(x0+float64(j)*barW) + `" y="` + ftoa(top) + `" width="` + ftoa(barW-1) + `" height="` + ftoa(h) +
				`" fill="` + palette[j%len(palette)] + `" data-period="` + m + `" data-currency="` + html.EscapeString(cur) + `" data-value="` + strconv.FormatInt(v, 10) + `">`)
			b.WriteString(`<title>` + m + `: ` + html.EscapeString(money(v, cur)) + `</title></rect>`)
		}
		if len(months) <= 13 || i%2 == 0 {
			b.WriteString(`<text x="` + ftoa(x0+float64(groupWidth-8)/2) + `" y="` + strconv.Itoa(chartHeight-chartBottom+14) + `" font-size="10" text-anchor="middle" fill="#444">` + shortMonth(m) + `</text>`)
		}
	}
	b.WriteString(`</svg>`)
	legend := make([]legendItem, len(currencies))
	for j, cur := range currencies {
		legend[j] = legendItem{Currency: strings.ToUpper(cur), Class: "sw" + strconv.Itoa(j%len(palette))}
	}
	return template.HTML(b.String()), legend
}

// legendItem names a series of the chart and its colour's class.
type legendItem struct{ Currency, Class string }

var palette = []string{"#1f77b4", "#d95f02", "#1b9e77", "#7570b3"}

func monthsBetween(from, to time.Time) []string {
	var out []string
	m := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC)
	for m.Before(to) && len(out) <= 61 {
		out = append(out, m.Format("2006-01"))
		m = m.AddDate(0, 1, 0)
	}
	return out
}

func uniq(vs ...int64) []int64 {
	var out []int64
	for _, v := range vs {
		if len(out) == 0 || out[len(out)-1] != v {
			out = append(out, v)
		}
	}
	return out
}

// axisLabel is an axis value in major units (the single currency's, or
// plain when several share the axis).
func axisLabel(v int64, currencies []string) string {
	if len(currencies) == 1 {
		return money(v, currencies[0])
	}
	return strconv.FormatFloat(float64(v)/100, 'f', 0, 64)
}

// shortMonth turns 2024-03 into "Mar 24".
func shortMonth(m string) string {
	t, err := time.Parse("2006-01", m)
	if err != nil {
		return m
	}
	return t.Format("Jan 06")
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

func itoa(n int) string { return strconv.Itoa(n) }
