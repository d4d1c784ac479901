package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLogCheckCanFail feeds the log check planted lines, so that a check
// that silently passes everything cannot hide behind the suite's green.
func TestLogCheckCanFail(t *testing.T) {
	dir := t.TempDir()
	p := newPerson("planted")
	suite.mu.Lock()
	suite.clientAddrs["127.0.0.1:54321"] = true
	suite.mu.Unlock()
	lines := []string{
		`{"level":"INFO","msg":"subledger serving","addr":"127.0.0.1:8080"}`,
		`{"level":"INFO","msg":"request","request_id":"r1","method":"GET","route":"/healthz","status":200}`,
		`{"level":"INFO","msg":"request","method":"GET","route":"/healthz","status":200}`,
		`{"level":"INFO","msg":"request","request_id":"r3","client":"127.0.3.9","status":200}`,
		`{"level":"WARN","msg":"something","remote":"127.0.0.1:54321"}`,
		`{"level":"INFO","msg":"signed up","who":"` + strings.ToUpper(p.Email) + `"}`,
		`panic: not JSON`,
	}
	logPath, outPath := filepath.Join(dir, "err.log"), filepath.Join(dir, "out.log")
	if err := os.WriteFile(logPath, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(outPath, []byte("token "+p.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &server{name: "planted", runs: []*run{{n: 1, logPath: logPath, outPath: outPath, graceful: true, requestIDs: []string{"r1", "never-logged"}}}}
	l := &lenient{TB: t}
	s.checkLogs(l)
	for _, want := range []string{
		"request log line without a request_id",
		"client address 127.0.3.9",
		"client address 127.0.0.1:54321",
		"log holds a e-mail address",
		"log holds a password",
		"not a JSON log line",
		"X-Request-Id never-logged",
	} {
		found := false
		for _, e := range l.errs {
			found = found || strings.Contains(e, want)
		}
		if !found {
			t.Errorf("the log check did not report %q; it reported:\n%s", want, strings.Join(l.errs, "\n"))
		}
	}
	for _, e := range l.errs {
		if strings.Contains(e, "err.log line 1:") || strings.Contains(e, "err.log line 2:") || strings.Contains(e, "X-Request-Id r1 ") {
			t.Errorf("the log check reported a clean line: %s", e)
		}
	}
	// The planted values must not count against the real servers' logs.
	suite.mu.Lock()
	delete(suite.clientAddrs, "127.0.0.1:54321")
	for _, v := range []string{p.Name, p.Company, p.Email, p.Password} {
		delete(suite.secrets, v)
	}
	suite.mu.Unlock()
}
