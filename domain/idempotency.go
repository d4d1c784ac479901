package domain

import (
	"context"
	"time"
)

// IdempotencyTTL is how long a recorded response answers repeats of its
// request.
const IdempotencyTTL = 24 * time.Hour

// IdempotentResponse is the first response to a request sent with an
// Idempotency-Key.
type IdempotentResponse struct {
	Status      int
	ContentType string
	Location    string
	Body        string
}

// IdempotencyRecord is the response recorded for one caller's
// Idempotency-Key. Its stream is named by a keyed digest of the caller and
// the key; the request is kept as a keyed digest only.
type IdempotencyRecord struct {
	Recorded      bool
	Subject       string
	RequestDigest string
	Response      IdempotentResponse
	BodyLen       int
	RecordedAt    time.Time

	changes []Event
}

func newIdempotencyRecord() *IdempotencyRecord { return &IdempotencyRecord{} }

func (r *IdempotencyRecord) uncommitted() *[]Event { return &r.changes }

// record applies an event and keeps it to be appended.
func (r *IdempotencyRecord) record(e Event) {
	r.apply(e)
	r.changes = append(r.changes, e)
}

// IdempotencyRecorded records a response that carries no personal data
// (and a request digest that is a keyed digest of no personal data worth
// shredding): in plain.
type IdempotencyRecorded struct {
	RequestDigest string    `json:"request_digest"`
	Status        int       `json:"status"`
	ContentType   string    `json:"content_type,omitempty"`
	Location      string    `json:"location,omitempty"`
	Body          string    `json:"body,omitempty"`
	RecordedAt    time.Time `json:"recorded_at"`
}

// IdempotencyRecordedFor records a response about a person (an account, a
// session token): the request digest and the response are personal data of
// Subject, so erasing the subject shreds the record too.
type IdempotencyRecordedFor struct {
	Subject       string    `json:"subject"`
	RequestDigest string    `json:"request_digest" personal:"true"`
	Status        int       `json:"status"`
	ContentType   string    `json:"content_type,omitempty"`
	Location      string    `json:"location,omitempty" personal:"true"`
	Body          string    `json:"body,omitempty" personal:"true"`
	BodyLen       int       `json:"body_len"`
	RecordedAt    time.Time `json:"recorded_at"`
}

func (IdempotencyRecorded) EventType() string    { return "idempotency.recorded.v1" }
func (IdempotencyRecordedFor) EventType() string { return "idempotency.recorded_for.v1" }

// DataSubject implements PersonalEvent.
func (e IdempotencyRecordedFor) DataSubject() string { return e.Subject }

// apply is the only place an IdempotencyRecord changes.
func (r *IdempotencyRecord) apply(e Event) {
	switch e := e.(type) {
	case IdempotencyRecorded:
		*r = IdempotencyRecord{Recorded: true, RequestDigest: e.RequestDigest, BodyLen: len(e.Body), RecordedAt: e.RecordedAt,
			Response: IdempotentResponse{Status: e.Status, ContentType: e.ContentType, Location: e.Location, Body: e.Body}, changes: r.changes}
	case IdempotencyRecordedFor:
		*r = IdempotencyRecord{Recorded: true, Subject: e.Subject, RequestDigest: e.RequestDigest, BodyLen: e.BodyLen, RecordedAt: e.RecordedAt,
			Response: IdempotentResponse{Status: e.Status, ContentType: e.ContentType, Location: e.Location, Body: e.Body}, changes: r.changes}
	}
}

// liveAt reports whether the record still answers repeats at now: recorded
// less than IdempotencyTTL ago.
func (r *IdempotencyRecord) liveAt(now time.Time) bool {
	return r.Recorded && now.Before(r.RecordedAt.Add(IdempotencyTTL))
}

// shredded reports whether the record's personal part was erased with its
// subject.
func (r *IdempotencyRecord) shredded() bool {
	return r.RequestDigest == "" || len(r.Response.Body) != r.BodyLen
}

// check compares a live record with the request: 422 for another request,
// 409 when the first response was about a person since erased (running the
// request again would bring them back, so a late retry of a sign-up must
// not).
func (r *IdempotencyRecord) check(requestDigest string) error {
	if r.shredded() {
		return Errorf(KindConflict, CodeConflict, "the first response to this Idempotency-Key concerned a person since erased; it cannot be repeated")
	}
	if r.RequestDigest != requestDigest {
		return Errorf(KindInvalid, CodeIdempotencyKeyReused, "the Idempotency-Key was used with another request")
	}
	return nil
}

// IdempotencyStream returns the stream of an idempotency record.
func IdempotencyStream(key string) string { return "idempotency-" + key }

// IdempotencyKey names one caller's use of an Idempotency-Key and the
// request it came with; both are kept only as keyed digests.
type IdempotencyKey struct {
	stream        string
	requestDigest string
}

// IdempotencyKeyFor returns the record name for caller's key and the digest
// of the request (method, path and body).
func (s *Service) IdempotencyKeyFor(caller, key string, request []byte) IdempotencyKey {
	return IdempotencyKey{
		stream:        IdempotencyStream(s.keys.digest("idempotency", caller+"\x00"+key)),
		requestDigest: s.keys.digest("idempotency-request", string(request)),
	}
}

// IdempotentReplay returns the live response recorded for k, if any. A
// record made for another request is 422 idempotency_key_reused.
func (s *Service) IdempotentReplay(ctx context.Context, k IdempotencyKey) (*IdempotentResponse, error) {
	r, _, err := load(ctx, s, k.stream, newIdempotencyRecord)
	if err != nil {
		return nil, err
	}
	if !r.liveAt(s.clock()) {
		return nil, nil
	}
	if err := r.check(k.requestDigest); err != nil {
		return nil, err
	}
	resp := r.Response
	return &resp, nil
}

// RecordIdempotent records resp as the answer to k. subject, when not
// empty, is the person the response is about: the record is then encrypted
// under their key. When another request recorded first (a race between
// replicas), the response recorded first is returned and should be sent
// instead; otherwise the result is nil.
func (s *Service) RecordIdempotent(ctx context.Context, k IdempotencyKey, subject string, resp IdempotentResponse) (*IdempotentResponse, Result, error) {
	now := s.clock()
	var first *IdempotentResponse
	_, pos, err := execute(ctx, s, k.stream, newIdempotencyRecord, func(r *IdempotencyRecord) error {
		if r.liveAt(now) {
			if err := r.check(k.requestDigest); err != nil {
				return err
			}
			prev := r.Response
			first = &prev
			return nil
		}
		if subject == "" {
			r.record(IdempotencyRecorded{RequestDigest: k.requestDigest, Status: resp.Status, ContentType: resp.ContentType,
				Location: resp.Location, Body: resp.Body, RecordedAt: now})
		} else {
			r.record(IdempotencyRecordedFor{Subject: subject, RequestDigest: k.requestDigest, Status: resp.Status,
				ContentType: resp.ContentType, Location: resp.Location, Body: resp.Body, BodyLen: len(resp.Body), RecordedAt: now})
		}
		return nil
	})
	return first, Result{Position: pos}, err
}

// String returns the record's stream name, which says nothing of the
// caller or the key.
func (k IdempotencyKey) String() string { return k.stream }
