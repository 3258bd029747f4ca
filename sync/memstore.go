package sync

import (
	"slices"
	stdsync "sync"
)

// MemStore is a Store in memory: simulated boxes in tests and benchmarks,
// and a reference for what the vault's implementation must do.
type MemStore struct {
	mu      stdsync.Mutex
	seq     uint64
	batches []Stored
}

// Add appends a sealed batch, giving it the next Seq.
func (m *MemStore) Add(b Batch) Stored {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seq++
	s := Stored{Seq: m.seq, Batch: b}
	m.batches = append(m.batches, s)
	return s
}

// Batches implements Store.
func (m *MemStore) Batches(after uint64, limit int) ([]Stored, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Stored
	for _, b := range m.batches {
		if b.Seq > after && (limit <= 0 || len(out) < limit) {
			out = append(out, b)
		}
	}
	return out, nil
}

// Batch implements Store.
func (m *MemStore) Batch(id string) (Stored, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, b := range m.batches {
		if b.Batch.Manifest.BatchID == id {
			return b, nil
		}
	}
	return Stored{}, ErrNotFound
}

// Ack implements Store.
func (m *MemStore) Ack(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.batches = slices.DeleteFunc(m.batches, func(b Stored) bool { return b.Batch.Manifest.BatchID == id })
	return nil
}

// Len is the number of batches not yet acknowledged.
func (m *MemStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.batches)
}
