package codec

import (
	"encoding"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
)

// The fast decoder reads the JSON that Encode writes (encoding/json's
// output of the plain or the personal fields) into an event value without
// the general decoder's per-member work: members come in the order of the
// type's fields, so a member's name is compared with the next expected
// field's instead of looked up. It reads only objects of fields of string,
// bool, integer, time.Time and such struct kinds, each member a field in
// field order, strings of printable ASCII without escapes, integers
// without fraction or exponent, times as RFC 3339 in UTC, no null, no
// white space. On anything else it reports false, and Decode reads the
// event with the general decoder instead, from a zero value: what it
// accepts, it reads as the general decoder would (FuzzFastDecodeAgrees).
// Register keeps a type's plans only if the general decoder reads the type
// at all (fastPlansAgree): it refuses some types whatever the JSON.

// fastKind is how the fast decoder reads a field.
type fastKind uint8

const (
	kindString fastKind = iota
	kindBool
	kindInt
	kindUint
	kindTime
	kindStruct
)

// fastField is one field of a fastPlan.
type fastField struct {
	name  string
	index []int
	kind  fastKind
	sub   *fastPlan // of a kindStruct
}

// fastPlan lists the fields the fast decoder reads, in field order.
type fastPlan struct {
	fields []fastField
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	durationType = reflect.TypeFor[time.Duration]()
)

// customDecoding lists the interfaces through which a type decodes itself.
var customDecoding = []reflect.Type{
	reflect.TypeFor[json.Unmarshaler](),
	reflect.TypeFor[encoding.TextUnmarshaler](),
	reflect.TypeFor[jsonv2.UnmarshalerFrom](),
}

// jsonMethods lists the interfaces through which a type encodes or decodes
// itself: the general decoder inlines no embedded struct that has one.
var jsonMethods = append([]reflect.Type{
	reflect.TypeFor[json.Marshaler](),
	reflect.TypeFor[encoding.TextMarshaler](),
	reflect.TypeFor[encoding.TextAppender](),
	reflect.TypeFor[jsonv2.MarshalerTo](),
}, customDecoding...)

// implementsAny reports whether t or *t implements one of ifaces.
func implementsAny(t reflect.Type, ifaces []reflect.Type) bool {
	for _, c := range ifaces {
		if t.Implements(c) || reflect.PointerTo(t).Implements(c) {
			return true
		}
	}
	return false
}

// newFastPlan returns the plan of rt's fields that want(personal) selects,
// or nil when rt decodes itself, embeds what the general decoder does not
// inline, or one of the fields is of a type the fast decoder does not read.
func newFastPlan(rt reflect.Type, want func(personal bool) bool) *fastPlan {
	if implementsAny(rt, customDecoding) || !inlinesPlainStructs(rt) {
		return nil
	}
	plan := &fastPlan{}
	err := walkFields(rt, nil, func(sf reflect.StructField, index []int, name, opts string, personal bool) error {
		if !want(personal) {
			return nil
		}
		for _, o := range strings.Split(opts, ",")[1:] {
			if o != "omitempty" && o != "omitzero" {
				return errFastUnsupported
			}
		}
		f := fastField{name: name, index: index}
		if !fastType(sf.Type, &f) {
			return errFastUnsupported
		}
		plan.fields = append(plan.fields, f)
		return nil
	})
	if err != nil {
		return nil
	}
	return plan
}

// errFastUnsupported ends newFastPlan's walk.
var errFastUnsupported = errors.New("codec: a field the fast decoder does not read")

// inlinesPlainStructs reports whether each field that rt embeds without a
// JSON name, and each that those embed, is a struct the general decoder
// inlines as walkFields does: one without tag options and without methods
// of its own JSON or text encoding. The general decoder refuses rt
// otherwise, whatever the JSON.
func inlinesPlainStructs(rt reflect.Type) bool {
	for i := 0; i < rt.NumField(); i++ {
		sf := rt.Field(i)
		tag := sf.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if !sf.Anonymous || tag == "-" || name != "" {
			continue
		}
		if sf.Type.Kind() != reflect.Struct || opts != "" || implementsAny(sf.Type, jsonMethods) || !inlinesPlainStructs(sf.Type) {
			return false
		}
	}
	return true
}

// fastType sets f.kind (and f.sub) for a field of type t, or reports false.
// A time.Duration is refused: the general decoder has no default
// representation for it.
func fastType(t reflect.Type, f *fastField) bool {
	if t == timeType {
		f.kind = kindTime
		return true
	}
	if t == durationType || implementsAny(t, customDecoding) {
		return false
	}
	switch t.Kind() {
	case reflect.String:
		f.kind = kindString
	case reflect.Bool:
		f.kind = kindBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		f.kind = kindInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		f.kind = kindUint
	case reflect.Struct:
		f.kind = kindStruct
		f.sub = newFastPlan(t, func(bool) bool { return true })
		return f.sub != nil
	default:
		return false
	}
	return true
}

