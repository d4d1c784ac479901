package codec_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/aseptsoft/subledger/eventstore/codec"
)

// legacyCodec returns a codec of today's types on a copy of the key ring of
// the golden events written before binding version 2, and those events by
// name. Their binding does not cover the plain JSON, so the tests below
// can edit it and still have the events decode.
func legacyCodec(t *testing.T) (*codec.Codec, map[string]golden) {
	t.Helper()
	const dir = "testdata/golden"
	byName := map[string]golden{}
	for _, g := range readGolden(t, dir) {
		byName[g.Name] = g
	}
	return codec.New(registry(t, currentTypes()), openGoldenRing(t, dir), codec.Config{}), byName
}

// TestOldPlainJSONCannotSetPersonalFields checks, through Decode and the
// fast plans Register makes, that personal members added to the plain JSON
// of an event without a version 2 binding set no personal field: those
// come from the personal part alone. The members are added once in field
// order, where the fast decoder would read them if its plain plan had the
// personal fields, and once out of order, which only the general decoder
// reads.
func TestOldPlainJSONCannotSetPersonalFields(t *testing.T) {
	ctx := context.Background()
	c, events := legacyCodec(t)
	const planted = `"name":"Planted Name","email":"planted@x.example","company":"Planted Ltd"`
	cases := []struct {
		name  string
		event string
		edit  func(t *testing.T, data []byte) []byte
	}{
		{"live_personal_part_wins_over_members_in_field_order", "account_registered_v2", inFieldOrder(planted)},
		{"live_personal_part_wins_over_members_out_of_order", "account_registered_v2", outOfOrder(planted)},
		{"no_personal_part_leaves_members_in_field_order_unread", "account_registered_v2_no_personal_values", inFieldOrder(planted)},
		{"no_personal_part_leaves_members_out_of_order_unread", "account_registered_v2_no_personal_values", outOfOrder(planted)},
		{"erased_event_leaves_members_in_field_order_unread", "account_registered_v2_erased", inFieldOrder(planted)},
		{"erased_event_leaves_members_out_of_order_unread", "account_registered_v2_erased", outOfOrder(planted)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, ok := events[tc.event]
			if !ok {
				t.Fatalf("no golden event %q", tc.event)
			}
			ev := g.event()
			ev.Data = tc.edit(t, ev.Data)
			got, meta, err := c.Decode(ctx, ev)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if meta.Erased != g.Erased {
				t.Fatalf("erased %v, want %v", meta.Erased, g.Erased)
			}
			gotJSON, _ := json.Marshal(got)
			if !jsonEqual(t, gotJSON, g.Want) {
				t.Fatalf("decoded %s, want %s", gotJSON, g.Want)
			}
		})
	}
}

// inFieldOrder returns an edit that adds members between an
// accountRegistered's account_id and plan, where its fields put them.
func inFieldOrder(members string) func(t *testing.T, data []byte) []byte {
	return func(t *testing.T, data []byte) []byte {
		return replaceOnce(t, data, `,"plan":`, `,`+members+`,"plan":`)
	}
}

// outOfOrder returns an edit that adds members after the last one.
func outOfOrder(members string) func(t *testing.T, data []byte) []byte {
	return func(t *testing.T, data []byte) []byte {
		if !bytes.HasSuffix(data, []byte("}")) {
			t.Fatalf("not an object: %s", data)
		}
		return append(append(bytes.Clone(data[:len(data)-1]), ","+members...), '}')
	}
}

// TestOldPersonalMemberAnywhereDecodes checks that an event without a
// version 2 binding decodes with its "_personal" member anywhere in the
// data, not only first where Encode writes it: older builds did not bind
// the layout, and such events must keep decoding.
func TestOldPersonalMemberAnywhereDecodes(t *testing.T) {
	ctx := context.Background()
	c, events := legacyCodec(t)
	layouts := []struct {
		name string
		edit func(t *testing.T, data []byte) []byte
	}{
		{"member_last_decodes", func(t *testing.T, data []byte) []byte {
			member, rest := splitPersonal(t, data)
			return append(append(append([]byte("{"), rest[:len(rest)-1]...), ','), append(member, '}')...)
		}},
		{"member_second_decodes", func(t *testing.T, data []byte) []byte {
			member, rest := splitPersonal(t, data)
			second := bytes.Index(rest, []byte(`,"`))
			if second < 0 {
				t.Fatalf("one plain member only: %s", data)
			}
			return append(append(append(append([]byte("{"), rest[:second+1]...), member...), ','), rest[second+1:]...)
		}},
		{"member_last_with_white_space_decodes", func(t *testing.T, data []byte) []byte {
			member, rest := splitPersonal(t, data)
			return append(append(append([]byte("{ "), rest[:len(rest)-1]...), ",\n  "...), append(member, " }"...)...)
		}},
	}
	for _, name := range []string{
		"account_registered_v2", "account_registered_v1_upcast_renamed_field", "stripe_link_pointer_embedded",
		"affiliate_signed_up_renamed_type", "account_registered_v2_erased", "account_registered_v1_erased",
	} {
		for _, l := range layouts {
			t.Run(name+"/"+l.name, func(t *testing.T) {
				g, ok := events[name]
				if !ok {
					t.Fatalf("no golden event %q", name)
				}
				ev := g.event()
				ev.Data = l.edit(t, ev.Data)
				got, meta, err := c.Decode(ctx, ev)
				if err != nil {
					t.Fatalf("Decode of %s: %v", ev.Data, err)
				}
				if meta.Erased != g.Erased {
					t.Fatalf("erased %v, want %v", meta.Erased, g.Erased)
				}
				gotJSON, _ := json.Marshal(got)
				if !jsonEqual(t, gotJSON, g.Want) {
					t.Fatalf("decoded %s, want %s", gotJSON, g.Want)
				}
			})
		}
	}
}

// splitPersonal splits data, in the codec's layout, into its "_personal"
// member and the rest of the object after it, up to and with the "}".
func splitPersonal(t *testing.T, data []byte) (member, rest []byte) {
	t.Helper()
	end := bytes.Index(data, []byte(`",`))
	if !bytes.HasPrefix(data, []byte(`{"_personal":"`)) || end < 0 {
		t.Fatalf("not the codec's layout: %s", data)
	}
	return bytes.Clone(data[1 : end+1]), bytes.Clone(data[end+2:])
}
