package xds

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
)

// TLSFiles are PEM files for one gRPC link that Envoy dials (the control
// plane, ext_proc): CA verifies the server, Cert and Key are Envoy's client
// certificate for mTLS (both or neither). The paths are read by Envoy, on
// Envoy's host; Envoy watches them, so a rotated file is picked up.
type TLSFiles struct {
	CA, Cert, Key string
	// ServerName is the SNI and the name the server certificate must carry
	// (empty: the address's host is not checked by name, the CA still is).
	ServerName string
}

// Enabled reports whether the link uses TLS.
func (t TLSFiles) Enabled() bool { return t.CA != "" || t.Cert != "" }

// UpstreamTLSSocket is the transport socket of a cluster that dials a gRPC
// server over TLS (ALPN h2, as gRPC servers require). Nil when t is not
// enabled.
func UpstreamTLSSocket(t TLSFiles) (*corev3.TransportSocket, error) {
	if !t.Enabled() {
		return nil, nil
	}
	common := &tlsv3.CommonTlsContext{AlpnProtocols: []string{"h2"}}
	if t.CA != "" {
		vc := &tlsv3.CertificateValidationContext{TrustedCa: file(t.CA)}
		if t.ServerName != "" {
			vc.MatchTypedSubjectAltNames = []*tlsv3.SubjectAltNameMatcher{{
				SanType: tlsv3.SubjectAltNameMatcher_DNS,
				Matcher: exactMatcher(t.ServerName),
			}}
		}
		common.ValidationContextType = &tlsv3.CommonTlsContext_ValidationContext{ValidationContext: vc}
	}
	if t.Cert != "" {
		common.TlsCertificates = []*tlsv3.TlsCertificate{{CertificateChain: file(t.Cert), PrivateKey: file(t.Key)}}
	}
	ctx, err := toAny(&tlsv3.UpstreamTlsContext{CommonTlsContext: common, Sni: t.ServerName})
	if err != nil {
		return nil, err
	}
	return &corev3.TransportSocket{Name: "envoy.transport_sockets.tls", ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: ctx}}, nil
}

func file(path string) *corev3.DataSource {
	return &corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: path}}
}
