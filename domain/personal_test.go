package domain_test

// The catalogue of personal fields (issue 9, item 2).
//
// TestPersonalFieldCatalogue renders, from the struct tags, every event
// type's data subject and its personal and plain fields, and compares the
// result with the reviewed file testdata/personal_fields.golden. Adding,
// removing or moving a personal:"true" tag, a field or an event type
// changes that file, so the change shows in review. After a deliberate
// change, regenerate it and review the diff:
//
//	go test ./domain/ -run '^TestPersonalFieldCatalogue$' -update
//
// TestPersonalLookingFieldsAreTagged checks that every field whose name or
// type marks it as personal data (personalRules) is tagged personal:"true",
// unless it is listed, with its reason, in personalExceptions; and that
// every type with personal fields names its data subject.
//
// Both walk the fields the way the codec does (eventstore/codec, walkFields):
// the encoding/json names, embedded structs without a JSON name flattened,
// json:"-" and unexported fields skipped. The codec only splits the top
// level into a plain and an encrypted part, so a personal field nested in a
// plain struct would be stored in the clear: the second test descends into
// nested structs, maps and slices and requires such a field to sit under a
// tagged one.

import (
	"bytes"
	"encoding"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode"

	"github.com/aseptsoft/subledger/domain"
)

// update is -update. Should another test of this package's binary declare
// the same flag first, that flag is read instead (flags are parsed after
// init, so it is looked up when the test runs).
func update() bool {
	f := flag.Lookup("update")
	if f == nil {
		return false
	}
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return false
	}
	b, _ := g.Get().(bool)
	return b
}

func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite testdata/personal_fields.golden from the event types' tags")
	}
}

const catalogueFile = "testdata/personal_fields.golden"

// eventField is one field of an event type as encoding/json sees it.
type eventField struct {
	json   string // JSON path: "account_id", "view.status"
	goName string // Go path: "AccountID", "View.Status"
	typ    reflect.Type
	// personal: the field carries the tag; underPersonal: it or one of the
	// fields it is nested in does.
	personal, underPersonal bool
	top                     bool // a field of the event itself (the codec's level)
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
	personalEvent = reflect.TypeFor[domain.PersonalEvent]()
)

// fieldsOf returns the fields of t, the top level first in struct order,
// each followed by the fields nested in it.
func fieldsOf(t *testing.T, rt reflect.Type) []eventField {
	t.Helper()
	var out []eventField
	var walk func(st reflect.Type, jsonPrefix, goPrefix string, under, top bool, seen []reflect.Type)
	walk = func(st reflect.Type, jsonPrefix, goPrefix string, under, top bool, seen []reflect.Type) {
		for i := 0; i < st.NumField(); i++ {
			sf := st.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			personal := sf.Tag.Get("personal") == "true"
			if p := sf.Tag.Get("personal"); p != "" && p != "true" {
				t.Errorf("%s: %s%s has personal tag %q; the codec takes only \"true\"", rt, goPrefix, sf.Name, p)
			}
			if sf.Anonymous && name == "" && sf.Type.Kind() == reflect.Struct {
				walk(sf.Type, jsonPrefix, goPrefix, under || personal, top, seen)
				continue
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			f := eventField{json: jsonPrefix + name, goName: goPrefix + sf.Name, typ: sf.Type,
				personal: personal, underPersonal: under || personal, top: top}
			out = append(out, f)
			if inner := nestedStruct(sf.Type); inner != nil && !slices.Contains(seen, inner) {
				walk(inner, f.json+".", f.goName+".", f.underPersonal, false, append(seen, inner))
			}
		}
	}
	walk(rt, "", "", false, true, []reflect.Type{rt})
	return out
}

// nestedStruct returns the struct whose fields a value of t is encoded as
// (through pointers, slices, arrays and map values), or nil: for a plain
// value, or a type that encodes itself (time.Time, netip.Addr).
func nestedStruct(t reflect.Type) reflect.Type {
	for {
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
			t = t.Elem()
			continue
		case reflect.Struct:
			if t.Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(jsonMarshaler) ||
				t.Implements(textMarshaler) || reflect.PointerTo(t).Implements(textMarshaler) {
				return nil
			}
			return t
		}
		return nil
	}
}

