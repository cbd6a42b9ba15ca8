package gateway

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestModuleLookupOrder (D56): the module's file is --dynamic-module, else
// $LLMGATE_DYNAMIC_MODULE, else libllmgate.so next to the binary, else
// ../lib/llmgate/libllmgate.so from the binary's directory; a missing file
// names every place tried.
func TestModuleLookupOrder(t *testing.T) {
	for _, tc := range []struct {
		flag, env string
		want      []string
	}{
		{"/f/lib.so", "/e/lib.so", []string{"/f/lib.so"}},
		{"", "/e/lib.so", []string{"/e/lib.so"}},
		{"", "", []string{"/opt/llmgate/bin/libllmgate.so", "/opt/llmgate/lib/llmgate/libllmgate.so"}},
	} {
		got := moduleCandidatesFor(tc.flag, tc.env, "/opt/llmgate/bin/llmgate")
		for i := range got {
			got[i] = filepath.Clean(got[i])
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("flag %q env %q: %v, want %v", tc.flag, tc.env, got, tc.want)
		}
	}

	dir := t.TempDir()
	t.Setenv("LLMGATE_DYNAMIC_MODULE", "")
	lib := filepath.Join(dir, "libllmgate.so")
	if _, err := moduleLibrary(lib); err == nil || !strings.Contains(err.Error(), lib+" is missing") {
		t.Errorf("missing file: %v", err)
	}
	if err := os.Mkdir(lib, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := moduleLibrary(lib); err == nil {
		t.Errorf("a directory was taken for the module")
	}
	other := filepath.Join(dir, "other.so")
	if err := os.WriteFile(other, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LLMGATE_DYNAMIC_MODULE", other)
	if got, err := moduleLibrary(""); err != nil || got != other {
		t.Errorf("from the environment: %q %v", got, err)
	}
	// The binary's places: this test binary has no module beside it.
	t.Setenv("LLMGATE_DYNAMIC_MODULE", "")
	_, err := moduleLibrary("")
	if err == nil || strings.Count(err.Error(), "libllmgate.so") != 2 {
		t.Errorf("no module near the binary: %v", err)
	}
}
