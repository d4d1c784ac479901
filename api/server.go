// Package api is subledger's HTTP interface: routes, authentication, request
// validation and problem+json errors, on Echo.
package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// Server is the HTTP server's handler set.
type Server struct {
	echo *echo.Echo
}

// New returns a server with every route registered.
func New() *Server {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	s := &Server{echo: e}
	e.GET("/healthz", s.healthz)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}
