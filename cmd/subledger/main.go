// Command subledger is subledger's one binary: `serve` runs the server, the
// other subcommands are the operator's tools.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: subledger <command> [flags]

commands:
  serve          run the HTTP server (flags: subledger serve -h)
  rebuild        replay the whole store into the projections and print a summary
  backup --to DIR
                 copy the data directory's store and key ring while serve runs (never the master key)
  restore --from DIR --data-dir D --erasure-fence FILE
                 check a backup's checksums, restore it into an empty data directory, re-apply the fence
  bench append   measure the event store (flags: subledger bench append -h)
  bench rebuild  generate a store of a synthetic business and time its rebuild
  bench http     measure the API over HTTP against a bare Echo route (GET and PATCH of an account)
  bench webhooks measure signed Stripe invoice.paid renewals over HTTP against a bare Echo route
  bench capacity measure a generated store's open time, index, serve RSS after catch-up, rebuild and disk per event
  license verify KEY
                 check a license key offline with the vendor's public key
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "subledger:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "rebuild":
		return rebuild(ctx, args[1:], stdout, stderr)
	case "backup":
		return backup(ctx, args[1:], stdout, stderr)
	case "restore":
		return restore(ctx, args[1:], stdout, stderr)
	case "license":
		if len(args) >= 2 && args[1] == "verify" {
			return licenseVerify(args[2:], stdout, stderr)
		}
	case "bench":
		if len(args) < 2 {
			fmt.Fprint(stderr, usage)
			return flag.ErrHelp
		}
		switch args[1] {
		case "append":
			return benchAppend(ctx, args[2:], stdout, stderr)
		case "rebuild":
			return benchRebuild(ctx, args[2:], stdout, stderr)
		case "http":
			return benchHTTP(ctx, args[2:], stdout, stderr)
		case "webhooks":
			return benchWebhooks(ctx, args[2:], stdout, stderr)
		case "capacity":
			return benchCapacity(ctx, args[2:], stdout, stderr)
		}
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// newFlagSet returns a flag set that reports errors to stderr; parse it with
// parseWithEnv so that its flags can also be set through SUBLEDGER_<NAME>
// environment variables (dashes become underscores).
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseWithEnv sets every flag not given on the command line from its
// environment variable, if present, then parses args.
func parseWithEnv(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", envName(f.Name), e)
			}
		}
	})
	return err
}

func envName(flagName string) string {
	b := []byte("SUBLEDGER_")
	for _, c := range []byte(flagName) {
		switch {
		case c == '-':
			c = '_'
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		}
		b = append(b, c)
	}
	return string(b)
}
