package keyring

import (
	"context"
	"testing"
)

// TestKeyCacheTellsCollidingSubjectsApart runs steps against caches that
// give every subject the same hash (mask 0), so that every subject lands
// in one set with one hash and only the subject check tells the entries
// apart: the cache never serves one subject's key for another's.
func TestKeyCacheTellsCollidingSubjectsApart(t *testing.T) {
	type step struct {
		op      string // "put", "remove"
		subject string
	}
	cases := []struct {
		name  string
		max   int
		steps []step
		holds []string
		lacks []string
	}{
		{"a_colliding_subject_that_was_never_put_gets_no_key",
			4, []step{{"put", "a"}}, []string{"a"}, []string{"b"}},
		{"each_colliding_subject_gets_its_own_key",
			4, []step{{"put", "a"}, {"put", "b"}, {"put", "c"}}, []string{"a", "b", "c"}, nil},
		{"putting_a_colliding_subject_does_not_replace_the_others_key",
			4, []step{{"put", "a"}, {"put", "b"}, {"put", "a"}}, []string{"a", "b"}, nil},
		{"removing_a_colliding_subject_keeps_the_others_key",
			4, []step{{"put", "a"}, {"put", "b"}, {"remove", "a"}}, []string{"b"}, []string{"a"}},
		{"removing_a_colliding_subject_that_was_never_put_keeps_the_others_key",
			4, []step{{"put", "a"}, {"remove", "b"}}, []string{"a"}, []string{"b"}},
		{"a_full_set_of_colliding_subjects_evicts_without_mixing_keys",
			2, []step{{"put", "a"}, {"put", "b"}, {"put", "c"}}, []string{"b", "c"}, []string{"a"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			kc := newKeyCache(c.max)
			kc.mask = 0
			for _, s := range c.steps {
				switch s.op {
				case "put":
					kc.put(cacheKey(s.subject))
				case "remove":
					kc.remove(s.subject)
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
	t.Run("a_ring_whose_cache_hashes_every_subject_alike_serves_each_its_own_key", func(t *testing.T) {
		ctx := context.Background()
		r, err := OpenStoreRing(ctx, openStore(t, t.TempDir()), testMaster(t), Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		r.c.cache.mask = 0 // the cache is still empty
		subjects := []string{"acct-a", "acct-b", "acct-c"}
		ids := map[string]string{}
		for range 2 { // the first round creates the keys, the second reads them from the cache
			for _, s := range subjects {
				k, err := r.DataKey(ctx, s)
				if err != nil || k.Subject() != s {
					t.Fatalf("DataKey %s: %v, %v", s, k, err)
				}
				if id, ok := ids[s]; ok && id != k.ID() {
					t.Fatalf("DataKey %s: key %s, first %s", s, k.ID(), id)
				}
				ids[s] = k.ID()
			}
		}
		if r.c.cache.len() != len(subjects) {
			t.Fatalf("the cache holds %d keys, want %d", r.c.cache.len(), len(subjects))
		}
	})
}
