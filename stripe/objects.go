package stripe

// object is data.object of every handled event type at once, reduced to
// the members the Translator reads; a member of one type that another type
// lacks reads as zero. The five types share no member name with different
// JSON types, so one struct reads them all in the same pass as the
// envelope. Names and JSON types are stripe-go v76's (API version
// 2023-10-16), and TestObjectsReadAsStripeGoReadsThem holds each type's
// members to what stripe-go's own types read.
type object struct {
	// Every type.
	ID       string            `json:"id"`
	Object   string            `json:"object"`
	Currency string            `json:"currency"`
	Metadata map[string]string `json:"metadata"`
	// A subscription's and a dispute's.
	Status string `json:"status"`
	// A checkout.session's, an invoice's, a charge's and a dispute's.
	PaymentIntent id `json:"payment_intent"`
	// A checkout.session's and an invoice's.
	Subscription id `json:"subscription"`

	// A checkout.session's.
	Mode          string `json:"mode"`
	PaymentStatus string `json:"payment_status"`
	AmountTotal   int64  `json:"amount_total"`

	// An invoice's.
	BillingReason       string `json:"billing_reason"`
	AmountPaid          int64  `json:"amount_paid"`
	SubscriptionDetails *struct {
		Metadata map[string]string `json:"metadata"`
	} `json:"subscription_details"`
	Lines *struct {
		Data []*invoiceLine `json:"data"`
	} `json:"lines"`

	// A subscription's.
	CancelAtPeriodEnd bool  `json:"cancel_at_period_end"`
	CurrentPeriodEnd  int64 `json:"current_period_end"`
	StartDate         int64 `json:"start_date"`
	EndedAt           int64 `json:"ended_at"`
	Items             *struct {
		Data []*subscriptionItem `json:"data"`
	} `json:"items"`

	// A charge's.
	AmountRefunded int64 `json:"amount_refunded"`

	// A dispute's.
	Amount  int64 `json:"amount"`
	Created int64 `json:"created"`
}

type invoiceLine struct {
	Type      string            `json:"type"`
	Proration bool              `json:"proration"`
	Metadata  map[string]string `json:"metadata"`
	Period    *struct {
		Start int64 `json:"start"`
		End   int64 `json:"end"`
	} `json:"period"`
	Price *price `json:"price"`
	Plan  *plan  `json:"plan"`
}

type subscriptionItem struct {
	Quantity int64  `json:"quantity"`
	Price    *price `json:"price"`
	Plan     *plan  `json:"plan"`
}

// price and plan are objects, never bare ids, in these places of
// 2023-10-16's shapes (they are not expandable there).
type price struct {
	ID         string `json:"id"`
	UnitAmount int64  `json:"unit_amount"`
}

type plan struct {
	ID     string `json:"id"`
	Amount int64  `json:"amount"`
}

func (o *object) invoiceLines() []*invoiceLine {
	if o.Lines == nil {
		return nil
	}
	return o.Lines.Data
}

func (o *object) subscriptionItems() []*subscriptionItem {
	if o.Items == nil {
		return nil
	}
	return o.Items.Data
}