// subjectOf says how the type names its data subject.
func subjectOf(rt reflect.Type) string {
	switch {
	case rt.Implements(personalEvent):
		return "yes"
	case reflect.PointerTo(rt).Implements(personalEvent):
		return "pointer receiver only" // events are values: the domain's PersonalEvent misses it
	}
	return "no"
}

// catalogue renders every event type's data subject and its personal and
// plain fields (JSON names, as the codec sees them), sorted by type name.
func catalogue(t *testing.T) []byte {
	t.Helper()
	types := domain.EventTypes()
	sort.Slice(types, func(i, j int) bool { return types[i].EventType() < types[j].EventType() })
	var b bytes.Buffer
	b.WriteString("# The personal fields of every domain event type (domain.EventTypes),\n" +
		"# generated from the personal:\"true\" tags by domain/personal_test.go.\n" +
		"# A change here is a change of what is encrypted under a data subject's key\n" +
		"# and shredded with it: review it. Regenerate after a deliberate change with\n" +
		"#   go test ./domain/ -run '^TestPersonalFieldCatalogue$' -update\n")
	for _, ev := range types {
		rt := reflect.TypeOf(ev)
		var personal, plain []string
		for _, f := range fieldsOf(t, rt) {
			switch {
			case !f.top:
			case f.personal:
				personal = append(personal, f.json)
			default:
				plain = append(plain, f.json)
			}
		}
		list := func(s []string) string {
			if len(s) == 0 {
				return "-"
			}
			return strings.Join(s, ", ")
		}
		fmt.Fprintf(&b, "\n%s (%s)\n  data subject: %s\n  personal: %s\n  plain:    %s\n",
			ev.EventType(), rt.Name(), subjectOf(rt), list(personal), list(plain))
	}
	return b.Bytes()
}

