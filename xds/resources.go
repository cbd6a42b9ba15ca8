package xds

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"google.golang.org/protobuf/proto"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/model"
	"github.com/llmgate/llmgate/internal/provider"
)

// Resources is everything Envoy needs for one config.
type Resources struct {
	Version   string
	Listeners []*listenerv3.Listener
	Routes    []*routev3.RouteConfiguration
	Clusters  []*clusterv3.Cluster
	// Secrets are the fast-path deployments' keys, served over ADS (SDS).
	Secrets []*tlsv3.Secret
	// Model is the compiled config the resources were built from (Build
	// sets it; the filters of the same process reuse it).
	Model *model.Model

	// versions: type URL → resource name → version, set by Build (nil for
	// Resources made by hand: the server then computes them).
	versions map[string]map[string]string
}

// Build compiles a config into Envoy resources. The version is a hash of the
// resources, so an unchanged config yields an unchanged version.
func Build(cfg *config.Config, o Options) (*Resources, error) {
	o = o.withDefaults()
	if cfg.General.MaxRequestSizeMB > 0 {
		o.MaxRequestBytes = MaxRequestBytes(cfg)
	}
	if n := cfg.General.GlobalMaxParallelRequests; n > 0 {
		o.MaxInFlight = uint32(min(n, 1<<30))
	}
	o.ForceIPv4 = cfg.LiteLLM.ForceIPv4
	o.providerHeaders = cfg.LiteLLM.ReturnResponseHeaders
	// A post_call guardrail, or a vector store whose results LiteLLM adds to
	// the answer (D150), reads the provider's answer.
	o.guardrailAnswers = config.GuardrailsNeedAnswer(cfg) || len(cfg.VectorStores) > 0
	o.guardrails = len(cfg.Guardrails) > 0
	o.UpstreamTLS = cfg.LiteLLM.UpstreamTLS
	o.PassThrough = config.GeneralSettings{PassThroughEndpoints: cfg.General.PassThroughEndpoints, LiteLLMKeyHeaderName: cfg.General.LiteLLMKeyHeaderName}
	m := model.Compile(cfg)
	if ModuleUpstream(o) {
		HostClusters(m) // one cluster per upstream host (D62)
	}
	r := &Resources{Model: m}
	rtc, err := RealtimeClusters(m, o) // D159
	if err != nil {
		return nil, err
	}
	o.realtime = len(rtc) > 0
	o.fastPathLua = o.FastPath && FastPathClusterLua(m)
	o.OutcomeLog = o.OutcomeLog || outcomeLogWanted(m, o)
	l, err := Listener(o)
	if err != nil {
		return nil, fmt.Errorf("listener: %w", err)
	}
	r.Listeners = append(r.Listeners, l)
	rc, err := RouteConfiguration(m, o)
	if err != nil {
		return nil, fmt.Errorf("routes: %w", err)
	}
	r.Routes = append(r.Routes, rc)
	ep, err := ExtProcServiceCluster(o)
	if err != nil {
		return nil, err
	}
	r.Clusters = append(r.Clusters, ep)
	if o.OutcomeLog {
		als, err := ALSServiceCluster(o)
		if err != nil {
			return nil, err
		}
		r.Clusters = append(r.Clusters, als)
	}
	pt, err := PassThroughClusters(o.PassThrough.PassThroughEndpoints, o)
	if err != nil {
		return nil, fmt.Errorf("pass_through_endpoints: %w", err)
	}
	r.Clusters = append(r.Clusters, pt...)
	r.Clusters = append(r.Clusters, rtc...)
	cs, err := ClientSideClusters(o) // a request's own api_key / api_base (D156)
	if err != nil {
		return nil, fmt.Errorf("client-side clusters: %w", err)
	}
	r.Clusters = append(r.Clusters, cs...)
	hosts := map[string]bool{} // the host clusters built (D62)
	for _, d := range m.Deployments {
		if d.MockResponse != nil {
			continue
		}
		if d.Provider == "" {
			// model: "*": one cluster per provider with a public endpoint.
			for _, p := range config.ProviderNames() {
				info, _ := config.LookupProvider(p)
				if info.DefaultAPIBase == "" && info.Base == provider.BaseDefault && d.APIBase == "" {
					continue
				}
				c, err := DeploymentCluster(d, p, m.Routing, o)
				if err != nil {
					continue
				}
				r.Clusters = append(r.Clusters, c)
			}
			continue
		}
		host := contract.IsHostCluster(d.Cluster)
		if host && hosts[d.Cluster] {
			continue
		}
		c, err := DeploymentCluster(d, "", m.Routing, o)
		if err != nil {
			return nil, fmt.Errorf("%s: model_list entry %q: %w", d.Config.Pos, d.Group, err)
		}
		if host {
			hosts[d.Cluster] = true
			asHostCluster(c)
			if d.Cluster == ManyHostsCluster {
				if err := asManyHostsCluster(c, m); err != nil {
					return nil, err
				}
			}
		}
		r.Clusters = append(r.Clusters, c)
		if o.FastPath && FastPath(d) && !ModuleUpstream(o) {
			// (In module mode the module holds the keys, D55.)
			if s := FastPathSecret(d.Config); s != nil {
				r.Secrets = append(r.Secrets, s)
			}
		}
	}
	if o.NoPriorityGroup {
		if err := withoutPriorityGroup(r); err != nil {
			return nil, err
		}
	}
	if err := r.hash(); err != nil {
		return nil, err
	}
	return r, nil
}

// hash gives every resource a version (a hash of its deterministic wire
// form) and the whole config a version (a hash over them). The per-resource
// versions are what delta xDS compares (D48): Server.Set hands them to the
// snapshot, so go-control-plane does not marshal every resource again to
// find the few that changed.
func (r *Resources) hash() error {
	r.versions = map[string]map[string]string{}
	h := sha256.New()
	mo := proto.MarshalOptions{Deterministic: true}
	var buf []byte
	for _, m := range r.all() {
		var err error
		buf, err = mo.MarshalAppend(buf[:0], m)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(buf)
		v := hex.EncodeToString(sum[:16])
		typ := typeURL(m)
		if r.versions[typ] == nil {
			r.versions[typ] = map[string]string{}
		}
		r.versions[typ][cachev3.GetResourceName(m)] = v
		h.Write(sum[:])
	}
	r.Version = hex.EncodeToString(h.Sum(nil))[:16]
	return nil
}

// typeURL is the xDS type URL of a resource.
func typeURL(m proto.Message) string {
	return "type.googleapis.com/" + string(m.ProtoReflect().Descriptor().FullName())
}

func (r *Resources) all() []proto.Message {
	var out []proto.Message
	for _, c := range r.Clusters {
		out = append(out, c)
	}
	for _, x := range r.Routes {
		out = append(out, x)
	}
	for _, l := range r.Listeners {
		out = append(out, l)
	}
	for _, x := range r.Secrets {
		out = append(out, x)
	}
	return out
}
