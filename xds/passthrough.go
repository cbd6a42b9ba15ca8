package xds

import (
	"net/url"
	"strconv"
	"strings"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/llmgate/llmgate/config"
)

// Pass-through endpoints (general_settings.pass_through_endpoints, D113) are
// plain Envoy routes: the path (and, with include_subpath, everything under
// it) rewritten to the target's path, the target's host, the configured
// headers set, and the gateway's request filters off for the route — no
// model, no plan, no ext_proc exchange. Each target host has its own cluster.

// requestFilterNames are the listener's filters that make a request an LLM
// request (module, ext_proc, the module's marker removal): a pass-through
// route without auth turns them off; with auth the request filter checks the
// key and removes the client's credential headers itself (extproc, D113).
var requestFilterNames = []string{"llmgate.request_module", "envoy.filters.http.ext_proc", "llmgate.module_unmark"}

// passThroughCluster is the name of a target host's cluster.
func passThroughCluster(u *url.URL) string {
	var sb strings.Builder
	sb.WriteString("passthrough_")
	for _, r := range u.Hostname() {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			sb.WriteRune(r)
		} else {
			sb.WriteByte('_')
		}
	}
	sb.WriteByte('_')
	sb.WriteString(strconv.Itoa(passThroughPort(u)))
	if u.Scheme == "https" {
		sb.WriteString("_tls")
	}
	return sb.String()
}

func passThroughPort(u *url.URL) int {
	if p, err := strconv.Atoi(u.Port()); err == nil {
		return p
	}
	if u.Scheme == "https" {
		return 443
	}
	return 80
}

// PassThroughClusters are the clusters of the pass-through targets, one per
// scheme, host and port, with only the upstream codec in their filters, so
// the module's per-try filter (D55) never sees a pass-through request.
func PassThroughClusters(eps []config.PassThroughEndpoint, o Options) ([]*clusterv3.Cluster, error) {
	var out []*clusterv3.Cluster
	seen := map[string]bool{}
	for _, ep := range eps {
		name := passThroughCluster(ep.Target)
		if seen[name] {
			continue
		}
		seen[name] = true
		c, err := bareCluster{name: name, host: ep.Target.Hostname(), port: uint32(passThroughPort(ep.Target)), tls: ep.Target.Scheme == "https"}.build(o)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// passThroughRoutes are the routes of the pass-through endpoints: the exact
// path, and with include_subpath the paths under it.
func passThroughRoutes(gs *config.GeneralSettings) ([]*routev3.Route, error) {
	off, err := toAny(&routev3.FilterConfig{Disabled: true, IsOptional: true})
	if err != nil {
		return nil, err
	}
	on, err := passThroughObserverOn()
	if err != nil {
		return nil, err
	}
	remove := gs.PassThroughCredentialHeaders()
	var out []*routev3.Route
	for i, ep := range gs.PassThroughEndpoints {
		target := ep.Target.EscapedPath()
		if target == "" {
			target = "/"
		}
		var add []*corev3.HeaderValueOption
		for _, h := range ep.Headers {
			add = append(add, &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: h[0], Value: h[1]},
				AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD})
		}
		var methods []*routev3.HeaderMatcher
		if len(ep.Methods) > 0 {
			methods = []*routev3.HeaderMatcher{{Name: ":method", HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{StringMatch: &matcherv3.StringMatcher{
				MatchPattern: &matcherv3.StringMatcher_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: strings.Join(ep.Methods, "|")}},
			}}}}
		}
		action := func(rewrite string) *routev3.Route_Route {
			ra := &routev3.RouteAction{
				ClusterSpecifier:     &routev3.RouteAction_Cluster{Cluster: passThroughCluster(ep.Target)},
				PrefixRewrite:        rewrite,
				HostRewriteSpecifier: &routev3.RouteAction_HostRewriteLiteral{HostRewriteLiteral: ep.Target.Host},
				Timeout:              durationpb.New(ep.Timeout),
				IdleTimeout:          durationpb.New(ep.Timeout),
			}
			return &routev3.Route_Route{Route: ra}
		}
		base := &routev3.Route{
			Name:                 "passthrough_" + strconv.Itoa(i),
			Match:                &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Path{Path: ep.Path}, Headers: methods},
			Action:               action(target),
			RequestHeadersToAdd:  add,
			TypedPerFilterConfig: map[string]*anypb.Any{},
		}
		if !ep.ForwardHeaders && ep.Vertex == nil && ep.AWS == nil {
			// The cloud routes' request filter removes them itself and sets
			// the provider's authorization, which this removal would drop (D169).
			base.RequestHeadersToRemove = remove
		}
		if !ep.Auth {
			for _, n := range requestFilterNames {
				base.TypedPerFilterConfig[n] = off
			}
		} else {
			base.TypedPerFilterConfig[PassThroughObserverName] = on // D128
		}
		out = append(out, base)
		if ep.IncludeSubpath {
			sub := &routev3.Route{
				Name:                   base.Name + "_subpath",
				Match:                  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: ep.Path + "/"}, Headers: methods},
				Action:                 action(strings.TrimRight(target, "/") + "/"),
				RequestHeadersToAdd:    add,
				RequestHeadersToRemove: base.RequestHeadersToRemove,
				TypedPerFilterConfig:   base.TypedPerFilterConfig,
			}
			out = append(out, sub)
		}
	}
	return out, nil
}
