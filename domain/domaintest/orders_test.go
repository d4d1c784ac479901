package domaintest

import (
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// The generated orders are what Orders promises: every fact at least once,
// every action exactly once and in time order, and no first delivery of a
// fact on the wrong side of an action it is causally bound to.
func TestOrdersAreCausal(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		lc := Lifecycles(Limits{}).Draw(t, "lifecycle")
		inOrder := lc.InOrder()
		if len(inOrder) != len(lc.Facts)+len(lc.Actions) {
			t.Fatalf("time order has %d steps, want %d", len(inOrder), len(lc.Facts)+len(lc.Actions))
		}
		for i := 1; i < len(inOrder); i++ {
			if lc.time(inOrder[i]).Before(lc.time(inOrder[i-1])) {
				t.Fatalf("time order: %s before %s", lc.Label(inOrder[i-1]), lc.Label(inOrder[i]))
			}
		}
		for name, order := range map[string][]Step{"time order": inOrder, "drawn order": lc.Orders().Draw(t, "order")} {
			first := map[Step]int{}
			actions := 0
			for i, s := range order {
				if _, seen := first[s]; seen && s.Action {
					t.Fatalf("%s: %s delivered twice", name, lc.Label(s))
				}
				if _, seen := first[s]; !seen {
					first[s] = i
				}
				if s.Action {
					if s.Index != actions {
						t.Fatalf("%s: action %d delivered as action number %d", name, s.Index, actions)
					}
					actions++
				}
			}
			if len(first) != len(inOrder) {
				t.Fatalf("%s: %d distinct steps, want %d", name, len(first), len(inOrder))
			}
			for ai, a := range lc.Actions {
				at := first[Step{Action: true, Index: ai}]
				for fi, f := range lc.Facts {
					ft := first[Step{Index: fi}]
					if a.mustPrecede(f) && ft > at || a.mustFollow(f) && ft < at {
						t.Fatalf("%s: %s at %d and %s at %d", name, lc.Label(Step{Index: fi}), ft, a.Label(), at)
					}
				}
			}
		}
		if !slices.IsSortedFunc(lc.Actions, func(a, b Action) int { return a.At.Compare(b.At) }) {
			t.Fatalf("actions are not in time order")
		}
	})
}
