package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aseptsoft/subledger/projections"
)

// salesReportPage answers the sales report one page at a time when limit
// or cursor is given (JSON only): {"data", "next_cursor"}, as every list.
func (s *Server) salesReportPage(c echo.Context, view *projections.View, id string, from, to time.Time) error {
	limit, cursor, err := page(c)
	if err != nil {
		return err
	}
	p, err := view.SalesRowsPage(id, from, to, limit, cursor)
	if errors.Is(err, projections.ErrBadCursor) {
		return errBadCursor()
	}
	if err != nil {
		return err
	}
	out := list[salesRowJSON]{Data: make([]salesRowJSON, 0, len(p.Items)), NextCursor: p.NextCursor}
	for _, r := range p.Items {
		out.Data = append(out.Data, salesRowJSON{r.OccurredAt.UTC(), r.SaleID, string(r.Kind), r.ProductID, r.Amount, r.Currency,
			r.CommissionAmount, string(r.CommissionStatus)})
	}
	return c.JSON(http.StatusOK, out)
}
