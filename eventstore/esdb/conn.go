// The connection string: its schemes, its parsing, its redaction for
// logs, and the client's own log.

package esdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	esdbc "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// clientScheme maps an accepted URL scheme to the one the client knows.
func clientScheme(scheme string) (string, bool) {
	switch strings.ToLower(scheme) {
	case "esdb", "kurrentdb", "kdb":
		return "esdb", true
	case "esdb+discover", "kurrentdb+discover", "kdb+discover":
		return "esdb+discover", true
	}
	return "", false
}

// parseConnString translates the scheme and parses the rest with the client.
// Errors never repeat the connection string, which may hold a password.
func parseConnString(connString string) (*esdbc.Configuration, error) {
	scheme, rest, ok := strings.Cut(connString, "://")
	target, known := clientScheme(scheme)
	if !ok || !known {
		return nil, fmt.Errorf("esdb: connection string must start with esdb://, esdb+discover://, kurrentdb:// or kurrentdb+discover://")
	}
	conf, err := esdbc.ParseConnectionString(target + "://" + rest)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("esdb: invalid connection string: %w", err)
	}
	return conf, nil
}

// redact returns connString without its password, for messages.
func redact(connString string) string {
	u, err := url.Parse(connString)
	if err != nil {
		return "the server"
	}
	return u.Redacted()
}

// clientLog routes the client's log lines to slog. Outcomes the adapter
// turns into errors of its own (a call canceled, a precondition failed)
// are logged at debug level rather than as errors.
func clientLog(level esdbc.LogLevel, format string, args ...any) {
	lvl := slog.LevelDebug
	switch level {
	case esdbc.LogWarn:
		lvl = slog.LevelWarn
	case esdbc.LogError:
		lvl = slog.LevelError
	}
	if lvl > slog.LevelDebug {
		for _, a := range args {
			if err, ok := a.(error); ok {
				switch status.Code(err) {
				case codes.Canceled, codes.FailedPrecondition, codes.DeadlineExceeded:
					lvl = slog.LevelDebug
				}
				if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
					lvl = slog.LevelDebug
				}
			}
		}
	}
	slog.Log(context.Background(), lvl, "esdb client: "+fmt.Sprintf(format, args...))
}
