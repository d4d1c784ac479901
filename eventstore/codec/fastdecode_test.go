package codec

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
)

type fastStatus string

type fastInner struct {
	Paid bool      `json:"paid"`
	At   time.Time `json:"at"`
}

type fastEmbedded struct {
	Seq int16 `json:"seq"`
}

// fastEvent has a field of every kind the fast decoder reads.
type fastEvent struct {
	fastEmbedded
	ID     string     `json:"id"`
	Status fastStatus `json:"status,omitempty"`
	N      int64      `json:"n"`
	Small  int8       `json:"small,omitempty"`
	U      uint32     `json:"u"`
	Inner  fastInner  `json:"inner"`
	Secret string     `json:"secret,omitempty" personal:"true"`
}

func (fastEvent) EventType() string     { return "FastEvent" }
func (e fastEvent) DataSubject() string { return e.ID }

type textName string

func (t *textName) UnmarshalText(b []byte) error {
	*t = textName(strings.ToUpper(string(b)))
	return nil
}

// Tier is an exported non-struct type to embed.
type Tier string

// marshalsItself is a struct with its own JSON encoding.
type marshalsItself struct {
	A string `json:"a"`
}

func (m marshalsItself) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"a": m.A})
}

// unmarshalsItself is a struct with its own JSON decoding.
type unmarshalsItself struct {
	A string `json:"a"`
}

func (u *unmarshalsItself) UnmarshalJSON([]byte) error { u.A = "itself"; return nil }

func TestFastPlanRefusesWhatItDoesNotRead(t *testing.T) {
	cases := []struct {
		name      string
		prototype any
		wantPlan  bool
	}{
		{"every_read_kind_has_a_plan", fastEvent{}, true},
		{"float_field_has_none", struct {
			F float64 `json:"f"`
		}{}, false},
		{"slice_field_has_none", struct {
			S []string `json:"s"`
		}{}, false},
		{"pointer_field_has_none", struct {
			P *int `json:"p"`
		}{}, false},
		{"string_option_has_none", struct {
			N int `json:"n,string"`
		}{}, false},
		{"type_with_its_own_decoding_has_none", struct {
			T textName `json:"t"`
		}{}, false},
		{"nested_float_has_none", struct {
			In struct {
				F float32 `json:"f"`
			} `json:"in"`
		}{}, false},
		{"duration_field_has_none", struct {
			Hold time.Duration `json:"hold"`
		}{}, false},
		{"nested_duration_has_none", struct {
			In struct{ Hold time.Duration } `json:"in"`
		}{}, false},
		{"embedded_non_struct_has_none", struct {
			Tier
			N int `json:"n"`
		}{}, false},
		{"embedded_unexported_non_struct_has_none", struct {
			fastStatus
			N int `json:"n"`
		}{}, false},
		{"embedded_struct_with_marshal_method_has_none", struct {
			marshalsItself
			N int `json:"n"`
		}{}, false},
		{"embedded_struct_with_unmarshal_method_has_none", struct {
			unmarshalsItself
			N int `json:"n"`
		}{}, false},
		{"embedded_struct_with_options_has_none", struct {
			fastEmbedded `json:",omitempty"`
		}{}, false},
		{"embedded_non_struct_with_a_name_has_a_plan", struct {
			Tier `json:"plan"`
		}{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan := newFastPlan(reflect.TypeOf(c.prototype), func(bool) bool { return true })
			if (plan != nil) != c.wantPlan {
				t.Fatalf("plan %v, want one: %v", plan, c.wantPlan)
			}
		})
	}
}

// holdEvent has the field types of the review's example: a duration
// without a format and an embedded non-struct, which the general decoder
// refuses whatever the JSON.
type holdEvent struct {
	Hold time.Duration
	Tier
}

func (holdEvent) EventType() string { return "HoldEvent" }

// personalHoldEvent has such a field among its personal ones only.
type personalHoldEvent struct {
	ID   string        `json:"id"`
	Hold time.Duration `json:"hold" personal:"true"`
}

func (personalHoldEvent) EventType() string     { return "PersonalHoldEvent" }
func (e personalHoldEvent) DataSubject() string { return e.ID }

// inheritsUnmarshalEvent decodes itself through the method it embeds.
type inheritsUnmarshalEvent struct {
	unmarshalsItself
	N int `json:"n"`
}

func (inheritsUnmarshalEvent) EventType() string { return "InheritsUnmarshalEvent" }

// repeatedOptionEvent repeats a tag option, which only the general decoder
// refuses: newFastPlan has a plan for it, the registration's check of that
// plan against the general decoder drops it.
type repeatedOptionEvent struct {
	//lint:ignore SA5008 the repeated option is what this type is for.
	N int `json:"n,omitempty,omitempty"`
}

