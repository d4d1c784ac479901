package keyring

import (
	"fmt"
	"testing"
)

func cacheKey(subject string) *DataKey { return &DataKey{subject: subject, id: "id-" + subject} }

// TestKeyCache runs steps against a cache of two keys and checks which
// subjects it holds afterwards.
func TestKeyCache(t *testing.T) {
	type step struct {
		op      string // "put", "get", "remove", "reset"
		subject string
	}
	cases := []struct {
		name  string
		steps []step
		holds []string
		lacks []string
	}{
		{"keys_below_the_bound_all_stay",
			[]step{{"put", "a"}, {"put", "b"}}, []string{"a", "b"}, nil},
		{"a_full_cache_evicts_the_key_not_used_since_it_was_put",
			[]step{{"put", "a"}, {"put", "b"}, {"get", "a"}, {"put", "c"}}, []string{"a", "c"}, []string{"b"}},
		{"when_every_key_was_used_the_sweep_evicts_the_first_it_passes_again",
			[]step{{"put", "a"}, {"put", "b"}, {"get", "a"}, {"get", "b"}, {"put", "c"}}, []string{"b", "c"}, []string{"a"}},
		{"the_hand_moves_on_after_an_eviction",
			[]step{{"put", "a"}, {"put", "b"}, {"put", "c"}, {"put", "d"}}, []string{"c", "d"}, []string{"a", "b"}},
		{"a_removed_key_is_not_served_and_its_place_is_reused_first",
			[]step{{"put", "a"}, {"put", "b"}, {"get", "a"}, {"get", "b"}, {"remove", "b"}, {"put", "c"}}, []string{"a", "c"}, []string{"b"}},
		{"putting_a_cached_subject_again_keeps_one_entry",
			[]step{{"put", "a"}, {"put", "a"}, {"put", "b"}}, []string{"a", "b"}, nil},
		{"removing_an_uncached_subject_does_nothing",
			[]step{{"put", "a"}, {"remove", "x"}}, []string{"a"}, []string{"x"}},
		{"reset_drops_every_key_and_the_cache_fills_again",
			[]step{{"put", "a"}, {"put", "b"}, {"reset", ""}, {"put", "c"}}, []string{"c"}, []string{"a", "b"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			kc := newKeyCache(2)
			for _, s := range c.steps {
				switch s.op {
				case "put":
					kc.put(cacheKey(s.subject))
				case "get":
					if kc.get(s.subject) == nil {
						t.Fatalf("get %s: not cached", s.subject)
					}
				case "remove":
					kc.remove(s.subject)
				case "reset":
					kc.reset()
				}
			}
			for _, s := range c.holds {
				if k := kc.get(s); k == nil || k.subject != s {
					t.Errorf("subject %s: got %v, want its key", s, k)
				}
			}
			for _, s := range c.lacks {
				if k := kc.get(s); k != nil {
					t.Errorf("subject %s: got %v, want none", s, k)
				}
			}
			if kc.len() != len(c.holds) {
				t.Errorf("the cache holds %d keys, want %d", kc.len(), len(c.holds))
			}
		})
	}
}

// TestKeyCacheNeverExceedsItsBound puts, uses and removes many keys in
// caches of several shapes (one set smaller than cacheWays, one full set,
// several sets) and checks after each step that the cache holds no more
// than its bound, that its count is right, and that every key sits in its
// subject's set and is found there.
func TestKeyCacheNeverExceedsItsBound(t *testing.T) {
	for _, max := range []int{1, 3, cacheWays, 4 * cacheWays, 4*cacheWays + 5} {
		t.Run(fmt.Sprintf("bound_%d", max), func(t *testing.T) {
			kc := newKeyCache(max)
			if len(kc.ents) > max || len(kc.ents) < max-cacheWays {
				t.Fatalf("%d places for a bound of %d", len(kc.ents), max)
			}
			for i := range 2000 {
				s := fmt.Sprint(i % 97)
				switch i % 5 {
				case 0, 1, 2:
					kc.put(cacheKey(s))
					if k := kc.get(s); k == nil || k.subject != s {
						t.Fatalf("step %d: %s is not found right after its put", i, s)
					}
				case 3:
					kc.get(s)
				case 4:
					kc.remove(s)
					if kc.get(s) != nil {
						t.Fatalf("step %d: %s is served after its removal", i, s)
					}
				}
				n := 0
				for p := range kc.ents {
					e := &kc.ents[p]
					if e.k == nil {
						continue
					}
					n++
					if h, set := kc.set(e.k.subject); h != e.hash || p/kc.ways != set {
						t.Fatalf("step %d: %s sits in set %d, its set is %d", i, e.k.subject, p/kc.ways, set)
					}
				}
				if n != kc.len() || n > max {
					t.Fatalf("step %d: %d keys, count %d, bound %d", i, n, kc.len(), max)
				}
			}
		})
	}
}
