package domaintest

import (
	"slices"

	"pgregory.net/rapid"
)

// Orders returns a generator of delivery orders of lc as Stripe may produce
// them: the facts in any order, some delivered again later (at least once
// delivery), the actions in their time order and causally placed among the
// facts (see Action). It shrinks towards the time order.
func (lc Lifecycle) Orders() *rapid.Generator[[]Step] {
	return rapid.Custom(func(t *rapid.T) []Step {
		out := lc.causalShuffle(t)
		for range rapid.IntRange(0, len(lc.Facts)/2+1).Draw(t, "duplicates") {
			if len(lc.Facts) == 0 {
				break
			}
			dup := Step{Index: rapid.IntRange(0, len(lc.Facts)-1).Draw(t, "duplicate")}
			first := slices.Index(out, dup)
			at := rapid.IntRange(first+1, len(out)).Draw(t, "duplicate_at")
			out = slices.Insert(out, at, dup)
		}
		return out
	})
}

// causalShuffle draws a topological order of the facts and actions under
// the constraints of causality: each step in turn is drawn among those
// whose predecessors are all delivered, listed in time order.
func (lc Lifecycle) causalShuffle(t *rapid.T) []Step {
	inOrder := lc.InOrder()
	rank := make(map[Step]int, len(inOrder))
	for i, s := range inOrder {
		rank[s] = i
	}
	succ := map[Step][]Step{}
	pending := map[Step]int{}
	edge := func(from, to Step) {
		succ[from] = append(succ[from], to)
		pending[to]++
	}
	for i, a := range lc.Actions {
		as := Step{Action: true, Index: i}
		if i > 0 {
			edge(Step{Action: true, Index: i - 1}, as)
		}
		for j, f := range lc.Facts {
			fs := Step{Index: j}
			switch {
			case a.mustFollow(f):
				edge(as, fs)
			case a.mustPrecede(f):
				edge(fs, as)
			}
		}
	}
	var ready []Step
	for _, s := range inOrder {
		if pending[s] == 0 {
			ready = append(ready, s)
		}
	}
	out := make([]Step, 0, len(inOrder))
	for len(ready) > 0 {
		i := 0
		if len(ready) > 1 {
			i = rapid.IntRange(0, len(ready)-1).Draw(t, "next")
		}
		s := ready[i]
		ready = slices.Delete(ready, i, i+1)
		out = append(out, s)
		for _, n := range succ[s] {
			if pending[n]--; pending[n] == 0 {
				at, _ := slices.BinarySearchFunc(ready, n, func(a, b Step) int { return rank[a] - rank[b] })
				ready = slices.Insert(ready, at, n)
			}
		}
	}
	if len(out) != len(inOrder) {
		// The time order satisfies every constraint, so there is no cycle.
		t.Fatalf("domaintest: causal order covers %d of %d steps", len(out), len(inOrder))
	}
	return out
}
