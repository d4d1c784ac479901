// One measured phase of bench http: the load, its latencies, and the
// profiles taken during it.

package main

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"time"
)

// httpProfiles names the profiles of a phase's measured time: cpu, and
// block (block, and mutex profile in block+".mutex"); "" for none.
type httpProfiles struct{ cpu, block string }

// runHTTPPhase runs conns closed-loop workers, each issuing the requests mk
// makes back to back, for warmup (not counted) then d. A request counts when
// it starts and ends within d; non-2xx answers and transport errors are
// errors. The measured time is profiled as profiles says.
func runHTTPPhase(ctx context.Context, client *http.Client, conns int, warmup, d time.Duration, profiles httpProfiles,
	mk func(worker, n int) (*http.Request, error)) (httpPhaseFigures, int, string, error) {
	begin := time.Now()
	from, to := begin.Add(warmup), begin.Add(warmup+d)
	lat := make([][]time.Duration, conns)
	errs := make([]int, conns)
	var firstErr string
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := make([]time.Duration, 0, 4096)
			for n := 0; ; n++ {
				t0 := time.Now()
				if !t0.Before(to) || ctx.Err() != nil {
					break
				}
				failure := ""
				req, err := mk(w, n)
				if err != nil {
					failure = err.Error()
				} else if resp, err := client.Do(req); err != nil {
					failure = err.Error()
				} else {
					var head [256]byte
					k, _ := io.ReadFull(resp.Body, head[:])
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode < 200 || resp.StatusCode > 299 {
						failure = resp.Status + ": " + string(head[:k])
					}
				}
				t1 := time.Now()
				if t0.Before(from) || t1.After(to) {
					continue
				}
				if failure != "" {
					errs[w]++
					mu.Lock()
					if firstErr == "" {
						firstErr = failure
					}
					mu.Unlock()
					continue
				}
				l = append(l, t1.Sub(t0))
			}
			lat[w] = l
		}()
	}
	perr := profilePhase(from, to, profiles)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return httpPhaseFigures{}, 0, "", err
	}
	var all []time.Duration
	nerr := 0
	for w := range lat {
		all = append(all, lat[w]...)
		nerr += errs[w]
	}
	slices.Sort(all)
	fig := httpPhaseFigures{Requests: len(all), RPS: float64(len(all)) / d.Seconds()}
	if len(all) > 0 {
		fig.P50ms = ms(all[quantileIndex(len(all), 0.50)])
		fig.P99ms = ms(all[quantileIndex(len(all), 0.99)])
	}
	return fig, nerr, firstErr, perr
}

// profilePhase profiles the time from..to as profiles says.
func profilePhase(from, to time.Time, profiles httpProfiles) error {
	if profiles == (httpProfiles{}) {
		return nil
	}
	time.Sleep(time.Until(from))
	var cpu *os.File
	if profiles.cpu != "" {
		f, err := os.Create(profiles.cpu)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return err
		}
		cpu = f
	}
	if profiles.block != "" {
		runtime.SetBlockProfileRate(10000) // one sample per 10 µs blocked
		runtime.SetMutexProfileFraction(5)
	}
	time.Sleep(time.Until(to))
	var err error
	if cpu != nil {
		pprof.StopCPUProfile()
		err = cpu.Close()
	}
	if profiles.block != "" {
		runtime.SetBlockProfileRate(0)
		runtime.SetMutexProfileFraction(0)
		for name, path := range map[string]string{"block": profiles.block, "mutex": profiles.block + ".mutex"} {
			f, ferr := os.Create(path)
			if ferr == nil {
				ferr = errors.Join(pprof.Lookup(name).WriteTo(f, 0), f.Close())
			}
			err = errors.Join(err, ferr)
		}
	}
	return err
}

// quantileIndex is the index of the q quantile of n sorted values (nearest
// rank).
func quantileIndex(n int, q float64) int {
	return min(max(int(math.Ceil(q*float64(n)))-1, 0), n-1)
}

func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())) / 1000 }
