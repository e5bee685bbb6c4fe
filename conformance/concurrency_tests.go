package conformance

import (
	"errors"
	"fmt"
	"sync"

	"github.com/sharestore/sharestore"
)

func concurrencyTests() []test {
	return []test{
		{name: "MutableCounterIsAtomic", writes: true, fn: testConcCounter},
		{name: "MutableCreateRace", writes: true, fn: testConcCreate},
		{name: "WriteImmutableRace", writes: true, fn: testConcWriteImmutable},
		{name: "DifferentStorageIndexes", writes: true, fn: testConcDifferentSIs},
	}
}

// parallel runs fn(i) for i in [0, n) on n goroutines released together,
// and returns the first error.
func parallel(n int, fn func(i int) error) error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errors.Join(errs...)
}

// TestAndReadAndWrite is atomic per SI: goroutines that each increment a
// counter with test-eq-then-write lose no update (Tahoe #1869).
func testConcCounter(e *env) {
	const workers, increments = 8, 4
	si, we := e.anySI(), e.we()
	e.mutable(si, we, 0, []byte("00000000"))
	err := parallel(workers, func(int) error {
		cur := []byte("00000000")
		for done := 0; done < increments; {
			var n int
			fmt.Sscanf(string(cur), "%d", &n)
			next := []byte(fmt.Sprintf("%08d", n+1))
			ok, reads, err := e.b.Shareset(si).TestAndReadAndWrite(e.ctx, we, []sharestore.TestAndWrite{{
				Shnum:  0,
				Tests:  []sharestore.TestVector{{Offset: 0, Length: 8, Op: sharestore.OpEQ, Specimen: cur}},
				Writes: []sharestore.DataVector{{Offset: 0, Data: next}},
			}}, []sharestore.ReadRange{{Offset: 0, Length: 8}})
			if err != nil {
				return err
			}
			if len(reads[0]) != 1 || len(reads[0][0]) != 8 {
				return fmt.Errorf("reads = %s", fmtReads(reads))
			}
			if ok {
				if string(reads[0][0]) != string(cur) {
					return fmt.Errorf("test eq %q passed but the read before the write was %q", cur, reads[0][0])
				}
				done++
				cur = next
			} else {
				cur = reads[0][0]
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.expectMutable(si, 0, we, []byte(fmt.Sprintf("%08d", workers*increments)))
}

// Of several goroutines that create one share with `eq ""`, exactly one
// succeeds and its data is what is stored.
func testConcCreate(e *env) {
	const workers = 8
	si, we := e.anySI(), e.we()
	var mu sync.Mutex
	var winners []int
	err := parallel(workers, func(i int) error {
		ok, _, err := e.b.Shareset(si).TestAndReadAndWrite(e.ctx, we, []sharestore.TestAndWrite{{
			Shnum:  0,
			Tests:  []sharestore.TestVector{{Offset: 0, Length: 1, Op: sharestore.OpEQ}},
			Writes: []sharestore.DataVector{{Offset: 0, Data: []byte(fmt.Sprintf("goroutine %d", i))}},
		}}, nil)
		if ok {
			mu.Lock()
			winners = append(winners, i)
			mu.Unlock()
		}
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(winners) != 1 {
		e.t.Fatalf("%d goroutines created the share (%v), want exactly 1", len(winners), winners)
	}
	e.expectMutable(si, 0, we, []byte(fmt.Sprintf("goroutine %d", winners[0])))
}

// Of several goroutines that start uploading one shnum, exactly one gets a
// writer; the others get ErrConflict.
func testConcWriteImmutable(e *env) {
	const workers = 8
	si := e.anySI()
	var mu sync.Mutex
	var granted []sharestore.ImmutableWriter
	err := parallel(workers, func(int) error {
		w, err := e.b.Shareset(si).WriteImmutable(e.ctx, 0, 5)
		if err != nil {
			if errors.Is(err, sharestore.ErrConflict) {
				return nil
			}
			return fmt.Errorf("WriteImmutable: %v, want nil or ErrConflict", err)
		}
		mu.Lock()
		granted = append(granted, w)
		mu.Unlock()
		return nil
	})
	for _, w := range granted[min(1, len(granted)):] {
		w.Abort(e.ctx)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	if len(granted) != 1 {
		e.t.Fatalf("%d goroutines got a writer, want exactly 1", len(granted))
	}
	w := granted[0]
	if err := w.Write(e.ctx, 0, []byte("hello")); err != nil {
		e.t.Fatalf("Write: %v", err)
	}
	if err := w.Close(e.ctx); err != nil {
		e.t.Fatalf("Close: %v", err)
	}
	e.expectData(si, 0, []byte("hello"))
}

// Operations on different SIs run concurrently without interfering.
func testConcDifferentSIs(e *env) {
	const workers = 6
	sis := make([]sharestore.StorageIndex, workers)
	wes := make([]sharestore.WriteEnabler, workers)
	for i := range sis {
		sis[i], wes[i] = e.anySI(), e.we()
	}
	err := parallel(workers, func(i int) error {
		ss := e.b.Shareset(sis[i])
		for j := 0; j < 3; j++ {
			ok, _, err := ss.TestAndReadAndWrite(e.ctx, wes[i], []sharestore.TestAndWrite{{Shnum: 0, Writes: []sharestore.DataVector{{Offset: int64(j), Data: []byte{byte('a' + i)}}}}}, nil)
			if err != nil || !ok {
				return fmt.Errorf("SI %d write %d: %v, %v", i, j, ok, err)
			}
		}
		w, err := ss.WriteImmutable(e.ctx, 1, 1)
		if err != nil {
			return err
		}
		if err := w.Write(e.ctx, 0, []byte{byte('A' + i)}); err != nil {
			w.Abort(e.ctx)
			return err
		}
		return w.Close(e.ctx)
	})
	if err != nil {
		e.t.Fatal(err)
	}
	for i := range sis {
		c := byte('a' + i)
		e.expectMutable(sis[i], 0, wes[i], []byte{c, c, c})
		e.expectData(sis[i], 1, []byte{byte('A' + i)})
	}
}
