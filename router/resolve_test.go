package router

import (
	"errors"
	"reflect"
	"testing"

	"github.com/llmgate/llmgate/config"
)

func TestResolve(t *testing.T) {
	cfg := baseConfig(
		dep("a1", "gpt-4o", "azure/gpt-4o"),
		dep("a2", "gpt-4o", "openai/gpt-4o"),
		dep("w1", "anthropic/*", "anthropic/*"),
		dep("w2", "anthropic/claude-3-*", "anthropic/claude-3-*-latest"),
		dep("w3", "fo::*:static::*", "openai/fo::*:static::*"),
		dep("x1", "openai/gpt-4o-mini", "openai/gpt-4o-mini"),
	)
	cfg.Router.ModelGroupAlias = map[string]config.Alias{
		"my-gpt":       {Group: "gpt-4o"},
		"secret-gpt":   {Group: "gpt-4o", Hidden: true},
		"anthropic/x1": {Group: "gpt-4o"}, // alias beats the pattern
	}
	r := newTestRouter(cfg, newClock(), 1)
	tests := []struct {
		in        string
		group     string
		alias     string
		wildcard  bool
		provider  string
		model     string // model of the first target
		invalid   bool
		firstDeps []string
	}{
		{in: "gpt-4o", group: "gpt-4o", provider: "azure", model: "gpt-4o", firstDeps: []string{"a1", "a2"}},
		{in: "my-gpt", group: "gpt-4o", alias: "my-gpt", provider: "azure", model: "gpt-4o"},
		{in: "secret-gpt", group: "gpt-4o", alias: "secret-gpt", provider: "azure", model: "gpt-4o"},
		{in: "anthropic/x1", group: "gpt-4o", alias: "anthropic/x1", provider: "azure", model: "gpt-4o"},
		{in: "anthropic/claude-3", group: "anthropic/*", wildcard: true, provider: "anthropic", model: "claude-3"},
		// longest pattern first
		{in: "anthropic/claude-3-opus", group: "anthropic/claude-3-*", wildcard: true, provider: "anthropic", model: "claude-3-opus-latest"},
		// bare name tried as provider/model
		{in: "claude-2.1", group: "anthropic/*", wildcard: true, provider: "anthropic", model: "claude-2.1"},
		{in: "claude-3-5-sonnet", group: "anthropic/claude-3-*", wildcard: true, provider: "anthropic", model: "claude-3-5-sonnet-latest"},
		// two captures
		{in: "fo::hi:static::there", group: "fo::*:static::*", wildcard: true, provider: "openai", model: "fo::hi:static::there"},
		// exact beats pattern
		{in: "openai/gpt-4o-mini", group: "openai/gpt-4o-mini", provider: "openai", model: "gpt-4o-mini"},
		{in: "gpt-5", invalid: true},
		{in: "", invalid: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			res, err := r.Resolve(tc.in)
			if tc.invalid {
				var ime *InvalidModelError
				if !errors.As(err, &ime) {
					t.Fatalf("err = %v, want InvalidModelError", err)
				}
				if want := "Invalid model name passed in model=" + tc.in; err.Error() != want {
					t.Fatalf("message %q, want %q", err.Error(), want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Group != tc.group || res.Alias != tc.alias || res.Wildcard != tc.wildcard {
				t.Fatalf("got %+v", res)
			}
			ts := r.Targets(res)
			if len(ts) == 0 {
				t.Fatal("no targets")
			}
			if ts[0].Provider != tc.provider || ts[0].Model != tc.model {
				t.Fatalf("target = %+v, want %s/%s", ts[0], tc.provider, tc.model)
			}
			if tc.firstDeps != nil {
				var ids []string
				for _, x := range ts {
					ids = append(ids, x.DeploymentID)
				}
				if !reflect.DeepEqual(ids, tc.firstDeps) {
					t.Fatalf("ids %v want %v", ids, tc.firstDeps)
				}
			}
		})
	}
}

func TestResolveBareStar(t *testing.T) {
	cfg := baseConfig(dep("s", "*", "*"))
	r := newTestRouter(cfg, newClock(), 1)
	for _, tc := range []struct{ in, provider, model string }{
		{"gpt-4o", "openai", "gpt-4o"},
		{"anthropic/claude-3", "anthropic", "claude-3"},
	} {
		res, err := r.Resolve(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		got := r.Targets(res)[0]
		if got.Provider != tc.provider || got.Model != tc.model {
			t.Errorf("%s: got %+v", tc.in, got)
		}
	}
}

func TestGroupsAndLookup(t *testing.T) {
	cfg := baseConfig(
		dep("a1", "gpt-4o", "azure/gpt-4o"),
		dep("b1", "claude", "anthropic/claude-3-haiku"),
		dep("a2", "gpt-4o", "openai/gpt-4o"),
	)
	cfg.Router.ModelGroupAlias = map[string]config.Alias{
		"visible": {Group: "claude"},
		"hidden":  {Group: "claude", Hidden: true},
	}
	r := newTestRouter(cfg, newClock(), 1)
	got := r.Groups()
	want := []Group{
		{Name: "gpt-4o", Deployments: []string{"a1", "a2"}},
		{Name: "claude", Deployments: []string{"b1"}},
		{Name: "visible", AliasOf: "claude", Deployments: []string{"b1"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Groups() = %+v\nwant %+v", got, want)
	}
	if d, ok := r.Deployment("b1"); !ok || d.ModelName != "claude" {
		t.Fatalf("Deployment(b1) = %v %v", d, ok)
	}
	if _, ok := r.Deployment("nope"); ok {
		t.Fatal("Deployment(nope) found")
	}
}