func (repeatedOptionEvent) EventType() string { return "RepeatedOptionEvent" }

// TestRegisteredPlansAgreeWithTheGeneralDecoder checks that Register keeps
// a type's fast plans only when the general decoder reads the type, and
// that decodeCurrent, with the plans Register made, decodes an event as
// the general decoder does, or fails as it does.
func TestRegisteredPlansAgreeWithTheGeneralDecoder(t *testing.T) {
	cases := []struct {
		name     string
		event    Typer
		wantPlan bool
	}{
		{"every_read_kind_keeps_its_plans", fastEvent{fastEmbedded: fastEmbedded{Seq: 2}, ID: "e1", N: 5, Secret: "s"}, true},
		{"duration_and_embedded_non_struct_lose_them", holdEvent{Hold: time.Hour, Tier: "pro"}, false},
		{"personal_duration_loses_them", personalHoldEvent{ID: "e1", Hold: time.Hour}, false},
		{"inherited_unmarshal_method_loses_them", inheritsUnmarshalEvent{unmarshalsItself{A: "a"}, 1}, false},
		{"repeated_tag_option_loses_them", repeatedOptionEvent{N: 1}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := NewRegistry()
			if err := r.Register(Type{Prototype: c.event}); err != nil {
				t.Fatal(err)
			}
			info := r.lookup(c.event.EventType())
			if got := info.plainPlan != nil && info.persPlan != nil; got != c.wantPlan || (info.plainPlan == nil) != (info.persPlan == nil) {
				t.Fatalf("plain plan %v, personal plan %v; want both: %v", info.plainPlan, info.persPlan, c.wantPlan)
			}
			v := reflect.ValueOf(c.event)
			plain, err := marshalView(v, info.plain, info.plainView)
			if err != nil {
				t.Fatal(err)
			}
			pers, err := marshalView(v, info.personal, info.persView)
			if err != nil {
				t.Fatal(err)
			}
			got := reflect.New(info.typ)
			gotErr := decodeCurrent(&scratch{}, got, info, plain, pers)
			want := reflect.New(info.typ)
			wantErr := jsonv2.Unmarshal(plain, want.Interface())
			if wantErr == nil {
				wantErr = jsonv2.Unmarshal(pers, want.Interface())
			}
			if (gotErr == nil) != (wantErr == nil) {
				t.Fatalf("decodeCurrent: %v, the general decoder: %v", gotErr, wantErr)
			}
			if gotErr == nil && !reflect.DeepEqual(got.Interface(), want.Interface()) {
				t.Fatalf("decodeCurrent %+v, the general decoder %+v", got.Elem(), want.Elem())
			}
		})
	}
}

func TestFastDecodeReadsEncodeOutputAndRefusesTheRest(t *testing.T) {
	plain := newFastPlan(reflect.TypeFor[fastEvent](), func(p bool) bool { return !p })
	want := fastEvent{fastEmbedded: fastEmbedded{Seq: -3}, ID: "e1", Status: "open", N: -1234567890123, U: 7,
		Inner: fastInner{Paid: true, At: time.Date(2030, 1, 2, 3, 4, 5, 600, time.UTC)}}
	enc, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		in     string
		wantOK bool
	}{
		{"encoding_json_output_is_read", string(enc), true},
		{"omitted_fields_are_read", `{"seq":0,"id":"x","n":0,"u":0,"inner":{"paid":false,"at":"0001-01-01T00:00:00Z"}}`, true},
		{"empty_object_is_read", `{}`, true},
		{"members_out_of_order_are_refused", `{"id":"x","seq":1}`, false},
		{"duplicate_member_is_refused", `{"id":"x","id":"y"}`, false},
		{"unknown_member_is_refused", `{"id":"x","other":1}`, false},
		{"personal_member_in_the_plain_part_is_refused", `{"id":"x","secret":"s"}`, false},
		{"escaped_string_is_refused", `{"id":"a\"b"}`, false},
		{"non_ascii_string_is_refused", `{"id":"Zoë"}`, false},
		{"null_is_refused", `{"id":null}`, false},
		{"white_space_is_refused", `{"id": "x"}`, false},
		{"fraction_is_refused", `{"n":1.5}`, false},
		{"exponent_is_refused", `{"n":1e3}`, false},
		{"leading_zero_is_refused", `{"n":01}`, false},
		{"overflowing_small_int_is_refused", `{"small":128}`, false},
		{"negative_uint_is_refused", `{"u":-1}`, false},
		{"nineteen_digits_are_refused", `{"n":1234567890123456789}`, false},
		{"time_with_offset_is_refused", `{"inner":{"at":"2030-01-02T03:04:05+01:00"}}`, false},
		{"invalid_time_is_refused", `{"inner":{"at":"2030-13-02T03:04:05Z"}}`, false},
		{"one_digit_hour_is_refused", `{"inner":{"at":"2030-01-02T3:04:05Z"}}`, false},
		{"comma_before_the_fraction_is_refused", `{"inner":{"at":"2030-01-02T03:04:05,5Z"}}`, false},
		{"fraction_is_read", `{"inner":{"at":"2030-01-02T03:04:05.123456789Z"}}`, true},
		{"trailing_bytes_are_refused", `{"id":"x"} `, false},
		{"truncated_object_is_refused", `{"id":"x"`, false},
	}
	var d fastDecoder
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got fastEvent
			ok := d.decode(reflect.ValueOf(&got).Elem(), plain, []byte(c.in), true)
			if ok != c.wantOK {
				t.Fatalf("read: %v, want %v", ok, c.wantOK)
			}
			if !ok {
				return
			}
			var general fastEvent
			if err := jsonv2.Unmarshal([]byte(c.in), &general); err != nil {
				t.Fatalf("the general decoder refuses what the fast one read: %v", err)
			}
			if !reflect.DeepEqual(got, general) {
				t.Fatalf("fast %+v, general %+v", got, general)
			}
		})
	}
	var got fastEvent
	if !d.decode(reflect.ValueOf(&got).Elem(), plain, enc, true) || !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip: got %+v, want %+v", got, want)
	}
}

