package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aseptsoft/subledger/api"
)

func TestHealthz(t *testing.T) {
	srv := httptest.NewServer(api.New())
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
