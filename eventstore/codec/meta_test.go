package codec

import (
	"encoding/json"
	"testing"
)

func TestParseMetaAgreesWithEncodingJSON(t *testing.T) {
	cases := []struct {
		name     string
		in       string
		wantFast bool // read by the hand-written scanner
		wantErr  bool
		want     metaFields
	}{
		{"codec_output_is_read_fast", `{"actor":"store","request_id":"r1","correlation_id":"c1","causation_id":"k1","schema_version":2,"subject_id":"s1","key_id":"abc","binding":"AAECAwQFBgcICQoLDA0ODw=="}`, true, false,
			metaFields{actor: "store", request: "r1", correlation: "c1", causation: "k1", version: 2, subject: "s1", keyID: "abc", binding: [16]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, bindingLen: 16}},
		{"binding_version_is_read_fast", `{"schema_version":1,"binding_version":2,"binding":"AAECAwQFBgcICQoLDA0ODw=="}`, true, false,
			metaFields{version: 1, bindingVersion: 2, binding: [16]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, bindingLen: 16}},
		{"binding_version_with_leading_zero_is_an_error", `{"binding_version":02}`, false, true, metaFields{}},
		{"minimal_object_is_read_fast", `{"schema_version":1}`, true, false, metaFields{version: 1}},
		{"empty_object_is_read_fast", `{}`, true, false, metaFields{}},
		{"escaped_string_goes_to_encoding_json", `{"actor":"a\"b","schema_version":1}`, false, false, metaFields{actor: `a"b`, version: 1}},
		{"unicode_goes_to_encoding_json", `{"actor":"Zoë","schema_version":1}`, false, false, metaFields{actor: "Zoë", version: 1}},
		{"white_space_goes_to_encoding_json", `{ "schema_version": 3 }`, false, false, metaFields{version: 3}},
		{"unknown_member_goes_to_encoding_json", `{"x":true,"schema_version":3}`, false, false, metaFields{version: 3}},
		{"short_binding_is_marked_bad", `{"binding":"AAEC"}`, true, false, metaFields{bindingLen: -1}},
		{"trailing_garbage_is_an_error", `{"schema_version":1}x`, false, true, metaFields{}},
		{"truncated_object_is_an_error", `{"actor":"a"`, false, true, metaFields{}},
		{"leading_zero_is_an_error", `{"schema_version":01}`, false, true, metaFields{}},
		{"not_an_object_is_an_error", `[]`, false, true, metaFields{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, fast := parseMetaFast([]byte(c.in))
			if fast != c.wantFast {
				t.Errorf("fast path taken: %v, want %v", fast, c.wantFast)
			}
			got, err := parseMeta([]byte(c.in))
			if (err != nil) != c.wantErr {
				t.Fatalf("err %v, want error %v", err, c.wantErr)
			}
			if !c.wantErr && got != c.want {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// FuzzParseMeta checks that whatever the fast scanner accepts, encoding/json
// reads the same way.
func FuzzParseMeta(f *testing.F) {
	for _, s := range []string{
		`{"actor":"store","request_id":"r1","correlation_id":"c1","causation_id":"k1","schema_version":2,"subject_id":"s1","key_id":"abc","binding":"AAECAwQFBgcICQoLDA0ODw=="}`,
		`{"schema_version":1}`, `{}`, `{"actor":"a\"b"}`, `{"schema_version":01}`, `{"binding":"AAEC"}`,
		`{"schema_version":2,"key_id":"k","binding_version":2,"binding":"AAECAwQFBgcICQoLDA0ODw=="}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, ok := parseMetaFast(b)
		if !ok {
			return
		}
		var j metaJSON
		if err := json.Unmarshal(b, &j); err != nil {
			if fast.bindingLen == -1 {
				return // a binding that is not 16 bytes of base64: refused either way
			}
			t.Fatalf("fast path accepted %q, encoding/json refuses it: %v", b, err)
		}
		if j.Actor != fast.actor || j.RequestID != fast.request || j.CorrelationID != fast.correlation || j.CausationID != fast.causation ||
			j.SchemaVersion != fast.version || j.SubjectID != fast.subject || j.KeyID != fast.keyID || j.BindingVersion != fast.bindingVersion {
			t.Fatalf("fast %+v, encoding/json %+v for %q", fast, j, b)
		}
		if fast.bindingLen == bindingSize && string(j.Binding) != string(fast.binding[:]) {
			t.Fatalf("binding differs for %q", b)
		}
	})
}

func TestParseMetaFastCopiesOnlyTheStringFields(t *testing.T) {
	cases := []struct {
		name       string
		in         string
		wantAllocs float64
	}{
		{"metadata_without_strings_allocates_nothing", `{"schema_version":1,"binding_version":2,"binding":"AAECAwQFBgcICQoLDA0ODw=="}`, 0},
		{"subject_and_key_share_one_allocation", `{"schema_version":1,"subject_id":"9beebb5a-728e-8039-8a23-fcbc8a06543d","key_id":"997477df73447fb7","binding_version":2,"binding":"AAECAwQFBgcICQoLDA0ODw=="}`, 1},
		{"every_string_shares_one_allocation", `{"actor":"store","request_id":"r1","correlation_id":"c1","causation_id":"k1","schema_version":2,"subject_id":"s1","key_id":"abc","binding":"AAECAwQFBgcICQoLDA0ODw=="}`, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := []byte(c.in)
			want, err := parseMeta(b)
			if err != nil {
				t.Fatal(err)
			}
			if got := testing.AllocsPerRun(100, func() { parseMetaFast(b) }); got != c.wantAllocs {
				t.Errorf("%v allocations, want %v", got, c.wantAllocs)
			}
			for i := range b {
				b[i] = 'x'
			}
			if got, _ := parseMeta([]byte(c.in)); got != want {
				t.Fatalf("the parsed fields changed with the metadata bytes: %+v, want %+v", want, got)
			}
		})
	}
}
