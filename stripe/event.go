package stripe

import (
	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Event is a verified Stripe event, as much of it as subledger reads: the
// envelope, and of data.object only the members that the Translator uses
// (objects.go), all read in one pass.
//
// stripe-go's own stripeapi.Event decodes data.object a second time into a
// map of everything, and its typed objects (stripeapi.Invoice and the rest)
// re-validate the JSON at every nesting level through their UnmarshalJSON
// methods: together about 85% of a webhook's CPU time, for fields that
// subledger never reads (docs/BENCHMARKS.md). The fields below have the
// names and JSON types of stripe-go v76's, API version 2023-10-16. They are
// read with the encoding/json v2 prototype (github.com/go-json-experiment/json,
// which the codec already uses), which validates and decodes in one pass
// and skips unknown members without decoding them; names match exactly,
// as Stripe writes them.
type Event struct {
	Envelope
	Data struct {
		// Object is nil when data.object is absent or null. For a type
		// subledger does not handle it may be left unread (empty).
		Object *object `json:"object"`
	} `json:"data"`
}

// Envelope is the part of an event around its object.
type Envelope struct {
	ID         string `json:"id"`
	Object     string `json:"object"`
	Type       string `json:"type"`
	APIVersion string `json:"api_version"`
	Created    int64  `json:"created"`
	// Account is set on the events of a connected account.
	Account string `json:"account"`
}

// parseEvent reads a verified body as an Event. Its error holds nothing
// of the body.
//
// Stripe writes the type after data.object, so the object is read before
// its type is known. When it does not read as one of the handled types'
// (an object of another type with a member of the same name and another
// JSON type), the envelope is read again on its own: an event of an
// unhandled type is then acknowledged and ignored as any other, and only
// a handled type whose object does not read is malformed.
func parseEvent(payload []byte) (Event, error) {
	var ev Event
	if err := unmarshal(payload, &ev); err == nil {
		return ev, nil
	}
	var raw struct {
		Envelope
		Data struct {
			Object jsontext.Value `json:"object"`
		} `json:"data"`
	}
	if err := unmarshal(payload, &raw); err != nil || handled(raw.Type) {
		return Event{}, ErrMalformedEvent
	}
	ev = Event{Envelope: raw.Envelope}
	if raw.Data.Object.Kind() == '{' {
		ev.Data.Object = &object{}
	}
	return ev, nil
}

// unmarshal decodes JSON as encoding/json would for these types: a
// repeated member name is allowed (the last one wins), as it is there.
// Checking names for repeats cost a third of the decoding time.
func unmarshal(b []byte, v any) error {
	return jsonv2.Unmarshal(b, v, jsontext.AllowDuplicateNames(true))
}

// id is an expandable reference: Stripe sends it as the object's id, or as
// the object itself when it was expanded, or as null.
type id string

// UnmarshalJSONFrom reads an id, an expanded object's id, or null.
func (i *id) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	switch dec.PeekKind() {
	case 'n':
		_, err := dec.ReadToken()
		*i = ""
		return err
	case '{':
		var o struct {
			ID string `json:"id"`
		}
		if err := jsonv2.UnmarshalDecode(dec, &o); err != nil {
			return err
		}
		*i = id(o.ID)
		return nil
	}
	var s string
	if err := jsonv2.UnmarshalDecode(dec, &s); err != nil {
		return err
	}
	*i = id(s)
	return nil
}
