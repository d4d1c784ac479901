package domain

import (
	"fmt"
	"reflect"
	"testing"
	"time"
)

// on is the events of one stream, for a case's given and then.
type on struct {
	stream string
	events []Event
}

// gwt is one given/when/then case. Given events are written straight to
// the store; when runs commands at the fixture's clock; then lists every
// event the command appended, per stream and in order (nil: none). A case
// with code expects an error with that code and no event at all: a rejected
// command changes nothing.
type gwt struct {
	name  string
	at    time.Time
	given []on
	// setup runs commands that build the given state, before the mark.
	setup func(t *testing.T, f *fixture)
	when  func(f *fixture) error
	then  []on
	code  string
	check func(t *testing.T, f *fixture)
}

// testPasswords are the passwords the cases use; hashes in events are
// compared as "argon2id(<password>)".
var testPasswords = []string{"correct horse battery", "another good password", "third password!"}

func runGWT(t *testing.T, cases []gwt) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			for _, g := range c.given {
				f.store.given(t, g.stream, g.events...)
			}
			if c.setup != nil {
				c.setup(t, f)
			}
			if !c.at.IsZero() {
				f.now = c.at
			}
			mark := f.store.mark()
			f.mark = mark
			err := c.when(f)
			got := f.store.since(mark)
			if c.code != "" {
				if ErrorCode(err) != c.code {
					t.Fatalf("error = %v (code %q), want code %q", err, ErrorCode(err), c.code)
				}
				if len(got) != 0 {
					t.Fatalf("a rejected command appended events: %v", describe(got))
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if c.then != nil || c.check == nil {
				want := map[string][]Event{}
				for _, o := range c.then {
					want[o.stream] = append(want[o.stream], o.events...)
				}
				redact(got)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("appended events differ\n got: %v\nwant: %v", describe(got), describe(want))
				}
			}
			if c.check != nil {
				c.check(t, f)
			}
		})
	}
}

// redact replaces password hashes by the test password they verify.
func redact(m map[string][]Event) {
	name := func(hash string) string {
		for _, pw := range testPasswords {
			if VerifyPassword(hash, pw) {
				return "argon2id(" + pw + ")"
			}
		}
		return hash
	}
	for _, events := range m {
		for i, e := range events {
			switch x := e.(type) {
			case AccountRegistered:
				x.PasswordHash = name(x.PasswordHash)
				events[i] = x
			case AccountPasswordSet:
				x.PasswordHash = name(x.PasswordHash)
				events[i] = x
			}
		}
	}
}

func describe(m map[string][]Event) string {
	s := ""
	for stream, events := range m {
		s += "\n  " + stream + ":"
		for _, e := range events {
			s += "\n    " + e.EventType() + " " + stringify(e)
		}
	}
	return s
}

func stringify(e Event) string { return fmt.Sprintf("%+v", e) }

// eventTypes returns the types of events, in order.
func eventTypes(events []Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.EventType()
	}
	return out
}
