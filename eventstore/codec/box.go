package codec

import (
	"reflect"
	"unsafe"
)

// An interface holding a struct that does not fit in a pointer points to a
// copy of it: the runtime's empty interface is a type word and a pointer to
// the data. reflect.Value.Interface copies an addressable value into a new
// allocation, for the original may change later. Decode allocates each
// value itself and never touches it after returning it, so it hands that
// allocation to the interface instead (half the bytes Decode allocates for
// the value).

// eface is the layout of an empty interface (runtime.eface).
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

// boxType returns the type word of interfaces holding a t, or nil when an
// interface holds a t in its data word itself (t is no larger than a
// pointer, so it may be pointer-shaped) and the copy must stay.
func boxType(t reflect.Type) unsafe.Pointer {
	if t.Size() <= unsafe.Sizeof(uintptr(0)) {
		return nil
	}
	v := reflect.New(t).Elem().Interface()
	return (*eface)(unsafe.Pointer(&v)).typ
}

// box returns the value p points to as an interface, without copying it:
// the interface's data is p. typ is boxType of p's element type, not nil.
// Neither p nor anything derived from it may be written afterwards.
func box(typ unsafe.Pointer, p reflect.Value) any {
	e := eface{typ: typ, data: p.UnsafePointer()}
	return *(*any)(unsafe.Pointer(&e))
}
