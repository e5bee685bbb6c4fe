package mem_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/backends/mem"
)

// List pages by prefix in ascending key order, page after page, and
// skips keys outside the prefix.
func TestListPages(t *testing.T) {
	ctx := context.Background()
	s := mem.NewStore()
	s.SetPageSize(3)
	for i := 9; i >= 0; i-- {
		s.Put(ctx, fmt.Sprintf("p/%02d", i), []byte{byte(i)})
	}
	s.Put(ctx, "o/1", nil)
	s.Put(ctx, "q", nil)
	var got []string
	token, pages := "", 0
	for {
		pg, err := s.List(ctx, "p/", token)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(pg.Objects) > 3 {
			t.Fatalf("page %d holds %d objects, page size 3", pages, len(pg.Objects))
		}
		for _, o := range pg.Objects {
			got = append(got, o.Key)
		}
		if pg.Next == "" {
			break
		}
		token = pg.Next
	}
	want := "[p/00 p/01 p/02 p/03 p/04 p/05 p/06 p/07 p/08 p/09]"
	if fmt.Sprint(got) != want || pages != 4 {
		t.Fatalf("listed %v in %d pages, want %s in 4", got, pages, want)
	}
	if c := s.Counts(); c.Lists != 4 || c.Puts != 12 {
		t.Fatalf("Counts = %+v, want 4 lists and 12 puts", c)
	}
}

// Get returns the range asked for, truncated at the end, everything from
// offset with a negative length, and nothing past the end.
func TestGetRanges(t *testing.T) {
	ctx := context.Background()
	s := mem.NewStore()
	s.Put(ctx, "k", []byte("0123456789"))
	for _, c := range []struct {
		off, n int64
		want   string
	}{{0, -1, "0123456789"}, {3, 4, "3456"}, {8, 5, "89"}, {4, -1, "456789"}, {10, 3, ""}, {12, -1, ""}, {2, 0, ""}} {
		got, err := s.Get(ctx, "k", c.off, c.n)
		if err != nil || string(got) != c.want {
			t.Errorf("Get(k, %d, %d) = %q, %v; want %q", c.off, c.n, got, err, c.want)
		}
	}
	if _, err := s.Get(ctx, "missing", 0, -1); !errors.Is(err, sharestore.ErrNotFound) {
		t.Errorf("Get(missing) = %v, want ErrNotFound", err)
	}
	if _, err := s.Head(ctx, "missing"); !errors.Is(err, sharestore.ErrNotFound) {
		t.Errorf("Head(missing) = %v, want ErrNotFound", err)
	}
}

// The store keeps and returns copies: changing a buffer after Put or
// after Get changes nothing stored.
func TestCopies(t *testing.T) {
	ctx := context.Background()
	s := mem.NewStore()
	buf := []byte("abc")
	s.Put(ctx, "k", buf)
	buf[0] = 'X'
	got, _ := s.Get(ctx, "k", 0, -1)
	got[1] = 'Y'
	if again, _ := s.Get(ctx, "k", 0, -1); string(again) != "abc" {
		t.Fatalf("stored bytes are %q, want abc", again)
	}
}

// Every rewrite changes the Version, even with the same bytes; List and
// Head agree on it; DeleteIf refuses a stale version and keeps the object.
func TestVersionsAndDeleteIf(t *testing.T) {
	ctx := context.Background()
	s := mem.NewStore()
	s.Put(ctx, "k", []byte("same"))
	first, _ := s.Head(ctx, "k")
	s.Put(ctx, "k", []byte("same"))
	second, _ := s.Head(ctx, "k")
	if first.Version == "" || first.Version == second.Version {
		t.Fatalf("versions %q then %q: want two different non-empty tokens", first.Version, second.Version)
	}
	pg, _ := s.List(ctx, "k", "")
	if len(pg.Objects) != 1 || pg.Objects[0] != second {
		t.Fatalf("List = %+v, Head = %+v: want the same object", pg.Objects, second)
	}
	if err := s.DeleteIf(ctx, "k", first.Version); !errors.Is(err, sharestore.ErrConflict) {
		t.Fatalf("DeleteIf(stale version) = %v, want ErrConflict", err)
	}
	if _, err := s.Head(ctx, "k"); err != nil {
		t.Fatalf("the object is gone after a refused DeleteIf: %v", err)
	}
	if err := s.DeleteIf(ctx, "k", second.Version); err != nil {
		t.Fatalf("DeleteIf(current version) = %v", err)
	}
	if err := s.Delete(ctx, "k"); !errors.Is(err, sharestore.ErrNotFound) {
		t.Fatalf("Delete(missing) = %v, want ErrNotFound", err)
	}
	if err := s.DeleteIf(ctx, "k", second.Version); !errors.Is(err, sharestore.ErrNotFound) {
		t.Fatalf("DeleteIf(missing) = %v, want ErrNotFound", err)
	}
}

// Every method honours a canceled context.
func TestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := mem.NewStore()
	var st cloud.ObjectStore = s
	_, errList := st.List(ctx, "", "")
	_, errGet := st.Get(ctx, "k", 0, -1)
	_, errHead := st.Head(ctx, "k")
	for name, err := range map[string]error{
		"List": errList, "Get": errGet, "Head": errHead,
		"Put": st.Put(ctx, "k", nil), "Delete": st.Delete(ctx, "k"),
		"DeleteIf": s.DeleteIf(ctx, "k", "1"), "CreateBucket": s.CreateBucket(ctx),
	} {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context = %v, want context.Canceled", name, err)
		}
	}
	if len(s.Keys()) != 0 {
		t.Fatalf("a canceled Put stored %v", s.Keys())
	}
}

// New reports the name "mem", offers conditional deletes, and two
// backends over one Store see one set of shares.
func TestNewSharedStore(t *testing.T) {
	ctx := context.Background()
	st := mem.NewStore()
	a, err := mem.New(mem.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := mem.New(mem.Options{Store: st})
	if c := a.Capabilities(); c.Name != mem.Name || !c.ConditionalDelete {
		t.Fatalf("Capabilities = %+v", c)
	}
	si, _ := sharestore.ParseStorageIndex("aaaaaaaaaaaaaaaaaaaaaaaaaa")
	w, err := a.Shareset(si).WriteImmutable(ctx, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, 0, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Shareset(si).ReadShareData(ctx, 3, 0, 10); err != nil || string(got) != "hi" {
		t.Fatalf("the other backend reads %q, %v", got, err)
	}
	if _, err := mem.New(mem.Options{ContainerVersion: 3}); !errors.Is(err, sharestore.ErrInvalidArgument) {
		t.Fatalf("New(ContainerVersion 3) = %v, want ErrInvalidArgument", err)
	}
}
