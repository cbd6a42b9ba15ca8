package deploy

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/byo"
	"github.com/llmgate/llmgate/xds"
)

// skeleton lists each patch as applyTo/op/match or type/name/path, with the
// name of the object it carries.
func skeleton(t *testing.T, b []byte) string {
	t.Helper()
	var doc struct {
		Spec struct {
			ConfigPatches []struct {
				ApplyTo string `yaml:"applyTo"`
				Match   any
				Patch   struct {
					Operation string
					Value     map[string]any
				}
			} `yaml:"configPatches"`
			JSONPatches []struct {
				Type, Name string
				Operation  struct {
					Op, Path string
					Value    any
				}
			} `yaml:"jsonPatches"`
		}
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range doc.Spec.ConfigPatches {
		out = append(out, fmt.Sprintf("%s/%s/%v/%v", p.ApplyTo, p.Patch.Operation, p.Match, p.Patch.Value["name"]))
	}
	for _, p := range doc.Spec.JSONPatches {
		name := ""
		if m, ok := p.Operation.Value.(map[string]any); ok {
			name = fmt.Sprint(m["name"])
		}
		out = append(out, fmt.Sprintf("%s/%s/%s/%s/%s", p.Type, p.Name, p.Operation.Op, p.Operation.Path, name))
	}
	return strings.Join(out, "\n")
}

var update = flag.Bool("update", false, "rewrite deploy/byo's rendered examples")

const extprocAddress = "llmgate-extproc.llmgate.svc.cluster.local:50051"

// TestBYOExamples: deploy/byo's EnvoyFilter and EnvoyPatchPolicy are what
// `llmgate render --target istio|envoy-gateway` prints for the config in
// deploy/byo/extproc.yaml's ConfigMap (`go test ./deploy -update` rewrites
// them), and that manifest serves ext_proc where they point.
func TestBYOExamples(t *testing.T) {
	raw, err := os.ReadFile("byo/extproc.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfgYAML string
	kinds := map[string]bool{}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	for {
		var obj struct {
			Kind     string
			Metadata struct{ Name, Namespace string }
			Data     map[string]string
			Spec     struct {
				Ports []struct{ Port int }
			}
		}
		if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		kinds[obj.Kind] = true
		if obj.Kind == "ConfigMap" {
			cfgYAML = obj.Data["config.yaml"]
		}
		if obj.Kind == "Service" {
			host := obj.Metadata.Name + "." + obj.Metadata.Namespace + ".svc.cluster.local"
			if len(obj.Spec.Ports) != 1 || !strings.HasPrefix(extprocAddress, host+":") || !strings.HasSuffix(extprocAddress, ":50051") || obj.Spec.Ports[0].Port != 50051 {
				t.Errorf("the Service %s is not %s", host, extprocAddress)
			}
		}
	}
	for _, k := range []string{"Namespace", "ConfigMap", "Deployment", "Service"} {
		if !kinds[k] {
			t.Errorf("extproc.yaml has no %s", k)
		}
	}
	cfg, err := config.Parse([]byte(cfgYAML), "config.yaml", func(k string) (string, bool) {
		if strings.HasPrefix(k, "AZURE_") {
			return "unused", true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := xds.Build(cfg, xds.Options{ExtProcAddress: extprocAddress, NoPriorityGroup: true})
	if err != nil {
		t.Fatal(err)
	}
	fr, err := byo.BuildFragments(res, nil)
	if err != nil {
		t.Fatal(err)
	}
	for file, render := range map[string]func() ([]byte, error){
		"byo/istio-envoyfilter.yaml":              func() ([]byte, error) { return byo.Istio(fr, byo.IstioOptions{}) },
		"byo/envoy-gateway-envoypatchpolicy.yaml": func() ([]byte, error) { return byo.EnvoyGateway(fr, byo.EnvoyGatewayOptions{}) },
	} {
		want, err := render()
		if err != nil {
			t.Fatal(err)
		}
		if *update {
			if err := os.WriteFile(file, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		// The patches' skeleton must match (what each patch does, to which
		// resource, with which object): changes inside a cluster or filter
		// config made elsewhere do not make the examples wrong.
		if g, w := skeleton(t, got), skeleton(t, want); g != w {
			t.Errorf("%s is not what render prints now (go test ./deploy -run TestBYOExamples -update):\n got %s\nwant %s", file, g, w)
		}
	}
}
