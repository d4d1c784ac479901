// A StoreRing's header: the one event of HeaderStream, with the master
// key's check value and the wrapped binding secret, created by the first
// replica that opens the ring and checked by every other.

package keyring

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aseptsoft/subledger/eventstore"
)

// storeFormat is the header format a StoreRing writes; format 1 is still
// read.
const storeFormat = 2

// headerData is the header event's data.
type headerData struct {
	Format    int       `json:"format"`
	KCV       []byte    `json:"kcv"`
	Binding   []byte    `json:"binding_secret"`
	CreatedAt time.Time `json:"created_at"`
}

// openHeader reads the header, or creates it when there is none.
func (r *StoreRing) openHeader(ctx context.Context) error {
	for attempt := 0; attempt < 3; attempt++ {
		evs, err := r.store.ReadStream(ctx, HeaderStream, 0, 1)
		if err != nil {
			return fmt.Errorf("keyring: reading %s: %w", HeaderStream, err)
		}
		if len(evs) > 0 {
			return r.checkHeader(evs[0])
		}
		err = r.createHeader(ctx)
		if !errors.Is(err, eventstore.ErrConflict) {
			return err
		}
		// Another replica created it first: read theirs.
	}
	return fmt.Errorf("%w: cannot read or create %s", ErrCorrupt, HeaderStream)
}

// createHeader writes a new header with a new binding secret; a conflict
// means another replica wrote one first.
func (r *StoreRing) createHeader(ctx context.Context) error {
	secret := make([]byte, keySize)
	if err := r.c.read(secret); err != nil {
		return fmt.Errorf("keyring: generating the binding secret: %w", err)
	}
	wrapped, err := r.c.wrap(secret, bindingLabel(storeFormat))
	if err != nil {
		return err
	}
	data, err := json.Marshal(headerData{Format: storeFormat, KCV: r.c.master.kcv(), Binding: wrapped, CreatedAt: r.c.now().UTC()})
	if err != nil {
		return err
	}
	id, err := r.c.newEventID()
	if err != nil {
		return err
	}
	_, err = r.store.Append(ctx, HeaderStream, eventstore.NoStream(), eventstore.EventData{
		ID: id, Type: HeaderEventType, Data: data, Metadata: []byte(`{"schema_version":1}`),
	})
	if err != nil {
		return fmt.Errorf("keyring: creating %s: %w", HeaderStream, err)
	}
	r.c.setBinding(secret, storeFormat)
	return nil
}

// checkHeader checks that the header is one and that the master key opens
// it, and takes its binding secret.
func (r *StoreRing) checkHeader(ev eventstore.Event) error {
	var h headerData
	if err := json.Unmarshal(ev.Data, &h); err != nil || ev.Type != HeaderEventType {
		return fmt.Errorf("%w: the event in %s is not a key ring header", ErrCorrupt, HeaderStream)
	}
	if h.Format != 1 && h.Format != storeFormat {
		return fmt.Errorf("%w: %s: unknown format %d", ErrCorrupt, HeaderStream, h.Format)
	}
	if !hmac.Equal(h.KCV, r.c.master.kcv()) {
		return fmt.Errorf("%w: the %s does not open the key ring in the event store (%s)", ErrWrongMasterKey, r.c.master, HeaderStream)
	}
	secret, err := r.c.unwrap(h.Binding, bindingLabel(h.Format))
	if err != nil {
		return fmt.Errorf("%w: %s: the binding secret does not unwrap (or the format was changed)", ErrCorrupt, HeaderStream)
	}
	r.c.setBinding(secret, h.Format)
	return nil
}
