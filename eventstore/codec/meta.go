package codec

import (
	"encoding/base64"
	"encoding/json"
)

// metaFields is parsed metadata. Its strings share one copy of the
// metadata bytes.
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

func parseMetaFast(b []byte) (m metaFields, ok bool) {
	s := string(b) // one copy; every field is a substring of it
	i, n := 0, len(s)
	if n < 2 || s[0] != '{' {
		return m, false
	}
	i = 1
	if s[i] == '}' {
		return m, i+1 == n
	}
	for {
		key, j, ok := fastString(s, i)
		if !ok || j >= n || s[j] != ':' {
			return m, false
		}
		i = j + 1
		if i >= n {
			return m, false
		}
		if key == "schema_version" || key == "binding_version" {
			v, j := 0, i
			for j < n && s[j] >= '0' && s[j] <= '9' && j-i < 6 {
				v = v*10 + int(s[j]-'0')
				j++
			}
			if j == i || (s[i] == '0' && j-i > 1) {
				return m, false
			}
			if key == "schema_version" {
				m.version = v
			} else {
				m.bindingVersion = v
			}
			i = j
		} else {
			val, j, ok := fastString(s, i)
			if !ok {
				return m, false
			}
			switch key {
			case "actor":
				m.actor = val
			case "request_id":
				m.request = val
			case "correlation_id":
				m.correlation = val
			case "causation_id":
				m.causation = val
			case "subject_id":
				m.subject = val
			case "key_id":
				m.keyID = val
			case "binding":
				var buf [bindingSize + 2]byte
				m.bindingLen = -1
				if base64.StdEncoding.DecodedLen(len(val)) <= len(buf) {
					if k, err := base64.StdEncoding.Decode(buf[:], []byte(val)); err == nil && k == bindingSize {
						m.bindingLen = copy(m.binding[:], buf[:k])
					}
				}
			default:
				return m, false
			}
			i = j
		}
		if i >= n {
			return m, false
		}
		switch s[i] {
		case ',':
			i++
		case '}':
			return m, i+1 == n
		default:
			return m, false
		}
	}
}

// fastString reads a JSON string at s[i] made of printable ASCII without
// escapes; it returns the content and the index after the closing quote.
func fastString(s string, i int) (string, int, bool) {
	if i >= len(s) || s[i] != '"' {
		return "", i, false
	}
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			return s[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return "", i, false
		}
	}
	return "", i, false
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
