package extproc

import (
	"testing"
)

// BenchmarkModuleTable10000: the gateway's encoding of a 10,000-deployment
// table and the module's decode of it (D62).
func BenchmarkModuleTable10000(b *testing.B) {
	cfg := partsConfig(b, 10000, -1)
	key := make([]byte, 32)
	var parts [][]byte
	b.Run("encode", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			var e ModuleTableEncoder
			p, _, err := e.Encode(cfg, "v", key, ModuleConfig{})
			if err != nil {
				b.Fatal(err)
			}
			parts = p
		}
	})
	b.Run("decode", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			var a ModuleTableAssembler
			for _, p := range parts {
				if err := a.Apply(p); err != nil {
					b.Fatal(err)
				}
			}
			if _, _, ok, err := a.Config(); !ok || err != nil {
				b.Fatal(err)
			}
		}
	})
}
