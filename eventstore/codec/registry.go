package codec

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Typer is what every domain event implements: its stable type name.
type Typer interface {
	EventType() string
}

// Subjecter is what an event with personal fields implements: the id of the
// data subject (customer account or affiliate) the personal data belongs to.
type Subjecter interface {
	DataSubject() string
}

// Upcaster rewrites the fields of an event from one schema version to the
// next. fields holds every field of the stored event by its JSON name: the
// plain ones and, unless the event is erased, the decrypted personal ones
// (an erased event's personal fields are absent, so an upcaster must treat
// every field as optional).
type Upcaster func(fields map[string]json.RawMessage) error

// RenameField returns an upcaster that moves field from to field to; it
// does nothing when from is absent.
func RenameField(from, to string) Upcaster {
	return func(fields map[string]json.RawMessage) error {
		if v, ok := fields[from]; ok {
			delete(fields, from)
			fields[to] = v
		}
		return nil
	}
}

// Type registers one event type.
type Type struct {
	// Prototype is a value of the event's Go type: a struct, or a pointer to
	// one. Decode returns values of the same kind (struct or pointer).
	Prototype Typer
	// Version is the current schema version, 1 or more; 0 means 1.
	Version int
	// Upcasters[i] turns version i+1 into version i+2; there must be
	// exactly Version-1 of them.
	Upcasters []Upcaster
	// Aliases are older type names that decode as this type (a renamed
	// event type).
	Aliases []string
}

// personalKey is the data field that holds the encrypted personal part.
const personalKey = "_personal"

type field struct {
	index []int
	name  string
}

// typeInfo is the cached reflection of a registered type.
type typeInfo struct {
	name       string
	version    int
	typ        reflect.Type // the struct type
	ptr        bool         // the prototype is a pointer
	plain      []field
	personal   []field
	plainView  reflect.Type // struct of the plain fields, for Encode
	persView   reflect.Type // struct of the personal fields, for Encode
	upcasters  []Upcaster
	hasSubject bool
	boxType    unsafe.Pointer // boxType(typ), for Decode of a struct prototype
	// The fast decoder's plans of the plain and the personal fields; both
	// nil when the type has a field it does not read or the general
	// decoder refuses the type (fastPlansAgree).
	plainPlan, persPlan *fastPlan
}

// Registry maps event type names to Go types. Register every type at
// start-up; lookups are lock-free.
type Registry struct {
	mu    sync.Mutex
	types atomic.Pointer[map[string]*typeInfo] // by name and alias
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	r := &Registry{}
	m := map[string]*typeInfo{}
	r.types.Store(&m)
	return r
}

// Register adds event types. It fails, registering none of them, when a
// prototype is not a struct (or pointer to one), a name is taken, personal
// fields lack DataSubject, the personal tag is not "true", two fields share
// a JSON name, or the upcasters do not match the version.
func (r *Registry) Register(types ...Type) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	next := maps.Clone(*r.types.Load())
	for _, t := range types {
		info, err := reflectType(t)
		if err != nil {
			return err
		}
		for _, name := range append([]string{info.name}, t.Aliases...) {
			if name == "" {
				return fmt.Errorf("codec: %s: empty type name", info.typ)
			}
			if old, ok := next[name]; ok {
				return fmt.Errorf("codec: event type %q is registered twice (%s, %s)", name, old.typ, info.typ)
			}
			next[name] = info
		}
	}
	r.types.Store(&next)
	return nil
}

func (r *Registry) lookup(name string) *typeInfo {
	return (*r.types.Load())[name]
}

var typerType = reflect.TypeFor[Typer]()
var subjecterType = reflect.TypeFor[Subjecter]()

