package plugin

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sharestore/sharestore"
)

// TestErrorMappingRoundTrip checks that every Code and its message survive
// toStatus on the plugin side and fromStatus on the host side.
func TestErrorMappingRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, c := range sharestore.Codes() {
		orig := sharestore.Errorf(c, "share xyz/3: something %s", c)
		got := fromStatus(ctx, toStatus(orig), "op")
		if !errors.Is(got, c) || sharestore.CodeOf(got) != c {
			t.Errorf("%v: round trip gave %v (code %v)", c, got, sharestore.CodeOf(got))
		}
		if got.Error() != orig.Error() {
			t.Errorf("%v: message %q, want %q", c, got.Error(), orig.Error())
		}
	}
	if got := fromStatus(ctx, toStatus(context.Canceled), "op"); !errors.Is(got, context.Canceled) {
		t.Errorf("context.Canceled came back as %v", got)
	}
	if got := fromStatus(ctx, toStatus(context.DeadlineExceeded), "op"); !errors.Is(got, context.DeadlineExceeded) {
		t.Errorf("context.DeadlineExceeded came back as %v", got)
	}
	// Bare statuses from the transport, without our detail.
	for gc, want := range map[codes.Code]error{
		codes.Canceled:         context.Canceled,
		codes.DeadlineExceeded: context.DeadlineExceeded,
		codes.Unavailable:      sharestore.ErrUnavailable,
		codes.Unknown:          sharestore.ErrInternal,
	} {
		if got := fromStatus(ctx, status.Error(gc, "boom"), "op"); !errors.Is(got, want) {
			t.Errorf("bare %v came back as %v (code %v), want %v", gc, got, sharestore.CodeOf(got), want)
		}
	}
	// A canceled call is canceled, whatever the transport says.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if got := fromStatus(cctx, status.Error(codes.Unavailable, "conn closed"), "op"); !errors.Is(got, context.Canceled) {
		t.Errorf("error under a canceled context came back as %v", got)
	}
}
