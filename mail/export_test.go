package mail

import "crypto/x509"

// SetRootCAs makes s trust pool instead of the system roots, so tests can
// use a self-signed certificate.
func SetRootCAs(s *Sender, pool *x509.CertPool) { s.rootCAs = pool }