func reflectType(t Type) (*typeInfo, error) {
	if t.Prototype == nil {
		return nil, errors.New("codec: nil prototype")
	}
	rt := reflect.TypeOf(t.Prototype)
	info := &typeInfo{name: t.Prototype.EventType(), version: max(t.Version, 1), upcasters: t.Upcasters}
	if rt.Kind() == reflect.Pointer {
		info.ptr = true
		rt = rt.Elem()
	}
	if rt.Kind() != reflect.Struct {
		return nil, fmt.Errorf("codec: event type %q: %s is not a struct", info.name, rt)
	}
	info.typ = rt
	info.boxType = boxType(rt)
	if len(t.Upcasters) != info.version-1 {
		return nil, fmt.Errorf("codec: event type %q at version %d needs %d upcasters, has %d", info.name, info.version, info.version-1, len(t.Upcasters))
	}
	for i, u := range t.Upcasters {
		if u == nil {
			return nil, fmt.Errorf("codec: event type %q: upcaster from version %d is nil", info.name, i+1)
		}
	}
	// The pointer's method set includes the value's: Encode calls the
	// methods through a pointer when it must.
	if !reflect.PointerTo(rt).Implements(typerType) {
		return nil, fmt.Errorf("codec: event type %q: %s has no EventType method", info.name, rt)
	}
	info.hasSubject = reflect.PointerTo(rt).Implements(subjecterType)
	seen := map[string]bool{personalKey: true}
	var plainFields, persFields []reflect.StructField
	err := walkFields(rt, nil, func(sf reflect.StructField, index []int, name, opts string, personal bool) error {
		if seen[name] {
			return fmt.Errorf("codec: event type %q: JSON name %q is used twice or reserved", info.name, name)
		}
		seen[name] = true
		f := field{index: index, name: name}
		vf := reflect.StructField{
			Name: fmt.Sprintf("F%d", len(plainFields)+len(persFields)),
			Type: sf.Type,
			Tag:  reflect.StructTag(`json:"` + name + opts + `"`),
		}
		if personal {
			info.personal = append(info.personal, f)
			persFields = append(persFields, vf)
		} else {
			info.plain = append(info.plain, f)
			plainFields = append(plainFields, vf)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(info.personal) > 0 && !info.hasSubject {
		return nil, fmt.Errorf("codec: event type %q has personal fields but no DataSubject method", info.name)
	}
	info.plainView = reflect.StructOf(plainFields)
	info.persView = reflect.StructOf(persFields)
	info.plainPlan = newFastPlan(rt, func(personal bool) bool { return !personal })
	info.persPlan = newFastPlan(rt, func(personal bool) bool { return personal })
	if info.plainPlan == nil || info.persPlan == nil || !fastPlansAgree(info) {
		info.plainPlan, info.persPlan = nil, nil
	}
	return info, nil
}

// walkFields visits the fields encoding/json would encode, flattening
// embedded structs without a JSON name.
func walkFields(rt reflect.Type, prefix []int, visit func(sf reflect.StructField, index []int, name, opts string, personal bool) error) error {
	for i := 0; i < rt.NumField(); i++ {
		sf := rt.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			if sf.Tag.Get("personal") != "" {
				return fmt.Errorf("codec: %s.%s: a personal field must be stored (json:\"-\")", rt, sf.Name)
			}
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if opts != "" {
			opts = "," + opts
		}
		index := append(append([]int(nil), prefix...), i)
		personal := false
		switch p := sf.Tag.Get("personal"); p {
		case "":
		case "true":
			personal = true
		default:
			return fmt.Errorf("codec: %s.%s: personal tag %q, want \"true\"", rt, sf.Name, p)
		}
		if sf.Anonymous && name == "" {
			ft := sf.Type
			if ft.Kind() == reflect.Pointer {
				return fmt.Errorf("codec: %s.%s: embedded pointers are not supported", rt, sf.Name)
			}
			if ft.Kind() == reflect.Struct {
				if personal {
					return fmt.Errorf("codec: %s.%s: mark the fields of an embedded struct personal, not the struct", rt, sf.Name)
				}
				if err := walkFields(ft, index, visit); err != nil {
					return err
				}
				continue
			}
		}
		if !sf.IsExported() {
			if personal {
				return fmt.Errorf("codec: %s.%s: an unexported field cannot be personal", rt, sf.Name)
			}
			continue
		}
		if name == "" {
			name = sf.Name
		}
		if !personal && hasPersonalTag(sf.Type, map[reflect.Type]bool{}) {
			// Only the top level (and embedded structs) is split into the
			// plain and the personal part: a personal field nested deeper
			// would be stored in the clear.
			return fmt.Errorf("codec: %s.%s: holds fields tagged personal, which would not be encrypted there; mark %s itself personal or move them up", rt, sf.Name, sf.Name)
		}
		if err := visit(sf, index, name, opts, personal); err != nil {
			return err
		}
	}
	return nil
}

// hasPersonalTag reports whether a field tagged personal is reachable in t
// through structs, pointers, slices, arrays and maps.
func hasPersonalTag(t reflect.Type, seen map[reflect.Type]bool) bool {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	if seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Map:
		return hasPersonalTag(t.Key(), seen) || hasPersonalTag(t.Elem(), seen)
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.Tag.Get("personal") != "" || hasPersonalTag(f.Type, seen) {
				return true
			}
		}
	}
	return false
}
