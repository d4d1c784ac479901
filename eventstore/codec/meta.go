package codec

import (
	"encoding/base64"
	"encoding/json"
)

// metaFields is parsed metadata. Its strings never alias the metadata
// bytes it was parsed from.
type metaFields struct {
	actor, request, correlation string
	causation                   string
	version                     int
	subject, keyID              string
	bindingVersion              int // 0: absent (written before version 2)
	binding                     [bindingSize]byte
	bindingLen                  int // -1: present but not 16 bytes of base64
}

// parseMeta reads the metadata the codec writes. A flat object of ASCII
// strings without escapes and one small integer is read by a hand-written
// scanner (the replay hot path); anything else goes through encoding/json.
func parseMeta(b []byte) (metaFields, error) {
	if m, ok := parseMetaFast(b); ok {
		return m, nil
	}
	var j metaJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return metaFields{}, err
	}
	m := metaFields{actor: j.Actor, request: j.RequestID, correlation: j.CorrelationID, causation: j.CausationID,
		version: j.SchemaVersion, subject: j.SubjectID, keyID: j.KeyID, bindingVersion: j.BindingVersion}
	switch len(j.Binding) {
	case 0:
	case bindingSize:
		m.bindingLen = copy(m.binding[:], j.Binding)
	default:
		m.bindingLen = -1
	}
	return m, nil
}

// The metadata's string fields, in the order the codec writes them.
const (
	metaActor = iota
	metaRequest
	metaCorrelation
	metaCausation
	metaSubject
	metaKeyID
	metaStrings
)

// parseMetaFast is parseMeta's scanner. It copies only the bytes from the
// first string field to the last one (one allocation, none for metadata
// without string fields); every field is a substring of that copy.
func parseMetaFast(b []byte) (m metaFields, ok bool) {
	var span [metaStrings][2]int // each string field's [start, end) in b
	n := len(b)
	if n < 2 || b[0] != '{' {
		return m, false
	}
	i := 1
	if b[i] == '}' {
		return m, i+1 == n
	}
	for {
		ks, ke, j, ok := fastString(b, i)
		if !ok || j >= n || b[j] != ':' {
			return m, false
		}
		key := b[ks:ke]
		i = j + 1
		if i >= n {
			return m, false
		}
		if string(key) == "schema_version" || string(key) == "binding_version" {
			v, j := 0, i
			for j < n && b[j] >= '0' && b[j] <= '9' && j-i < 6 {
				v = v*10 + int(b[j]-'0')
				j++
			}
			if j == i || (b[i] == '0' && j-i > 1) {
				return m, false
			}
			if string(key) == "schema_version" {
				m.version = v
			} else {
				m.bindingVersion = v
			}
			i = j
		} else {
			vs, ve, j, ok := fastString(b, i)
			if !ok {
				return m, false
			}
			f := -1
			switch string(key) {
			case "actor":
				f = metaActor
			case "request_id":
				f = metaRequest
			case "correlation_id":
				f = metaCorrelation
			case "causation_id":
				f = metaCausation
			case "subject_id":
				f = metaSubject
			case "key_id":
				f = metaKeyID
			case "binding":
				m.bindingLen = decodeBinding(&m.binding, b[vs:ve])
			default:
				return m, false
			}
			if f >= 0 {
				span[f] = [2]int{vs, ve}
			}
			i = j
		}
		if i >= n {
			return m, false
		}
		switch b[i] {
		case ',':
			i++
		case '}':
			if i+1 != n {
				return m, false
			}
			m.setStrings(b, &span)
			return m, true
		default:
			return m, false
		}
	}
}

// setStrings sets m's string fields to their spans of b, substrings of one
// copy of the bytes from the first span to the last.
func (m *metaFields) setStrings(b []byte, span *[metaStrings][2]int) {
	lo, hi := len(b), 0
	for _, sp := range span {
		if sp[1] > sp[0] {
			lo, hi = min(lo, sp[0]), max(hi, sp[1])
		}
	}
	if hi == 0 {
		return
	}
	s := string(b[lo:hi])
	str := func(f int) string {
		if span[f][1] == span[f][0] {
			return ""
		}
		return s[span[f][0]-lo : span[f][1]-lo]
	}
	m.actor, m.request, m.correlation, m.causation = str(metaActor), str(metaRequest), str(metaCorrelation), str(metaCausation)
	m.subject, m.keyID = str(metaSubject), str(metaKeyID)
}

// decodeBinding decodes a binding's base64 into dst; it returns its length,
// bindingSize, or -1 when enc is not 16 bytes of base64.
func decodeBinding(dst *[bindingSize]byte, enc []byte) int {
	var buf [bindingSize + 2]byte
	if base64.StdEncoding.DecodedLen(len(enc)) > len(buf) {
		return -1
	}
	if k, err := base64.StdEncoding.Decode(buf[:], enc); err != nil || k != bindingSize {
		return -1
	}
	return copy(dst[:], buf[:bindingSize])
}

// fastString reads a JSON string at b[i] made of printable ASCII without
// escapes; it returns the content's start and end and the index after the
// closing quote.
func fastString(b []byte, i int) (start, end, next int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, 0, i, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return i + 1, j, j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return 0, 0, i, false
		}
	}
	return 0, 0, i, false
}

// Meta is an event's envelope: who and what caused it, and how its personal
// part is encrypted.
type Meta struct {
	// EventID is the event's id. Encode uses it when set (it must be a UUID)
	// and draws a fresh one otherwise.
	EventID string
	// Stream is the stream the event is (to be) appended to. Encode needs
	// it, for the binding covers it; Decode reports the stored event's.
	Stream string
	// Actor names who caused the event (an account id, "stripe", "admin").
	Actor string
	// RequestID is the id of the HTTP request or webhook delivery that
	// caused the event.
	RequestID string
	// CorrelationID is the id of the conversation (request chain) the event
	// belongs to.
	CorrelationID string
	// CausationID is the id of the command or event that caused it.
	CausationID string
	// SchemaVersion is the version the event's data was written in: set by
	// Encode to the type's current version; Decode reports the stored
	// version (before upcasting).
	SchemaVersion int
	// SubjectID is the data subject of the event's personal data, set by
	// Encode from DataSubject.
	SubjectID string
	// KeyID names the data key of the personal part; empty when there is
	// none.
	KeyID string
	// Erased is set by Decode when the event's personal part could not be
	// read because its subject was forgotten; every personal field is zero.
	Erased bool
}

// metaJSON is the stored form of an event's metadata.
type metaJSON struct {
	Actor          string `json:"actor,omitempty"`
	RequestID      string `json:"request_id,omitempty"`
	CorrelationID  string `json:"correlation_id,omitempty"`
	CausationID    string `json:"causation_id,omitempty"`
	SchemaVersion  int    `json:"schema_version"`
	SubjectID      string `json:"subject_id,omitempty"`
	KeyID          string `json:"key_id,omitempty"`
	BindingVersion int    `json:"binding_version,omitempty"`
	Binding        []byte `json:"binding,omitempty"`
}
