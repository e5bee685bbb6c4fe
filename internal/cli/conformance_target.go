package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/conformance"
	"github.com/sharestore/sharestore/internal/backendurl"
	"github.com/sharestore/sharestore/internal/conformance/scratch"
	"github.com/sharestore/sharestore/plugin"
)

// conformanceTarget returns the harness the flags name: the plugin's
// own harness service; scratch locations under --backend served by a
// plugin without one; or scratch locations of a built-in backend, in
// process.
func conformanceTarget(ctx context.Context, f *conformanceFlags) (*conformanceRun, error) {
	props := map[string]string{"sharestore": shortVersion()}
	if f.backend != "" {
		props["backend"] = redactedSpec(f.backend)
	}
	if f.pf.path == "" {
		if err := f.pf.checkUnused(); err != nil {
			return nil, err
		}
		if f.backend == "" {
			return nil, usageErr(errors.New("conformance: give --backend URL (a built-in backend, tested in process) or --plugin PATH"))
		}
		h, err := scratch.New(f.backend, func(ctx context.Context, loc string) (sharestore.Backend, error) {
			return openBackend(ctx, loc, true, &pluginFlags{})
		})
		if err != nil {
			return nil, usageErr(err)
		}
		h.CreateBucket = func(ctx context.Context, loc string) error {
			return backendurl.CreateBucket(ctx, loc, backendurl.Env{Logger: loggerFrom(ctx)})
		}
		props["harness"] = "in process; a scratch location under --backend per test"
		return &conformanceRun{h: h, props: props, close: func() error { return nil }}, nil
	}
	host, err := f.pf.host(ctx)
	if err != nil {
		return nil, err
	}
	props["plugin"] = host.path
	ph, closer, err := openPluginHarness(ctx, host, f.backend)
	switch {
	case err == nil:
		props["harness"] = "the plugin's harness service"
		return &conformanceRun{h: ph, props: props, close: closer}, nil
	case !errors.Is(err, sharestore.ErrUnimplemented):
		return nil, openErr(fmt.Errorf("plugin %s: %w", host.path, host.scrub(err)))
	case f.backend == "":
		return nil, usageErr(fmt.Errorf("plugin %s serves no harness service (plugin.WithHarness), so it needs --backend: a location under which each test makes its scratch store", host.path))
	}
	h, err := scratch.New(f.backend, func(ctx context.Context, loc string) (sharestore.Backend, error) {
		return openPlugin(ctx, loc, true, &f.pf)
	})
	if err != nil {
		return nil, usageErr(err)
	}
	h.NoPlant = fmt.Sprintf("plugin %s serves no harness service (plugin.WithHarness), so nothing can be planted beside its store", host.path)
	props["harness"] = "none; a scratch location under --backend per test"
	return &conformanceRun{h: h, props: props, close: func() error { return nil }}, nil
}

// openPluginHarness starts the plugin of host with its harness service;
// a plugin without one is ErrUnimplemented.
func openPluginHarness(ctx context.Context, host *pluginHost, spec string) (conformance.Harness, func() error, error) {
	h, err := plugin.OpenHarness(ctx, host.path, host.config(spec, true), host.opts)
	if err != nil {
		return nil, nil, err
	}
	return h, h.Close, nil
}
