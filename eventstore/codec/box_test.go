package codec

import (
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestBoxHoldsTheSameValueAsInterface(t *testing.T) {
	n := 7
	cases := []struct {
		name      string
		value     any
		wantBoxed bool // the allocation is handed over, not copied
	}{
		{"event_struct_is_handed_over", struct {
			ID   string
			At   time.Time
			Tags []string
			N    int
		}{ID: strings.Repeat("i", 36), At: time.Unix(1, 2).UTC(), Tags: []string{"a"}, N: 3}, true},
		{"two_word_struct_is_handed_over", struct{ A, B *int }{&n, nil}, true},
		{"pointer_shaped_struct_is_copied", struct{ P *int }{&n}, false},
		{"one_word_struct_is_copied", struct{ N int }{5}, false},
		{"empty_struct_is_copied", struct{}{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			typ := reflect.TypeOf(c.value)
			bt := boxType(typ)
			if (bt != nil) != c.wantBoxed {
				t.Fatalf("boxType is nil: %v, want %v", bt == nil, !c.wantBoxed)
			}
			if bt == nil {
				return
			}
			const count = 1000
			got := make([]any, count)
			for i := range got {
				p := reflect.New(typ)
				p.Elem().Set(reflect.ValueOf(c.value))
				got[i] = box(bt, p)
			}
			runtime.GC()
			for _, g := range got {
				if reflect.TypeOf(g) != typ || !reflect.DeepEqual(g, c.value) {
					t.Fatalf("got %#v, want %#v", g, c.value)
				}
			}
		})
	}
}
