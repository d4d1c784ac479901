package test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// The browser harness: Debian's Chromium, headless, driven by chromedp.
// One browser process serves a whole top-level test; each subtest gets its
// own tab with the cookies cleared. A failing subtest saves a screenshot
// of its tab in test/failures/ (printed in the test's output). With
// SUBLEDGER_SCREENSHOTS=DIR (make screenshots) the tests also save a
// screenshot of each page they pass through into DIR.

// browserFlags are the flags the portal's tests start Chromium with;
// without the network ones it keeps trying to reach hosts that are closed
// here.
var browserFlags = []chromedp.ExecAllocatorOption{
	chromedp.Flag("headless", true),
	chromedp.NoSandbox,
	chromedp.DisableGPU,
	chromedp.Flag("disable-quic", true),
	chromedp.NoFirstRun,
	chromedp.Flag("disable-background-networking", true),
	chromedp.Flag("disable-component-update", true),
	chromedp.Flag("disable-sync", true),
	chromedp.WindowSize(1280, 1000),
}

// chrome is one browser process.
type chrome struct {
	ctx       context.Context
	downloads string
}

// startChrome starts Chromium for the top-level test t, with an empty
// user data directory. Without Chromium the test is skipped, unless
// SUBLEDGER_REQUIRE_BROWSER is set (as .ci/run does).
func startChrome(t *testing.T) *chrome {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("SUBLEDGER_REQUIRE_BROWSER") != "" {
			t.Fatal("chromium is not installed (.ci/run installs it with apt-get)")
		}
		t.Skip("chromium is not installed; `apt-get install -y chromium` (as .ci/run does) to run the browser tests")
	}
	opts := append([]chromedp.ExecAllocatorOption{chromedp.ExecPath(path), chromedp.UserDataDir(t.TempDir())}, browserFlags...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return &chrome{ctx: bctx, downloads: t.TempDir()}
}

// tab is one subtest's page.
type tab struct {
	t   *testing.T
	ctx context.Context
	c   *chrome
}

// tab opens a tab for subtest t, with no cookies; when t fails, its
// screenshot goes to test/failures/.
func (c *chrome) tab(t *testing.T) *tab {
	ctx, cancel := chromedp.NewContext(c.ctx)
	t.Cleanup(cancel)
	// The first run opens the tab, which lives as long as that run's
	// context: this one, without a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	b := &tab{t: t, ctx: ctx, c: c}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		shot, err := chromedp.Run(b.timeout(10*time.Second), chromedp.FullScreenshot(80))
		if err != nil {
			t.Logf("no screenshot: %v", err)
			return
		}
		dir, _ := filepath.Abs("failures")
		_ = os.MkdirAll(dir, 0o755)
		name := filepath.Join(dir, regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(t.Name(), "_")+".jpg")
		if err := os.WriteFile(name, shot, 0o644); err == nil {
			t.Logf("screenshot of the failed page: %s", name)
		}
	})
	b.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: c.downloads, EventsEnabled: ptr(true)})
		return err
	}))
	return b
}

func ptr[T any](v T) *T { return &v }

func (b *tab) timeout(d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(b.ctx, d)
	b.t.Cleanup(cancel)
	return ctx
}

// do runs steps, failing the test on an error.
func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.timeout(30*time.Second), steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

func browse[T any](b *tab, a chromedp.Action[T]) T {
	b.t.Helper()
	v, err := chromedp.Run(b.timeout(30*time.Second), a)
	if err != nil {
		b.t.Fatalf("browser: %v", err)
	}
	return v
}

// open goes to url and waits for the page's heading.
func (b *tab) open(url string) {
	b.t.Helper()
	b.do(chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("h1")))
}

// heading is the page's h1.
func (b *tab) heading() string {
	b.t.Helper()
	return strings.TrimSpace(browse(b, chromedp.Text(chromedp.CSS("h1"))))
}

// submit clicks a form's button and waits for the page that follows to
// show then (the page before is marked, so that it cannot pass for it).
func (b *tab) submit(button string, then string) {
	b.t.Helper()
	b.do(chromedp.SetAttributeValue(chromedp.CSS("body"), "data-before", "1"),
		chromedp.Click(chromedp.CSS(button)),
		chromedp.WaitVisible(chromedp.CSS("body:not([data-before]) "+then)))
}

// fill sets an input's value.
func (b *tab) fill(sel, value string) {
	b.t.Helper()
	b.do(chromedp.SetValue(chromedp.CSS(sel), value))
}

// download clicks a download link and returns the file's content.
func (b *tab) download(sel string) []byte {
	b.t.Helper()
	ctx := b.timeout(30 * time.Second)
	progress := chromedp.Events(ctx, browser.DownloadProgress)
	b.do(chromedp.Click(chromedp.CSS(sel)))
	for ev, err := range progress {
		if err != nil {
			b.t.Fatalf("download of %s: %v", sel, err)
		}
		switch ev.State {
		case browser.DownloadProgressStateCompleted:
			data, err := os.ReadFile(filepath.Join(b.c.downloads, ev.GUID))
			if err != nil {
				b.t.Fatal(err)
			}
			return data
		case browser.DownloadProgressStateCanceled:
			b.t.Fatalf("download of %s cancelled", sel)
		}
	}
	b.t.Fatalf("download of %s: no completed download", sel)
	return nil
}

// cookies are the tab's cookies for url.
func (b *tab) cookies(url string) []*network.Cookie {
	b.t.Helper()
	res, err := chromedp.Call(b.timeout(10*time.Second), network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
	if err != nil {
		b.t.Fatal(err)
	}
	return res.Cookies
}

// restore puts cookies back, as a browser that ignored their removal would.
func (b *tab) restore(url string, cs []*network.Cookie) {
	b.t.Helper()
	var params []*network.CookieParam
	for _, c := range cs {
		params = append(params, &network.CookieParam{Name: c.Name, Value: c.Value, URL: url, Path: c.Path, HTTPOnly: c.HTTPOnly, SameSite: c.SameSite})
	}
	if _, err := chromedp.Call(b.timeout(10*time.Second), network.SetCookies, network.SetCookiesParams{Cookies: params}); err != nil {
		b.t.Fatal(err)
	}
}

// narrow shows the page 320 px wide and reports whether it scrolls
// sideways; wide puts the window back.
func (b *tab) narrow() (scrolls bool) {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: 320, Height: 900, DeviceScaleFactor: 1, Mobile: true})
		return err
	}))
	return browse(b, chromedp.EvaluateAsDevTools[bool](`document.documentElement.scrollWidth > document.documentElement.clientWidth + 1`))
}

func (b *tab) wide() {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{})
		return err
	}))
	// The page gets its width back a few frames after the command is
	// answered; a click in between lands where the narrow layout had the
	// button, and the form is never sent (1 run in 8 under load).
	browse(b, chromedp.Poll[bool](`window.innerWidth > 320`))
}

// shot saves a screenshot of the page as docs/portal-NAME.png when
// SUBLEDGER_SCREENSHOTS names a directory (make screenshots).
func (b *tab) shot(name string) {
	b.t.Helper()
	dir := os.Getenv("SUBLEDGER_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(b.timeout(20*time.Second), chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "portal-"+name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}