// fastPlansAgree reports whether the general decoder reads each part of the
// JSON that Encode writes for a zero value of info's type, and the fast
// decoder, where it reads a part with info's plan, reads it the same way.
// A type the general decoder refuses whatever the JSON fails here, so that
// the fast decoder never reads an event the general one would refuse.
func fastPlansAgree(info *typeInfo) bool {
	zero := reflect.New(info.typ)
	var parts [2][]byte
	var err error
	if len(info.personal) == 0 {
		event := zero.Interface()
		if !info.ptr {
			event = zero.Elem().Interface()
		}
		parts[0], err = json.Marshal(event)
	} else {
		parts[0], err = marshalView(zero.Elem(), info.plain, info.plainView)
		if err == nil {
			parts[1], err = marshalView(zero.Elem(), info.personal, info.persView)
		}
	}
	if err != nil {
		return false
	}
	var d fastDecoder
	for i, plan := range [2]*fastPlan{info.plainPlan, info.persPlan} {
		if parts[i] == nil {
			continue
		}
		general := reflect.New(info.typ)
		if jsonv2.Unmarshal(parts[i], general.Interface()) != nil {
			return false
		}
		fast := reflect.New(info.typ)
		if d.decode(fast.Elem(), plan, parts[i], false) && !reflect.DeepEqual(fast.Interface(), general.Interface()) {
			return false
		}
	}
	return true
}

// fastDecoder reads one JSON text. strs caches the plain fields' strings
// (like the general decoder's cache), never a personal one.
type fastDecoder struct {
	b    []byte
	i    int
	strs [256]string
}

// decode reads b, one object, into v, the struct plan describes; intern
// caches its strings. It reports false, with v partly set, when b is not
// what the fast decoder reads.
func (d *fastDecoder) decode(v reflect.Value, plan *fastPlan, b []byte, intern bool) bool {
	d.b, d.i = b, 0
	ok := d.object(v, plan, intern) && d.i == len(b)
	d.b = nil
	return ok
}

func (d *fastDecoder) object(v reflect.Value, plan *fastPlan, intern bool) bool {
	if !d.next('{') {
		return false
	}
	if d.next('}') {
		return true
	}
	for k := 0; ; {
		name, ok := d.str()
		if !ok || !d.next(':') {
			return false
		}
		for k < len(plan.fields) && plan.fields[k].name != string(name) {
			k++
		}
		if k == len(plan.fields) {
			return false
		}
		f := &plan.fields[k]
		k++
		fv := v.Field(f.index[0])
		if len(f.index) > 1 {
			fv = v.FieldByIndex(f.index)
		}
		if !d.value(fv, f, intern) {
			return false
		}
		switch {
		case d.next(','):
		case d.next('}'):
			return true
		default:
			return false
		}
	}
}

func (d *fastDecoder) value(v reflect.Value, f *fastField, intern bool) bool {
	switch f.kind {
	case kindString:
		s, ok := d.str()
		if !ok {
			return false
		}
		if intern {
			v.SetString(d.intern(s))
		} else {
			v.SetString(string(s))
		}
	case kindBool:
		switch {
		case d.literal("true"):
			v.SetBool(true)
		case d.literal("false"):
			v.SetBool(false)
		default:
			return false
		}
	case kindInt:
		neg := d.next('-')
		n, ok := d.digits()
		if !ok {
			return false
		}
		i := int64(n)
		if neg {
			i = -i
		}
		if (neg && n == 0) || v.OverflowInt(i) {
			return false
		}
		v.SetInt(i)
	case kindUint:
		n, ok := d.digits()
		if !ok || v.OverflowUint(n) {
			return false
		}
		v.SetUint(n)
	case kindTime:
		s, ok := d.str()
		if !ok || !utcRFC3339(s) {
			return false
		}
		return v.Addr().Interface().(*time.Time).UnmarshalText(s) == nil
	case kindStruct:
		return d.object(v, f.sub, intern)
	}
	return true
}

// next consumes c if it comes next.
func (d *fastDecoder) next(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// literal consumes lit if it comes next.
func (d *fastDecoder) literal(lit string) bool {
	if len(d.b)-d.i >= len(lit) && string(d.b[d.i:d.i+len(lit)]) == lit {
		d.i += len(lit)
		return true
	}
	return false
}

// str consumes a string of printable ASCII without escapes and returns its
// content (in the input).
func (d *fastDecoder) str() ([]byte, bool) {
	start, end, next, ok := fastString(d.b, d.i)
	if !ok {
		return nil, false
	}
	d.i = next
	return d.b[start:end], true
}

// digits consumes a JSON integer's digits: no leading zero, at most 18, so
// that the value fits an int64.
func (d *fastDecoder) digits() (uint64, bool) {
	start := d.i
	var n uint64
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		n = n*10 + uint64(d.b[d.i]-'0')
		d.i++
	}
	k := d.i - start
	if k == 0 || k > 18 || (d.b[start] == '0' && k > 1) {
		return 0, false
	}
	if d.i < len(d.b) && (d.b[d.i] == '.' || d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		return 0, false
	}
	return n, true
}

// intern returns b as a string, from the cache when it holds it.
func (d *fastDecoder) intern(b []byte) string {
	if len(b) < 2 || len(b) > 256 {
		return string(b)
	}
	h := uint32(len(b))
	for _, c := range b[:min(len(b), 4)] {
		h = h*31 + uint32(c)
	}
	for _, c := range b[max(len(b)-4, 0):] {
		h = h*31 + uint32(c)
	}
	slot := &d.strs[h%uint32(len(d.strs))]
	if *slot != string(b) {
		*slot = string(b)
	}
	return *slot
}

// utcRFC3339 reports whether the general decoder, having read s with
// time.Time.UnmarshalText as the fast one does, keeps it: a time in UTC
// ("Z") passes its further checks when the hour has two digits and a
// fraction, if any, follows a period.
func utcRFC3339(s []byte) bool {
	const seconds = len("2006-01-02T15:04:05")
	return len(s) > seconds && s[len(s)-1] == 'Z' && s[len("2006-01-02T")+1] != ':' && s[seconds] != ','
}
