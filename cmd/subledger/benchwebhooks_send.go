// The parts of bench webhooks that talk to the server: the accounts, the
// servers, and the phases that send and verify.

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aseptsoft/subledger/domain"
)

// benchWebhooksAccounts signs up n accounts through the domain service on
// a new store in dir, 16 at a time, and returns their ids.
func benchWebhooksAccounts(ctx context.Context, dir string, n int) ([]string, error) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := openStack(ctx, config{DataDir: dir, Store: "embedded"}, logger)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	svc, err := st.service(config{}, benchSigningKey(), domain.Argon2id{Time: 1, MemoryKiB: 64})
	if err != nil {
		return nil, err
	}
	ids := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, 16)
	for w := 0; w < min(16, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				acc, _, err := svc.RegisterAccount(ctx, domain.RegisterAccount{Name: fmt.Sprintf("Webhook Customer %d", i),
					Email: fmt.Sprintf("webhook-customer%d@example.com", i), Password: benchPassword})
				if err != nil {
					errc <- fmt.Errorf("bench webhooks: sign up account %d: %w", i, err)
					next.Store(int64(n))
					return
				}
				ids[i] = acc.ID
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return nil, err
	}
	return ids, ctx.Err()
}

// benchWebhooksServe runs serve on a free 127.0.0.1 port over dir with the
// webhook secret, its output discarded, until the returned stop is called;
// it returns once /readyz answers 200, with the base URL and the store key.
func benchWebhooksServe(ctx context.Context, dir, secret string) (string, string, func(), error) {
	return benchServe(ctx, "bench webhooks", dir, "--stripe-webhook-secret", secret)
}

// benchWebhooksBare serves POST /v1/webhooks/stripe on a free 127.0.0.1
// port with Echo: it reads the body and answers answer, with no other work.
func benchWebhooksBare(answer []byte) (string, func(), error) {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.POST("/v1/webhooks/stripe", func(c echo.Context) error {
		if _, err := io.Copy(io.Discard, c.Request().Body); err != nil {
			return err
		}
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, answer)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// postWebhook posts one signed body and returns the status and answer.
func postWebhook(ctx context.Context, client *http.Client, req *http.Request) (int, []byte, error) {
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// benchWebhooksSubscribe creates, senders at a time, every subscription not
// yet created: customer.subscription.created, then its first invoice.paid
// (subscription_create), each answered 200. It returns how many it created.
func benchWebhooksSubscribe(ctx context.Context, client *http.Client, url string, gen *webhookGen, senders int) (int, error) {
	var todo []int
	for i := range gen.next {
		if gen.next[i].Load() == 0 {
			todo = append(todo, i)
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, senders)
	for w := 0; w < min(senders, len(todo)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1) - 1)
				if k >= len(todo) || ctx.Err() != nil {
					return
				}
				i := todo[k]
				for _, body := range [][]byte{gen.subscriptionCreated(i), gen.invoicePaid(i, 0)} {
					req, err := gen.request(ctx, url, body)
					if err != nil {
						errc <- err
						next.Store(int64(len(todo)))
						return
					}
					status, answer, err := postWebhook(ctx, client, req)
					if err == nil && status != http.StatusOK {
						err = fmt.Errorf("%d %s", status, bytes.TrimSpace(answer))
					}
					if err != nil {
						errc <- fmt.Errorf("bench webhooks: set up subscription %d: %w", i, err)
						next.Store(int64(len(todo)))
						return
					}
				}
				gen.next[i].Store(1)
				gen.state.Next[i] = 1
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return 0, err
	}
	return len(todo), ctx.Err()
}

// benchWebhooksAnswer returns the server's answer to a delivery: a
// redelivery of subscription 0's first invoice (a duplicate, which changes
// nothing).
func benchWebhooksAnswer(ctx context.Context, client *http.Client, url string, gen *webhookGen) ([]byte, error) {
	req, err := gen.request(ctx, url, gen.invoicePaid(0, 0))
	if err != nil {
		return nil, err
	}
	status, body, err := postWebhook(ctx, client, req)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("bench webhooks: a redelivery got %d %s", status, bytes.TrimSpace(body))
	}
	return body, nil
}

// benchWebhooksVerify checks, senders at a time, that each subscription of
// indexes is listed on its account, active, of the plan, with its current
// period ending where the last month invoiced to it ends. It returns the
// number that are not, and the first difference.
func benchWebhooksVerify(ctx context.Context, client *http.Client, base, storeKey string, gen *webhookGen, indexes []int, senders int) (int, string, error) {
	var bad atomic.Int64
	var mu sync.Mutex
	var first string
	var firstErr error
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < min(senders, len(indexes)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1) - 1)
				if k >= len(indexes) || ctx.Err() != nil {
					return
				}
				i := indexes[k]
				problem, err := gen.verify(ctx, client, base, storeKey, i)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if problem != "" {
					bad.Add(1)
					if first == "" {
						first = problem
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return 0, "", firstErr
	}
	return int(bad.Load()), first, ctx.Err()
}
