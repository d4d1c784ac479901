package main

import (
	"flag"
	"log/slog"
	"net/http"
	"time"

	"github.com/aseptsoft/subledger/api"
	"github.com/aseptsoft/subledger/portal"
)

// portalConfig is the hosted portal's configuration.
type portalConfig struct {
	On  bool
	URL string
}

func (c *portalConfig) flags(fs *flag.FlagSet) {
	fs.BoolVar(&c.On, "portal", true, "serve the hosted account and affiliate pages under /portal/ (--portal=false turns them and portal links off)")
	fs.StringVar(&c.URL, "portal-url", "", "public origin of the portal for the links it hands out, e.g. https://billing.example.com (default: the request's host); https makes its cookies Secure")
}

// withPortal mounts the portal in front of the API, when it is on. The
// portal's CSRF secret is derived from the master key, so every replica
// agrees.
func withPortal(srv *api.Server, c portalConfig, secret []byte, logger *slog.Logger, now func() time.Time) (http.Handler, error) {
	if !c.On {
		return srv, nil
	}
	p, err := portal.New(portal.Config{API: srv, Secret: secret, PublicURL: c.URL, Logger: logger, Now: now})
	if err != nil {
		return nil, err
	}
	return portal.Mount(srv, p), nil
}
