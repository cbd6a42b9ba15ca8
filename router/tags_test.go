package router

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/llmgate/llmgate/config"
)

func withTags(d config.Deployment, tags ...string) config.Deployment { d.Params.Tags = tags; return d }

func withTagRegex(d config.Deployment, res ...string) config.Deployment {
	d.Params.TagRegex = res
	return d
}

// TestPlanTags: enable_tag_filtering as LiteLLM's get_deployments_for_tag
// applies it to the deployments that can take a request.
func TestPlanTags(t *testing.T) {
	ctx := context.Background()
	deps := []config.Deployment{
		withTags(dep("a", "g", "openai/a"), "teamA"),
		withTags(dep("ab", "g", "openai/ab"), "teamA", "teamB"),
		withTags(dep("def", "g", "openai/def"), "default"),
		dep("none", "g", "openai/none"),
	}
	rx := []config.Deployment{
		withTags(dep("def", "g", "openai/def"), "default"),
		withTagRegex(dep("cc", "g", "openai/cc"), "^User-Agent: claude-code/", "("),
		withTags(dep("a", "g", "openai/a"), "teamA"),
	}
	tests := []struct {
		name      string
		deps      []config.Deployment
		off       bool
		matchAll  bool
		tags      []string
		ua        string
		cool      []string
		want      []string // the deployments the plan may use
		wantError bool
	}{
		{name: "off: tags ignored", off: true, deps: deps, tags: []string{"teamA"}, want: []string{"a", "ab", "def", "none"}},
		{name: "any tag matches", deps: deps, tags: []string{"teamA"}, want: []string{"a", "ab"}},
		{name: "one of the request's tags is enough", deps: deps, tags: []string{"teamB", "other"}, want: []string{"ab"}},
		{name: "match all", matchAll: true, deps: deps, tags: []string{"teamA", "teamB"}, want: []string{"ab"}},
		{name: "match all: a missing tag", matchAll: true, deps: deps, tags: []string{"teamB", "other"}, want: []string{"def"}},
		{name: "no match: default", deps: deps, tags: []string{"paid"}, want: []string{"def"}},
		{name: "no tags: default", deps: deps, want: []string{"def"}},
		{name: "no default, no tags: all", deps: deps[:2], want: []string{"a", "ab"}},
		{name: "no default, no match: 401", deps: deps[:2], tags: []string{"paid"}, wantError: true},
		{name: "the match cooling: default", deps: deps, tags: []string{"teamB"}, cool: []string{"ab"}, want: []string{"def"}},
		{name: "the match cooling, no default: 401", deps: deps[:2], tags: []string{"teamB"}, cool: []string{"ab"}, wantError: true},
		{name: "tag_regex: the User-Agent matches", deps: rx, ua: "claude-code/1.2", want: []string{"cc"}},
		{name: "tag_regex: no match, default", deps: rx, ua: "curl/8", want: []string{"def"}},
		{name: "tag_regex: no User-Agent, default", deps: rx, want: []string{"def"}},
		{name: "tag_regex: tags first", deps: rx, ua: "claude-code/1", tags: []string{"teamA"}, want: []string{"a", "cc"}},
		{name: "tag_regex: no match, no default: 401", deps: rx[1:3], ua: "curl/8", wantError: true},
		{name: "tag_regex: not round strict tags", matchAll: true, deps: []config.Deployment{withTagRegex(withTags(dep("t", "g", "openai/t"), "x"), "^User-Agent: cc"), withTags(dep("def", "g", "openai/def"), "default")}, ua: "cc", want: []string{"def"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig(tc.deps...)
			cfg.Router.EnableTagFiltering = !tc.off
			cfg.Router.TagFilteringMatchAny = !tc.matchAll
			cfg.Router.NumRetries = 20
			clk := newClock()
			r := newTestRouter(cfg, clk, 3)
			for _, id := range tc.cool {
				if _, err := r.Store().Cooldown(ctx, id, clk.Now().Add(time.Minute)); err != nil {
					t.Fatal(err)
				}
			}
			p, err := r.Plan(ctx, PlanRequest{Model: "g", Tags: tc.tags, UserAgent: tc.ua})
			if tc.wantError {
				var te *TagRoutingError
				if !errors.As(err, &te) || te.Status() != 401 {
					t.Fatalf("err %v, want a TagRoutingError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ids := attemptIDs(p)
			slices.Sort(ids)
			ids = slices.Compact(ids)
			if !reflect.DeepEqual(ids, tc.want) {
				t.Errorf("deployments %v, want %v", ids, tc.want)
			}
		})
	}
}

// TestTagRoutingError: LiteLLM's message, the tags as Python prints a list.
func TestTagRoutingError(t *testing.T) {
	e := &TagRoutingError{Group: "gpt-4", Tags: []string{"paid", "it's"}}
	if got, want := e.Error(), `Not allowed to access model due to tags configuration. Passed model=gpt-4 and tags=['paid', "it's"]`; got != want {
		t.Errorf("%s, want %s", got, want)
	}
}

// TestPlanTagsThenOrder: the tags choose first, then the order among them.
func TestPlanTagsThenOrder(t *testing.T) {
	cfg := baseConfig(withOrder(withTags(dep("x1", "g", "openai/x1"), "x"), 1), withOrder(withTags(dep("y1", "g", "openai/y1"), "y"), 1),
		withOrder(withTags(dep("x2", "g", "openai/x2"), "x"), 2))
	cfg.Router.EnableTagFiltering, cfg.Router.TagFilteringMatchAny, cfg.Router.NumRetries = true, true, 0
	p, err := newTestRouter(cfg, newClock(), 1).Plan(context.Background(), PlanRequest{Model: "g", Tags: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := attemptHops(p); !reflect.DeepEqual(got, []string{"x1@0", "x2@1"}) {
		t.Errorf("attempts %v", got)
	}
}
