package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aseptsoft/subledger/api"
)

func TestHealthz(t *testing.T) {
	srv := httptest.NewServer(api.New(api.Config{}))
	defer srv.Close()
	res, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]string
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || body["status"] != "ok" {
		t.Fatalf("GET /healthz = %d %v, want 200 ok", res.StatusCode, body)
	}
}

func TestReadyz(t *testing.T) {
	cases := []struct {
		name  string
		ready bool
		want  int
	}{
		{"catching_up_is_503", false, http.StatusServiceUnavailable},
		{"caught_up_is_200", true, http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(api.New(api.Config{Ready: func() bool { return c.ready }}))
			defer srv.Close()
			res, err := http.Get(srv.URL + "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != c.want {
				t.Fatalf("GET /readyz = %d, want %d", res.StatusCode, c.want)
			}
		})
	}
}