func TestFastDecodeInternsOnlyWhenAsked(t *testing.T) {
	plain := newFastPlan(reflect.TypeFor[fastEvent](), func(bool) bool { return true })
	in := []byte(`{"id":"repeated-id","secret":"personal value"}`)
	cases := []struct {
		name       string
		intern     bool
		wantCached bool
	}{
		{"plain_strings_are_cached", true, true},
		{"personal_strings_are_not_cached", false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var d fastDecoder
			var v fastEvent
			if !d.decode(reflect.ValueOf(&v).Elem(), plain, in, c.intern) {
				t.Fatal("not read")
			}
			cached := false
			for _, s := range d.strs {
				cached = cached || s == "personal value"
			}
			if cached != c.wantCached {
				t.Fatalf("cached: %v, want %v", cached, c.wantCached)
			}
		})
	}
}

// FuzzFastDecodeAgrees checks that whatever the fast decoder reads, the
// general decoder reads the same way.
func FuzzFastDecodeAgrees(f *testing.F) {
	plan := newFastPlan(reflect.TypeFor[fastEvent](), func(bool) bool { return true })
	for _, s := range []string{
		`{"seq":-3,"id":"e1","status":"open","n":-1234567890123,"u":7,"inner":{"paid":true,"at":"2030-01-02T03:04:05.0000006Z"},"secret":"s"}`,
		`{}`, `{"n":-0}`, `{"small":-128}`, `{"u":4294967295}`, `{"inner":{"at":"2030-02-30T00:00:00Z"}}`,
		`{"inner":{"at":"2030-01-02T24:00:00Z"}}`, `{"inner":{"at":"2030-01-02T03:04:05.Z"}}`,
		`{"inner":{"at":"2030-01-02T3:04:05Z"}}`, `{"inner":{"at":"2030-01-02T03:04:05,5Z"}}`, `{"inner":{"at":"0000-01-01T00:00:00.1234567891Z"}}`,
	} {
		f.Add([]byte(s))
	}
	var d fastDecoder
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast fastEvent
		if !d.decode(reflect.ValueOf(&fast).Elem(), plan, b, true) {
			return
		}
		var general fastEvent
		if err := jsonv2.Unmarshal(b, &general); err != nil {
			t.Fatalf("fast decoder read %q, the general one refuses it: %v", b, err)
		}
		if !reflect.DeepEqual(fast, general) {
			t.Fatalf("fast %+v, general %+v for %q", fast, general, b)
		}
	})
}

// BenchmarkDecodeFields compares the fast decoder with the general one on
// an event's plain JSON.
func BenchmarkDecodeFields(b *testing.B) {
	plan := newFastPlan(reflect.TypeFor[fastEvent](), func(p bool) bool { return !p })
	in := []byte(`{"seq":3,"id":"9a19de42-3668-8b2c-99af-d64a377444fd","status":"subscription_cycle","n":1500,"u":7,"inner":{"paid":true,"at":"2025-04-20T10:00:00Z"}}`)
	b.Run("fast", func(b *testing.B) {
		var d fastDecoder
		b.ReportAllocs()
		for b.Loop() {
			var v fastEvent
			if !d.decode(reflect.ValueOf(&v).Elem(), plan, in, true) {
				b.Fatal("not read")
			}
		}
	})
	b.Run("general", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v fastEvent
			if err := jsonv2.Unmarshal(in, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
