package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestPortalFlag: serve shows the portal's pages by default, and
// --portal=false turns them off (404) along with portal links (503).
func TestPortalFlag(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		page, link int
	}{
		{"the portal is on by default", nil, http.StatusOK, http.StatusUnprocessableEntity},
		{"--portal=false turns pages and links off", []string{"--portal=false"}, http.StatusNotFound, http.StatusServiceUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			args := append([]string{"--addr", addr, "--data-dir", t.TempDir(), "--api-key", "store=portal-test-store-key"}, tc.args...)
			go func() { done <- serve(ctx, args, io.Discard, io.Discard) }()
			defer func() {
				cancel()
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					t.Error("serve did not stop")
				}
			}()
			base := fmt.Sprintf("http://%s", addr)
			var res *http.Response
			for i := 0; i < 500; i++ {
				if res, err = http.Get(base + "/portal/sign-in"); err == nil {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tc.page {
				t.Fatalf("GET /portal/sign-in = %d, want %d", res.StatusCode, tc.page)
			}
			req, _ := http.NewRequest("POST", base+"/v1/portal-sessions", nil)
			req.Header.Set("Authorization", "Bearer portal-test-store-key")
			req.Header.Set("Content-Type", "application/json")
			req.Body = io.NopCloser(strings.NewReader(`{}`))
			res, err = http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tc.link {
				t.Fatalf("POST /v1/portal-sessions = %d, want %d", res.StatusCode, tc.link)
			}
		})
	}
}
