// Package api is subledger's HTTP interface: routes, authentication, request
// validation and problem+json errors, on Echo.
package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// Config is what the server needs.
type Config struct {
	// Ready reports whether the projections have caught up with the store;
	// nil means always ready.
	Ready func() bool
}

// Server is the HTTP server's handler set.
type Server struct {
	echo *echo.Echo
	cfg  Config
}

// New returns a server with every route registered.
func New(cfg Config) *Server {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	s := &Server{echo: e, cfg: cfg}
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// healthz answers while the process is up.
func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 once the projections have caught up with the store,
// and 503 before.
func (s *Server) readyz(c echo.Context) error {
	if s.cfg.Ready != nil && !s.cfg.Ready() {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "catching up"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}
