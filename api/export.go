package api

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aseptsoft/subledger/domain"
	"github.com/aseptsoft/subledger/projections"
)

// eventJSON is one stored event with its data decoded; personal fields
// read as empty once their key is shredded (erased: true). Password hashes
// are never shown.
type eventJSON struct {
	ID         string         `json:"id"`
	Type       string         `json:"type"`
	Stream     string         `json:"stream"`
	Version    int64          `json:"version"`
	Position   uint64         `json:"position"`
	RecordedAt time.Time      `json:"recorded_at"`
	Erased     bool           `json:"erased"`
	Data       map[string]any `json:"data"`
}

// redacted replaces the values that are credentials rather than data about
// the person.
var redacted = map[string]string{
	"password_hash": "[redacted: a hash of the password]",
	"token_hash":    "[redacted]",
	// An idempotency record's stored response may hold a credential (a
	// session's token) and is only ever replayed to a retry.
	"body": "[redacted: a stored response, replayed to retries of its request]",
}

func eventFrom(r RecordedEvent) eventJSON {
	data := map[string]any{}
	if r.Event != nil {
		if b, err := json.Marshal(r.Event); err == nil {
			_ = json.Unmarshal(b, &data)
		}
	}
	for k, v := range redacted {
		if s, ok := data[k].(string); ok && s != "" {
			data[k] = v
		}
	}
	return eventJSON{ID: r.ID, Type: r.Type, Stream: r.Stream, Version: r.Version, Position: r.Position,
		RecordedAt: r.RecordedAt.UTC(), Erased: r.Erased, Data: data}
}

// accountEvents pages through the account's own stream, oldest first (the
// cursor is the next stream version).
func (s *Server) accountEvents(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	limit, cursor, err := page(c)
	if err != nil {
		return err
	}
	from := int64(0)
	if cursor != "" {
		n, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || n < 0 {
			return errBadCursor()
		}
		from = n
	}
	ctx := s.ctx(c)
	if _, err := s.svc.Account(ctx, id); err != nil {
		return err
	}
	recs, err := s.cfg.History(ctx, domain.AccountStream(id), from, limit+1)
	if err != nil {
		return err
	}
	out := list[eventJSON]{Data: []eventJSON{}}
	for i, r := range recs {
		if i == limit {
			out.NextCursor = strconv.FormatInt(r.Version, 10)
			break
		}
		out.Data = append(out.Data, eventFrom(r))
	}
	return c.JSON(http.StatusOK, out)
}

type exportJSON struct {
	ExportedAt    time.Time          `json:"exported_at"`
	Account       accountJSON        `json:"account"`
	PersonalData  personalDataJSON   `json:"personal_data"`
	Licenses      []licenseJSON      `json:"licenses"`
	Subscriptions []subscriptionJSON `json:"subscriptions"`
	Sessions      []sessionInfoJSON  `json:"sessions"`
	Events        []eventJSON        `json:"events"`
}

type personalDataJSON struct {
	Name               *string    `json:"name"`
	Company            *string    `json:"company"`
	Email              *string    `json:"email"`
	MarketingConsent   bool       `json:"marketing_consent"`
	MarketingConsentAt *time.Time `json:"marketing_consent_at"`
	StripeCustomerID   *string    `json:"stripe_customer_id"`
	PasswordSet        bool       `json:"password_set"`
}

type sessionInfoJSON struct {
	StartedAt  time.Time `json:"started_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// exportAccount returns every personal field and every event of the
// account (every stream the per-subject index lists: its own, its
// licenses', subscriptions', their sales', its sessions', password
// resets', e-mail reservations', idempotency records' and Stripe
// intents'), decrypted, in the order they were recorded: the GDPR's access
// and portability. Finding them is a query, not a scan of the store.
func (s *Server) exportAccount(c echo.Context) error {
	id, err := accountParam(c)
	if err != nil {
		return err
	}
	ctx := s.ctx(c)
	acc, err := s.svc.Account(ctx, id)
	if err != nil {
		return err
	}
	erased := acc.Status == domain.AccountStatusErased
	out := exportJSON{
		ExportedAt: s.now().UTC(),
		Account:    accountFromDomain(acc),
		PersonalData: personalDataJSON{Name: strOrNil(acc.Name, erased), Company: strOrNil(acc.Company, erased), Email: strOrNil(acc.Email, erased),
			MarketingConsent: acc.MarketingConsent, MarketingConsentAt: timeOrNil(acc.MarketingConsentAt),
			PasswordSet: acc.PasswordHash != ""},
		Licenses: []licenseJSON{}, Subscriptions: []subscriptionJSON{}, Sessions: []sessionInfoJSON{}, Events: []eventJSON{},
	}
	if acc.StripeCustomerID != "" {
		out.PersonalData.StripeCustomerID = &acc.StripeCustomerID
	}
	view := s.proj.View()
	for l := range all(func(cur string) (projections.Page[projections.License], error) {
		return view.Licenses(id, projections.MaxLimit, cur)
	}) {
		out.Licenses = append(out.Licenses, licenseFrom(l))
	}
	for sub := range all(func(cur string) (projections.Page[projections.Subscription], error) {
		return view.Subscriptions(id, projections.MaxLimit, cur)
	}) {
		out.Subscriptions = append(out.Subscriptions, subscriptionFrom(sub))
	}
	for _, sess := range view.AccountSessions(id) {
		out.Sessions = append(out.Sessions, sessionInfoJSON{StartedAt: sess.StartedAt.UTC(), LastSeenAt: sess.LastSeenAt.UTC(), ExpiresAt: sess.ExpiresAt.UTC()})
	}
	// Every stream with events of the account, from the per-subject index;
	// their events in the order they were recorded.
	for _, stream := range view.SubjectStreams(id) {
		recs, err := s.cfg.History(ctx, stream, 0, 0)
		if err != nil {
			return err
		}
		for _, r := range recs {
			out.Events = append(out.Events, eventFrom(r))
		}
	}
	slices.SortStableFunc(out.Events, func(a, b eventJSON) int { return cmp.Compare(a.Position, b.Position) })
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="account-export.json"`)
	return c.JSON(http.StatusOK, out)
}

// all yields every item of a paged list.
func all[T any](list func(cursor string) (projections.Page[T], error)) func(yield func(T) bool) {
	return func(yield func(T) bool) {
		cursor := ""
		for {
			p, err := list(cursor)
			if err != nil {
				return
			}
			for _, it := range p.Items {
				if !yield(it) {
					return
				}
			}
			if cursor = p.NextCursor; cursor == "" {
				return
			}
		}
	}
}