func TestPersonalFieldCatalogue(t *testing.T) {
	got := catalogue(t)
	if update() {
		if err := os.MkdirAll(filepath.Dir(catalogueFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(catalogueFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s: review the diff", catalogueFile)
		return
	}
	want, err := os.ReadFile(catalogueFile)
	if err != nil {
		t.Fatalf("%v (generate it with -update and review it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	// Name the event types that differ, with both versions.
	blocks := func(b []byte) map[string]string {
		m := map[string]string{}
		for _, blk := range strings.Split(string(b), "\n\n")[1:] {
			head, _, _ := strings.Cut(blk, "\n")
			m[head] = strings.TrimSpace(blk)
		}
		return m
	}
	g, w := blocks(got), blocks(want)
	var diffs []string
	for head, blk := range g {
		if w[head] != blk {
			diffs = append(diffs, fmt.Sprintf("now:\n%s\nreviewed (%s):\n%s", blk, catalogueFile, orNone(w[head])))
		}
	}
	for head, blk := range w {
		if _, ok := g[head]; !ok {
			diffs = append(diffs, fmt.Sprintf("now:\n(no such event type)\nreviewed (%s):\n%s", catalogueFile, blk))
		}
	}
	sort.Strings(diffs)
	if len(diffs) == 0 {
		diffs = append(diffs, "the file's header differs")
	}
	t.Errorf("the personal fields of the event types differ from the reviewed catalogue; "+
		"if the change is meant, run go test ./domain/ -run '^TestPersonalFieldCatalogue$' -update and review the diff\n\n%s",
		strings.Join(diffs, "\n\n"))
}

func orNone(s string) string {
	if s == "" {
		return "(no such event type)"
	}
	return s
}

// words splits a Go name (camel case, "IPAddress" -> ip address,
// "StripeSubscriptionID" -> stripe subscription id) or a JSON name (snake or
// kebab case) into lower-case words.
func words(name string) []string {
	var out []string
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '_' || r == '-' || r == '.' || r == ' ' }) {
		rs := []rune(part)
		start := 0
		for i := 1; i < len(rs); i++ {
			prev, cur := rs[i-1], rs[i]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsUpper(cur) && (unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower)) {
				out = append(out, strings.ToLower(string(rs[start:i])))
				start = i
			}
		}
		out = append(out, strings.ToLower(string(rs[start:])))
	}
	return out
}

func hasWord(ws []string, set ...string) bool {
	return slices.ContainsFunc(ws, func(w string) bool { return slices.Contains(set, w) })
}

// hasPair reports whether a, b follow each other in ws.
func hasPair(ws []string, a, b string) bool {
	for i := 0; i+1 < len(ws); i++ {
		if ws[i] == a && ws[i+1] == b {
			return true
		}
	}
	return false
}

// personalRule is a way a field's name marks it as personal data. match
// gets the words of the field's JSON name, of its Go name, or of its named
// type's name (each on its own), the event type name and the field's kind.
type personalRule struct {
	what  string
	match func(ws []string, eventType string, kind reflect.Kind) bool
}

// personalRules are the names that mark a field as personal, after
// ../shared/DESIGN.md ("names, company names, e-mail addresses, password
// hashes, Stripe customer ids, license keys, IP addresses, free text") and
// issue 9 (Stripe ids are pseudonymous data of a person), with the contact
// and payment data a form might add. Ids we make at random (account,
// license, sale, session ids) and keyed digests are not personal
// (DESIGN.md: "random ids"), so "id", "key" and "hash" alone mark nothing;
// a digest of a personal value that nonetheless matches a rule is listed in
// personalExceptions.
var personalRules = []personalRule{
	{"a person's or company's name", func(ws []string, _ string, _ reflect.Kind) bool {
		return hasWord(ws, "name", "names", "firstname", "lastname", "surname", "fullname", "nickname", "username")
	}},
	{"a company", func(ws []string, _ string, _ reflect.Kind) bool {
		return hasWord(ws, "company", "organisation", "organization", "employer")
	}},
	{"an e-mail address", func(ws []string, _ string, _ reflect.Kind) bool {
		return hasWord(ws, "email", "emails", "mail") || hasPair(ws, "e", "mail")
	}},
	{"a password or its hash", func(ws []string, _ string, _ reflect.Kind) bool {
		return hasWord(ws, "password", "passwd", "passphrase")
	}},
	{"an IP or postal address", func(ws []string, _ string, _ reflect.Kind) bool {
		return hasWord(ws, "ip", "ipv4", "ipv6", "address", "addr")
	}},
	{"contact data", func(ws []string, _ string, _ reflect.Kind) bool {
		return hasWord(ws, "phone", "mobile", "street", "city", "postcode", "postal", "zip", "birthday", "birthdate", "dob")
	}},
	{"a location or device", func(ws []string, _ string, _ reflect.Kind) bool {
		return hasWord(ws, "location", "geo", "latitude", "longitude", "useragent", "device") || hasPair(ws, "user", "agent")
	}},
	{"payment data", func(ws []string, _ string, _ reflect.Kind) bool {
		return hasWord(ws, "iban", "card", "last4", "bank", "vat")
	}},
	{"a Stripe customer id", func(ws []string, _ string, _ reflect.Kind) bool {
		return hasWord(ws, "customer", "customers")
	}},
	{"a Stripe object id", func(ws []string, eventType string, _ reflect.Kind) bool {
		if len(ws) < 2 || ws[len(ws)-1] != "id" {
			return false
		}
		return strings.HasPrefix(eventType, "stripe.") ||
			hasWord(ws, "stripe", "payment", "intent", "charge", "invoice", "refund", "dispute", "checkout", "evt")
	}},
	{"a license key", func(ws []string, _ string, _ reflect.Kind) bool {
		return slices.Equal(ws, []string{"key"}) || slices.Equal(ws, []string{"keys"}) ||
			hasPair(ws, "license", "key") || hasPair(ws, "licence", "key") || hasWord(ws, "licensekey")
	}},
	{"the holder of a reserved personal value (it ties the value to the person)", func(ws []string, _ string, _ reflect.Kind) bool {
		return hasWord(ws, "owner", "holder")
	}},
	{"free text", func(ws []string, _ string, kind reflect.Kind) bool {
		return kind == reflect.String && hasWord(ws, "note", "notes", "comment", "comments", "message", "messages",
			"reason", "description", "text", "body", "remark", "remarks", "feedback", "memo")
	}},
}

// personalTypes are types that hold personal data whatever the field's name.
var personalTypes = map[reflect.Type]string{
	reflect.TypeFor[net.IP]():         "an IP address",
	reflect.TypeFor[netip.Addr]():     "an IP address",
	reflect.TypeFor[netip.AddrPort](): "an IP address",
	reflect.TypeFor[netip.Prefix]():   "an IP network",
	reflect.TypeFor[mail.Address]():   "an e-mail address",
}

// Reasons of personalExceptions.
const (
	whyReservationKey = "keyed digest (HMAC under the server secret) of the normalised value; it names the " +
		"reservation stream, so it cannot be encrypted under anyone's key (what it still tells is issue 9 item 4)"
	whyEnum         = "an enumerated code chosen by the system, never free text: "
	whyStripeItem3  = "issue 9 item 3 (Stripe ids in plain events of the first versions)"
	whyIdemNoPerson = "part of a response about no person, recorded in plain; a response about a person " +
		"(api.setSubject: sign-up, sign-in, reset) is an idempotency.recorded_for event, encrypted under the person's key"
)

// personalExceptions are the fields a rule marks as personal that are not
// tagged, each with the reason. The key is "<event type> <JSON path>", or
// "* <JSON path>" for every event type. An exception that no longer
// matches an untagged field a rule marks is an error: remove it.
var personalExceptions = map[string]string{
	"reservation.claimed.v2 key":  whyReservationKey,
	"reservation.released.v2 key": whyReservationKey,
	"reservation.claimed.v1 key":  whyReservationKey,
	"reservation.released.v1 key": whyReservationKey,
	"reservation.claimed.v1 owner": "the first version of the claim, owner in the clear; read, never written any more " +
		"(README, E-mail reservations and erasure); v2 encrypts it under a pseudonym",
	"reservation.released.v1 owner": "the first version of the release, written only to release a claim of the first " +
		"version, whose owner already stands in the clear in that claim",

	"account.erasure_requested.v1 reason":    whyEnum + `"request" or "subscription_ended"`,
	"license.revoked.v1 reason":              whyEnum + "domain.RevokeFraud, RevokeChargeback, RevokeAbuse, RevokeOther",
	"commission.reversed.v1 reason":          whyEnum + "domain.ReversalRefund or ReversalDispute",
	"commission.reversal_adjusted.v1 reason": whyEnum + "domain.ReversalRefund or ReversalDispute",
	"session.ended.v1 reason":                whyEnum + "the domain.SessionEnded* values",
	"subscription.renewed.v1 billing_reason": whyEnum + "Stripe's invoice billing_reason " +
		"(subscription_create, subscription_cycle, ...)",

	"* stripe_subscription_id": "read from the subscription fact events of the first version, which carried it in plain; " +
		"never written now (subscription.stripe_linked.v1 keeps it under the account's key); " + whyStripeItem3,
	"stripe.event_received.v1 event_id": "the first version of the receipt, with the Stripe event id in plain; read, " +
		"never written (v2 keeps only a keyed digest); " + whyStripeItem3,

	"idempotency.recorded.v1 body":     whyIdemNoPerson,
	"idempotency.recorded.v1 location": whyIdemNoPerson,
}

func TestPersonalLookingFieldsAreTagged(t *testing.T) {
	used := map[string]bool{}
	for _, ev := range domain.EventTypes() {
		et := ev.EventType()
		rt := reflect.TypeOf(ev)
		hasPersonal := false
		for _, f := range fieldsOf(t, rt) {
			hasPersonal = hasPersonal || f.personal
			var marks []string
			kind := f.typ.Kind()
			jsonWords := words(f.json[strings.LastIndex(f.json, ".")+1:])
			goWords := words(f.goName[strings.LastIndex(f.goName, ".")+1:])
			var typeWords []string
			base := f.typ
			for base.Kind() == reflect.Pointer || base.Kind() == reflect.Slice || base.Kind() == reflect.Array {
				base = base.Elem()
			}
			if base.Name() != "" && base.PkgPath() != "" {
				typeWords = words(base.Name())
			}
			if base.Kind() == reflect.String {
				kind = reflect.String // []string of notes is free text too
			}
			for _, r := range personalRules {
				if r.match(jsonWords, et, kind) || r.match(goWords, et, kind) || (typeWords != nil && r.match(typeWords, et, kind)) {
					marks = append(marks, r.what)
				}
			}
			if what, ok := personalTypes[base]; ok {
				marks = append(marks, what)
			}
			if len(marks) == 0 {
				continue
			}
			key, wild := et+" "+f.json, "* "+f.json
			_, exact := personalExceptions[key]
			_, wildOK := personalExceptions[wild]
			switch {
			case f.underPersonal && (exact || wildOK):
				// Tagged after all: the exception is stale (reported below).
			case f.underPersonal:
			case exact:
				used[key] = true
			case wildOK:
				used[wild] = true
			case f.top:
				t.Errorf("%s (%s): field %s (json %q) looks like %s but is not tagged personal:\"true\"; "+
					"tag it, or list it in personalExceptions with the reason it is not personal",
					et, rt.Name(), f.goName, f.json, strings.Join(marks, ", "))
			default:
				t.Errorf("%s (%s): nested field %s (json %q) looks like %s but is stored in plain: "+
					"the codec encrypts only top-level fields, so tag the field it is nested in, "+
					"or list it in personalExceptions with the reason it is not personal",
					et, rt.Name(), f.goName, f.json, strings.Join(marks, ", "))
			}
		}
		if hasPersonal && subjectOf(rt) != "yes" {
			t.Errorf("%s (%s) has personal fields but no DataSubject method on the value (data subject: %s): "+
				"the codec cannot tell whose key encrypts them", et, rt.Name(), subjectOf(rt))
		}
	}
	for key, why := range personalExceptions {
		if !used[key] {
			t.Errorf("personalExceptions[%q] (%s) excuses no untagged field a rule marks as personal "+
				"(the field is gone, renamed or tagged now): remove the exception", key, why)
		}
	}
}

// The rules themselves: a test of the net, so that a rule that matches
// nothing any more is noticed.
func TestPersonalRulesMatchPersonalNames(t *testing.T) {
	marked := func(name, eventType string, kind reflect.Kind) bool {
		for _, r := range personalRules {
			if r.match(words(name), eventType, kind) {
				return true
			}
		}
		return false
	}
	for _, name := range []string{
		"name", "Name", "company", "CompanyName", "email", "Email", "e_mail", "EMail", "new_email",
		"password_hash", "PasswordHash", "ip_address", "IPAddress", "ip", "ClientIP", "customer_id",
		"CustomerID", "stripe_customer_id", "StripeCustomerID", "stripe_subscription_id",
		"payment_intent_id", "PaymentIntentID", "charge_id", "invoice_id", "key", "license_key",
		"LicenseKey", "owner", "phone_number", "user_agent", "UserAgent",
	} {
		if !marked(name, "account.something.v1", reflect.String) {
			t.Errorf("no rule marks %q as personal", name)
		}
	}
	for _, name := range []string{"note", "comment", "message", "reason", "body", "Description"} {
		if !marked(name, "account.something.v1", reflect.String) {
			t.Errorf("no rule marks the text %q as personal", name)
		}
		if marked(name, "account.something.v1", reflect.Struct) {
			t.Errorf("a rule marks a struct named %q as free text", name)
		}
	}
	if !marked("event_id", "stripe.event_received.v1", reflect.String) {
		t.Error("no rule marks a Stripe event's id as personal")
	}
	for _, name := range []string{
		"account_id", "AccountID", "license_id", "sale_id", "session_id", "subscription_id",
		"affiliate_id", "subject", "namespace", "invoice_key", "event_key", "session_key", "token_hash",
		"api_key_sha256", "APIKeySHA256", "amount", "currency", "product_id", "status", "registered_at",
		"marketing_consent", "request_digest", "code", "rate_bps",
	} {
		if marked(name, "account.something.v1", reflect.String) {
			t.Errorf("a rule marks %q, which is not personal, as personal", name)
		}
	}
	for in, want := range map[string]string{
		"IPAddress": "ip address", "StripeSubscriptionID": "stripe subscription id", "APIKeySHA256": "api key sha256",
		"password_hash": "password hash", "EMail": "e mail", "ID": "id",
	} {
		if got := strings.Join(words(in), " "); got != want {
			t.Errorf("words(%q) = %q, want %q", in, got, want)
		}
	}
}
