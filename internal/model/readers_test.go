package model_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The config keys the model interprets: no package but config (which
// parses them) and this one may read them.
var (
	modelParams = set("RPM", "TPM", "Weight", "MockResponse", "MockTimeout", "MaxParallelRequests",
		"CooldownTime", "Timeout", "StreamTimeout", "MaxRetries", "NumRetries", "APIBase")
	modelRouterSettings = set("RoutingStrategy", "RoutingStrategyArgs", "NumRetries", "Timeout", "StreamTimeout",
		"AllowedFails", "AllowedFailsPolicy", "CooldownTime", "DisableCooldowns", "RetryPolicy", "Fallbacks",
		"ContextWindowFallbacks", "ContentPolicyFallbacks", "DefaultFallbacks", "MaxFallbacks", "ModelGroupAlias",
		"EnablePreCallChecks", "DefaultMaxParallelRequests",
		"FallbackGroups", "CleanFallbacks", "ExactFallbacks")
	modelFuncs = set("ShuffleWeights")
)

// readersAllowed are the reads outside config and the model, by
// "package-dir/file.go: Type.Field"; each must still occur. Only
// internal/upstream, whose api_base rule the model applies, and the
// client-side credentials' per-request deployment (D156), which writes the
// request's own api_base into its copy of the deployment (it reads none of
// the config's) for internal/upstream's rule.
var readersAllowed = map[string]bool{
	"internal/upstream/upstream.go: LiteLLMParams.APIBase": true,
	"extproc/clientside.go: LiteLLMParams.APIBase":         true,
}

func set(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

type listedPackage struct {
	ImportPath      string
	Dir             string
	Export          string
	CompiledGoFiles []string // after cgo, as go vet checks them
	Module          *struct{ Main bool }
}

// TestConfigKeysReadOnlyByModel fails when a package other than config and
// internal/model reads a deployment's or the router's routing keys
// (litellm_params rpm, tpm, weight, mock_response, mock_timeout,
// max_parallel_requests, cooldown_time, timeout, stream_timeout,
// max_retries, num_retries, api_base; router_settings' strategy, retries,
// timeouts, cooldowns, fallbacks and aliases): they are interpreted once,
// by Compile. Tests are not checked (they build configs).
func TestConfigKeysReadOnlyByModel(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-e", "-deps", "-export", "-compiled", "-json=ImportPath,Dir,Export,CompiledGoFiles,Module", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	exports := map[string]string{}
	var mine []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		exports[p.ImportPath] = p.Export
		if p.Module != nil && p.Module.Main {
			mine = append(mine, p)
		}
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		f, ok := exports[path]
		if !ok || f == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(f)
	})
	const configPkg = "github.com/llmgate/llmgate/config"
	found := map[string]bool{}
	checked := 0
	for _, p := range mine {
		rel, _ := filepath.Rel(root, p.Dir)
		rel = filepath.ToSlash(rel)
		if rel == "config" || rel == "internal/model" || strings.HasPrefix(rel, "tools/") || len(p.CompiledGoFiles) == 0 {
			continue
		}
		var files []*ast.File
		for _, name := range p.CompiledGoFiles {
			if !filepath.IsAbs(name) {
				name = filepath.Join(p.Dir, name)
			}
			f, err := parser.ParseFile(fset, name, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		info := &types.Info{Selections: map[*ast.SelectorExpr]*types.Selection{}, Uses: map[*ast.Ident]types.Object{}}
		conf := types.Config{Importer: imp, Error: func(error) {}}
		if _, err := conf.Check(p.ImportPath, fset, files, info); err != nil {
			t.Fatalf("type-check %s: %v", p.ImportPath, err)
		}
		checked++
		for sel, s := range info.Selections {
			recv := s.Recv()
			if ptr, ok := recv.(*types.Pointer); ok {
				recv = ptr.Elem()
			}
			named, ok := recv.(*types.Named)
			if !ok || named.Obj().Pkg() == nil || named.Obj().Pkg().Path() != configPkg {
				continue
			}
			name := sel.Sel.Name
			if (named.Obj().Name() == "LiteLLMParams" && modelParams[name]) || (named.Obj().Name() == "RouterSettings" && modelRouterSettings[name]) {
				pos := fset.Position(sel.Sel.Pos())
				found[fmt.Sprintf("%s/%s: %s.%s", rel, filepath.Base(pos.Filename), named.Obj().Name(), name)] = true
			}
		}
		for id, obj := range info.Uses {
			if fn, ok := obj.(*types.Func); ok && fn.Pkg() != nil && fn.Pkg().Path() == configPkg && modelFuncs[fn.Name()] {
				pos := fset.Position(id.Pos())
				found[fmt.Sprintf("%s/%s: config.%s", rel, filepath.Base(pos.Filename), fn.Name())] = true
			}
		}
	}
	if checked < 10 {
		t.Fatalf("checked %d packages; the module listing is wrong", checked)
	}
	var bad, gone []string
	for k := range found {
		if !readersAllowed[k] {
			bad = append(bad, k)
		}
	}
	for k := range readersAllowed {
		if !found[k] {
			gone = append(gone, k)
		}
	}
	sort.Strings(bad)
	sort.Strings(gone)
	for _, k := range bad {
		t.Errorf("config key read outside the model (read it from internal/model instead): %s", k)
	}
	for _, k := range gone {
		t.Errorf("allowed read no longer occurs; remove it from readersAllowed: %s", k)
	}
}
