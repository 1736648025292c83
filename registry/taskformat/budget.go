package taskformat

import (
	"archive/zip"
	"fmt"
	"io"
	"os"
	"sync"
)

// Budget counts the bytes a load reads against a limit, before it reads
// them: a repository or an artifact that names one small blob many times
// is small to fetch and huge to read, so what counts is each read, and the
// same bytes read twice count twice. A budget may have a parent (a task's
// within its load's): what one takes, both take. Safe for concurrent use.
type Budget struct {
	name   string // how the error names it: "budget per task (max_task_bytes)"
	limit  int64
	parent *Budget

	mu    sync.Mutex
	used  int64
	ended bool
	err   error
}

// BudgetError is a read refused because a budget would pass its limit.
type BudgetError struct {
	Name  string
	Limit int64
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("reads over %d bytes, the %s", e.Limit, e.Name)
}

// NewBudget is a budget of limit bytes (0 or less: no limit), named in its
// error as name.
func NewBudget(name string, limit int64) *Budget {
	return &Budget{name: name, limit: limit}
}

// Sub is a budget within b: a take counts against both.
func (b *Budget) Sub(name string, limit int64) *Budget {
	return &Budget{name: name, limit: limit, parent: b}
}

// Take counts n bytes about to be read. Once a take would pass the limit
// it is refused, and so is every take after it: a load over its budget
// stops. A nil budget, or one ended, takes anything.
func (b *Budget) Take(n int64) error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.ended:
		return nil
	case b.err != nil:
		return b.err
	case b.limit > 0 && b.used+n > b.limit:
		b.err = &BudgetError{Name: b.name, Limit: b.limit}
		return b.err
	}
	if err := b.parent.Take(n); err != nil {
		b.err = err
		return err
	}
	b.used += n
	return nil
}

// Err is the error of the first take refused, nil while within budget.
func (b *Budget) Err() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// End stops counting: reads after the load (lazy content, asked for by
// requests) are not the load's.
func (b *Budget) End() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ended = true
}

// TakeZipFile takes what loading the archive at path inflates, as its
// directory says, before a byte of it is inflated.
func (b *Budget) TakeZipFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	n, err := ZipInflated(f, st.Size())
	if err != nil {
		return err
	}
	return b.Take(n)
}

// ZipInflated is what the entries of an archive say they inflate to, all
// told: what loading it may read, known from its directory before a byte
// of it is inflated. The zip reader holds each entry to its stated size.
func ZipInflated(r io.ReaderAt, size int64) (int64, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil && zr == nil {
		return 0, fmt.Errorf("not a readable zip archive: %w", err)
	}
	var total uint64
	for _, f := range zr.File {
		total += f.UncompressedSize64
		if total > 1<<62 {
			break
		}
	}
	return int64(min(total, 1<<62)), nil
}
