package api_test

import (
	"sort"
	"strings"
	"testing"

	"github.com/aseptsoft/subledger/api/openapitest"
)

// TestEveryRouteIsDocumented: the OpenAPI document lists exactly the
// server's routes.
func TestEveryRouteIsDocumented(t *testing.T) {
	doc, err := openapitest.LoadDoc()
	if err != nil {
		t.Fatal(err)
	}
	var documented, served []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	e := newEnv(t)
	for _, r := range e.srv.Routes() {
		served = append(served, r.Method+" "+colonToBraces(r.Path))
	}
	sort.Strings(documented)
	sort.Strings(served)
	if strings.Join(documented, "\n") != strings.Join(served, "\n") {
		t.Fatalf("documented:\n%s\n\nserved:\n%s", strings.Join(documented, "\n"), strings.Join(served, "\n"))
	}
}
