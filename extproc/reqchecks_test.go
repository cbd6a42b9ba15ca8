package extproc

import "testing"

// The address allowed_ips compares (D90): the peer Envoy appended to
// x-forwarded-for, or with use_x_forwarded_for the header as the client
// sent it.
func TestClientIP(t *testing.T) {
	for _, tc := range []struct {
		xff    string
		useXFF bool
		want   string
	}{
		{"192.0.2.2", false, "192.0.2.2"},
		{"192.0.2.2", true, "192.0.2.2"},
		{"10.1.2.3,192.0.2.2", false, "192.0.2.2"},
		{"10.1.2.3,192.0.2.2", true, "10.1.2.3"},
		{"10.1.2.3, 10.0.0.1,192.0.2.2", true, "10.1.2.3, 10.0.0.1"},
		{"", false, ""},
	} {
		if got := clientIP(tc.xff, tc.useXFF); got != tc.want {
			t.Errorf("clientIP(%q, %v) = %q, want %q", tc.xff, tc.useXFF, got, tc.want)
		}
	}
}
