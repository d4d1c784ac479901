package codec_test

import (
	"strings"
	"testing"

	"github.com/aseptsoft/subledger/eventstore/codec"
)

type contact struct {
	Email string `json:"email" personal:"true"`
}

type nestedPersonal struct {
	ID      string  `json:"id"`
	Contact contact `json:"contact"`
}

func (nestedPersonal) EventType() string   { return "test.nested_personal.v1" }
func (nestedPersonal) DataSubject() string { return "s" }

type nestedInSlice struct {
	Contacts []*contact `json:"contacts"`
}

func (nestedInSlice) EventType() string   { return "test.nested_in_slice.v1" }
func (nestedInSlice) DataSubject() string { return "s" }

type wholeStructPersonal struct {
	Contact contact `json:"contact" personal:"true"`
}

func (wholeStructPersonal) EventType() string   { return "test.whole_struct_personal.v1" }
func (wholeStructPersonal) DataSubject() string { return "s" }

func TestRegisterRefusesPersonalFieldsItCannotEncrypt(t *testing.T) {
	cases := []struct {
		name    string
		proto   codec.Typer
		refused bool
	}{
		{"personal_field_in_a_nested_struct_is_refused", nestedPersonal{}, true},
		{"personal_field_in_a_slice_of_pointers_is_refused", nestedInSlice{}, true},
		{"a_nested_struct_marked_personal_as_a_whole_is_accepted", wholeStructPersonal{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := codec.NewRegistry().Register(codec.Type{Prototype: c.proto})
			if c.refused != (err != nil) {
				t.Fatalf("Register = %v, refused want %v", err, c.refused)
			}
			if c.refused && !strings.Contains(err.Error(), "personal") {
				t.Fatalf("error %q does not say why", err)
			}
		})
	}
}
