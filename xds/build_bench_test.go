package xds

import "testing"

// BenchmarkBuild10000 is xds.Build of 10,000 OpenAI-compatible deployments
// as `llmgate run` compiles them (fast path on): the Go side of a large
// push (docs/architecture.md D48).
func BenchmarkBuild10000(b *testing.B) {
	cfg := deltaConfig(b, 10000, -1)
	o := Options{ListenAddress: "127.0.0.1", Port: 4000, ExtProcSocket: "/tmp/x.sock", FastPath: true}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Build(cfg, o); err != nil {
			b.Fatal(err)
		}
	}
}
