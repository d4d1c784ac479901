// Translation of Checkout Sessions: a license sale, or the checkout that
// starts a subscription.

package stripe

import (
	"fmt"
	"strconv"

	stripeapi "github.com/stripe/stripe-go/v76"

	"github.com/aseptsoft/subledger/domain"
)

func (t *Translator) checkoutSession(f *Fact, ev Event) error {
	s, err := objectOf(ev, "checkout.session")
	if err != nil {
		return err
	}
	md := s.Metadata
	if md[MetaAccountID] == "" {
		return nil // not ours: subledger's checkout always sets it
	}
	f.Tie = TieMetadata
	switch s.Mode {
	case string(stripeapi.CheckoutSessionModePayment):
		if s.PaymentStatus == string(stripeapi.CheckoutSessionPaymentStatusUnpaid) {
			f.Ignored = IgnoredNotPaid
			return nil
		}
		// paid, or no_payment_required (a 100% discount): a license.
		quantity, err := metaQuantity(ev, md)
		if err != nil {
			return err
		}
		f.Command = domain.RecordCheckoutPaid{SessionID: s.ID, PaymentIntentID: string(s.PaymentIntent),
			AccountID: md[MetaAccountID], ProductID: md[MetaProductID], Quantity: quantity,
			AffiliateID: md[MetaAffiliateID], Amount: s.AmountTotal, Currency: s.Currency, OccurredAt: f.CreatedAt}
	case string(stripeapi.CheckoutSessionModeSubscription):
		f.Command = domain.RecordSubscriptionCheckout{SessionID: s.ID, SubscriptionID: string(s.Subscription),
			AccountID: md[MetaAccountID], ProductID: md[MetaProductID], AffiliateID: md[MetaAffiliateID],
			Amount: s.AmountTotal, Currency: s.Currency, OccurredAt: f.CreatedAt}
	default:
		f.Ignored = IgnoredMode
	}
	return nil
}

// metaQuantity reads the quantity metadata; 1 when absent.
func metaQuantity(ev Event, md map[string]string) (int, error) {
	q, ok := md[MetaQuantity]
	if !ok || q == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(q)
	if err != nil {
		return 0, fmt.Errorf("%w: the quantity metadata of %s is not a number", ErrMalformedEvent, ev.Type)
	}
	return n, nil
}
