package domain

import "fmt"

// ProductKind is what a product sells.
type ProductKind string

// Product kinds.
const (
	ProductLicense ProductKind = "license"
	ProductPlan    ProductKind = "plan"
)

// Product is one entry of the catalogue: a perpetual license or a
// subscription plan, sold at a Stripe price.
type Product struct {
	ID            string      `json:"id"`
	Name          string      `json:"name"`
	Kind          ProductKind `json:"kind"`
	StripePriceID string      `json:"stripe_price_id"`
	Amount        int64       `json:"amount"`
	Currency      string      `json:"currency"`
	// Interval is "month" or "year" for a plan, empty for a license.
	Interval string `json:"interval,omitempty"`
}

// Catalog is the vendor's products, in the order given.
type Catalog struct {
	products []Product
	byID     map[string]int
}

// NewCatalog checks the products and returns the catalogue. Ids must be
// unique; a plan needs an interval and a license must not have one.
func NewCatalog(products []Product) (*Catalog, error) {
	c := &Catalog{byID: map[string]int{}}
	for i, p := range products {
		switch {
		case !validID(p.ID):
			return nil, fmt.Errorf("product %d: id is required", i)
		case !validText(p.Name, maxNameLen):
			return nil, fmt.Errorf("product %s: name is required (at most %d characters)", p.ID, maxNameLen)
		case p.Kind != ProductLicense && p.Kind != ProductPlan:
			return nil, fmt.Errorf("product %s: kind must be license or plan", p.ID)
		case !validID(p.StripePriceID):
			return nil, fmt.Errorf("product %s: stripe_price_id is required", p.ID)
		case !validAmount(p.Amount):
			return nil, fmt.Errorf("product %s: amount out of range", p.ID)
		case !validCurrency(p.Currency):
			return nil, fmt.Errorf("product %s: currency must be an ISO 4217 code in lower case", p.ID)
		case p.Kind == ProductPlan && p.Interval != "month" && p.Interval != "year":
			return nil, fmt.Errorf("product %s: a plan's interval must be month or year", p.ID)
		case p.Kind == ProductLicense && p.Interval != "":
			return nil, fmt.Errorf("product %s: a license has no interval", p.ID)
		}
		if _, dup := c.byID[p.ID]; dup {
			return nil, fmt.Errorf("product %s: listed twice", p.ID)
		}
		c.byID[p.ID] = len(c.products)
		c.products = append(c.products, p)
	}
	return c, nil
}

// Products returns every product, in catalogue order.
func (c *Catalog) Products() []Product { return append([]Product(nil), c.products...) }

// Product returns the product with id.
func (c *Catalog) Product(id string) (Product, bool) {
	i, ok := c.byID[id]
	if !ok {
		return Product{}, false
	}
	return c.products[i], true
}

// ExampleCatalog is the built-in catalogue a developer's server starts with
// when no --catalog file is given.
func ExampleCatalog() []Product {
	return []Product{
		{ID: "app-license", Name: "App (perpetual license)", Kind: ProductLicense, StripePriceID: "price_app_license", Amount: 4900, Currency: "usd"},
		{ID: "pro-monthly", Name: "Pro (monthly)", Kind: ProductPlan, StripePriceID: "price_pro_monthly", Amount: 900, Currency: "usd", Interval: "month"},
		{ID: "pro-yearly", Name: "Pro (yearly)", Kind: ProductPlan, StripePriceID: "price_pro_yearly", Amount: 9000, Currency: "usd", Interval: "year"},
	}
}

// Checkout is what a Stripe Checkout Session is made of: the account and
// its Stripe customer, the product (a license is sold in payment mode, a
// plan in subscription mode), the seats, the referring affiliate, and
// where Checkout sends the customer back.
type Checkout struct {
	AccountID   string
	CustomerID  string
	Product     Product
	Quantity    int
	AffiliateID string
	SuccessURL  string
	CancelURL   string
}
