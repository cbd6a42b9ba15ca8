package configtest

import (
	"regexp"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/config"
)

var envRef = regexp.MustCompile(`os\.environ/([A-Za-z0-9_]+)`)

// Parse parses a config whose os.environ/ references get stand-in values:
// a port for *_PORT, an unreachable URL for *_API_BASE, "dummy" otherwise.
func Parse(t testing.TB, name string, data []byte) *config.Config {
	t.Helper()
	vals := map[string]string{}
	for _, m := range envRef.FindAllStringSubmatch(string(data), -1) {
		v := "dummy"
		switch {
		case strings.HasSuffix(m[1], "_PORT"):
			v = "6379"
		case strings.HasSuffix(m[1], "_API_BASE"):
			v = "https://example.invalid"
		}
		vals[m[1]] = v
	}
	cfg, err := config.Parse(data, name, func(k string) (string, bool) { v, ok := vals[k]; return v, ok })
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return cfg
}
