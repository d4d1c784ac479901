package portal_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/aseptsoft/subledger/domain"
)

// TestEveryControlHasALabelAndTheKeyboardReachesIt: on every page, each
// form control a person fills in has a label (a <label for>, a wrapping
// <label>, or aria-label), every action is a native button or link (which
// the keyboard reaches and works), and nothing takes itself out of the tab
// order or reorders it.
func TestEveryControlHasALabelAndTheKeyboardReachesIt(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	aff, res, err := e.svc.RegisterAffiliate(ctx, domain.RegisterAffiliate{Name: "Aff", Email: "aff@example.com", CommissionRateBps: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.proj.WaitFor(ctx, res.Position); err != nil {
		t.Fatal(err)
	}
	customer := e.browser()
	customer.signedIn(e.signUp("Ann Example", "ann@example.com"))
	affiliate := e.browser()
	affiliate.get("/portal/sign-in")
	if p := affiliate.post("/portal/affiliate/sign-in", url.Values{"csrf": {affiliate.csrf()}, "api_key": {aff.APIKey}}); p.status != 303 {
		t.Fatalf("affiliate sign-in: %d", p.status)
	}
	anonymous := e.browser()
	tests := []struct {
		name string
		b    *browser
		path string
	}{
		{name: "the sign-in page", b: anonymous, path: "/portal/sign-in"},
		{name: "the account page", b: customer, path: "/portal/account"},
		{name: "the affiliate page", b: affiliate, path: "/portal/affiliate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.b.get(tt.path)
			if p.status != 200 {
				t.Fatalf("%s: %d", tt.path, p.status)
			}
			doc, err := html.Parse(strings.NewReader(p.body))
			if err != nil {
				t.Fatal(err)
			}
			for _, problem := range accessibilityProblems(doc) {
				t.Error(problem)
			}
		})
	}
}

// accessibilityProblems lists the controls without a label and what takes
// a control away from the keyboard.
func accessibilityProblems(doc *html.Node) []string {
	labelled := map[string]bool{}
	var controls []*html.Node
	var problems []string
	var walk func(n *html.Node, inLabel bool)
	walk = func(n *html.Node, inLabel bool) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "label":
				if f := attr(n, "for"); f != "" {
					labelled[f] = true
				}
				inLabel = true
			case "input", "select", "textarea":
				typ := attr(n, "type")
				if typ != "hidden" && typ != "submit" && typ != "button" && !inLabel && attr(n, "aria-label") == "" {
					controls = append(controls, n)
				}
			}
			// A positive tabindex reorders the tab order; -1 takes a control
			// out of it (on a target such as <main>, for a skip link, it
			// only lets focus be moved there).
			interactive := n.Data == "a" || n.Data == "button" || n.Data == "input" || n.Data == "select" || n.Data == "textarea"
			if ti := attr(n, "tabindex"); ti != "" && ti != "0" && (interactive || !strings.HasPrefix(ti, "-")) {
				problems = append(problems, "<"+n.Data+"> with tabindex "+ti)
			}
			if n.Data == "a" && attr(n, "href") == "" {
				problems = append(problems, "a link without href: "+text(n))
			}
			if (n.Data == "div" || n.Data == "span") && attr(n, "role") == "button" {
				problems = append(problems, "a "+n.Data+" acting as a button: "+text(n))
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inLabel)
		}
	}
	walk(doc, false)
	for _, c := range controls {
		if id := attr(c, "id"); id == "" || !labelled[id] {
			problems = append(problems, "<"+c.Data+" name="+attr(c, "name")+"> has no label")
		}
	}
	return problems
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}
