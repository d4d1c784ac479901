package stripemocktest_test

import (
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/aseptsoft/subledger/stripe/stripemocktest"
)

func TestStartListensOnLoopbackAndStopsWithTheTest(t *testing.T) {
	var base string
	t.Run("running", func(t *testing.T) {
		base = stripemocktest.Start(t)
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
			t.Fatalf("base URL %s is not on loopback", base)
		}
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/customers/cus_123", nil)
		req.Header.Set("Authorization", "Bearer "+stripemocktest.APIKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET a customer: %s", resp.Status)
		}
	})
	// The subtest's cleanup killed the process.
	u, _ := url.Parse(base)
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", u.Host, 200*time.Millisecond)
		if err != nil {
			return
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("stripe-mock still listens at %s after its test ended", u.Host)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
