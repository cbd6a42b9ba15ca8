package xds

import (
	"net"
	"strconv"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	overridehostv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/load_balancing_policies/override_host/v3"
	randomv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/load_balancing_policies/random/v3"
	subsetv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/load_balancing_policies/subset/v3"
	metadatav3 "github.com/envoyproxy/go-control-plane/envoy/type/metadata/v3"

	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/model"
	"github.com/llmgate/llmgate/internal/upstream"
)

// Many upstream hosts, one cluster (docs/architecture.md D86). Envoy spends
// ≈ 0.3 ms of CPU on every cluster it builds (≈ 2.8 ms and 290 KB with TLS),
// so a config whose fast-path deployments sit on thousands of hosts (a fleet
// of self-hosted servers: one cluster per host under D62) took seconds to
// push; one cluster of 10,000 endpoints costs Envoy ≈ 50 ms. Above
// ManyHostsMin distinct hosts, every fast-path deployment whose api_base is
// plain http on an IP address goes to ManyHostsCluster: a STATIC cluster with
// one endpoint per host and the override_host load balancing policy, which
// takes the try's host from the request's dynamic metadata (llmgate.ctx
// "oh": the hosts of the plan's tries on this cluster, in plan order; Envoy
// consumes the next one on every try it sends to the cluster). The
// deployment of a try is the plan's entry, as on a host's cluster (D62):
// the cluster's name starts with contract.HostClusterPrefix. A try with no
// host left in the list gets no host at all (503, never another
// deployment's host): the policy's fallback is a subset policy with no
// subset and no fallback. The policy skips an address the cluster does not
// have and takes the next one — after a reload moved a deployment, a try
// planned before it could go to the next entry's host — so it also writes
// the host it picked (llmgate.host "a") and the module's upstream filter
// refuses a try whose host is not its deployment's before anything is sent
// (dynmod/hostcluster.go): a key never reaches another deployment's host.
//
// Only IP addresses: the override host is the endpoint's address, and a
// host name's address is Envoy's DNS answer, which the request filter does
// not know. Only plain http: one cluster has one transport socket (TLS with
// auto_host_sni would serve host names; for an IP address SNI does not
// apply). Every other deployment keeps D62's shape, and so does every
// config of at most ManyHostsMin hosts.

// ManyHostsMin is the number of distinct upstream hosts (of fast-path
// deployments on plain-http IP addresses) above which they share
// ManyHostsCluster.
const ManyHostsMin = 100

// ManyHostsCluster is the cluster of many upstream hosts.
const ManyHostsCluster = contract.HostClusterPrefix + "many"

// manyHostsAddress is a fast-path deployment's "ip:port" when its api_base
// is plain http on an IP address (Envoy's spelling of the address: the
// override_host policy looks it up as a string).
func manyHostsAddress(d *model.Deployment) (string, bool) {
	if !FastPath(d) {
		return "", false
	}
	b, err := upstream.For(d.Config)
	if err != nil || b.TLS {
		return "", false
	}
	ip := net.ParseIP(b.Host)
	if ip == nil {
		return "", false
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(int(b.Port))), true
}

// manyHosts puts the deployments of m on ManyHostsCluster when more than
// ManyHostsMin distinct hosts qualify (manyHostsAddress); it reports
// whether it did.
func manyHosts(m *model.Model) bool {
	addrs := make([]string, len(m.Deployments))
	seen := map[string]bool{}
	for i, d := range m.Deployments {
		if a, ok := manyHostsAddress(d); ok {
			addrs[i] = a
			seen[a] = true
		}
	}
	if len(seen) <= ManyHostsMin {
		return false
	}
	for i, d := range m.Deployments {
		if addrs[i] != "" {
			d.Cluster, d.HostAddress = ManyHostsCluster, addrs[i]
		}
	}
	m.ManyHosts = true
	return true
}

// asManyHostsCluster turns the bare cluster of the first deployment on
// ManyHostsCluster into the cluster of every host of m on it.
func asManyHostsCluster(c *clusterv3.Cluster, m *model.Model) error {
	asHostCluster(c)
	var eps []*endpointv3.LbEndpoint
	seen := map[string]bool{}
	for _, d := range m.Deployments {
		if d.Cluster != ManyHostsCluster || seen[d.HostAddress] {
			continue
		}
		seen[d.HostAddress] = true
		host, port, err := net.SplitHostPort(d.HostAddress)
		if err != nil {
			return err
		}
		p, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return err
		}
		eps = append(eps, &endpointv3.LbEndpoint{HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
			Address: socketAddress(host, uint32(p)), Hostname: host,
		}}})
	}
	c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC}
	c.DnsLookupFamily = clusterv3.Cluster_AUTO
	c.LoadAssignment = &endpointv3.ClusterLoadAssignment{ClusterName: c.Name, Endpoints: []*endpointv3.LocalityLbEndpoints{{LbEndpoints: eps}}}
	lb, err := overrideHostPolicy()
	if err != nil {
		return err
	}
	c.LoadBalancingPolicy = lb
	return nil
}

// overrideHostPolicy: the try's host from llmgate.ctx "oh"; none left →
// no host (a subset policy without subsets or fallback), never a random one.
func overrideHostPolicy() (*clusterv3.LoadBalancingPolicy, error) {
	random, err := toAny(&randomv3.Random{})
	if err != nil {
		return nil, err
	}
	none, err := toAny(&subsetv3.Subset{
		FallbackPolicy: subsetv3.Subset_NO_FALLBACK,
		SubsetLbPolicy: &clusterv3.LoadBalancingPolicy{Policies: []*clusterv3.LoadBalancingPolicy_Policy{{
			TypedExtensionConfig: &corev3.TypedExtensionConfig{Name: "envoy.load_balancing_policies.random", TypedConfig: random},
		}}},
	})
	if err != nil {
		return nil, err
	}
	oh, err := toAny(&overridehostv3.OverrideHost{
		OverrideHostSources: []*overridehostv3.OverrideHost_OverrideHostSource{{Metadata: &metadatav3.MetadataKey{
			Key:  contract.ContextMetadataNamespace,
			Path: []*metadatav3.MetadataKey_PathSegment{{Segment: &metadatav3.MetadataKey_PathSegment_Key{Key: contract.OverrideHostsKey}}},
		}}},
		FallbackPolicy: &clusterv3.LoadBalancingPolicy{Policies: []*clusterv3.LoadBalancingPolicy_Policy{{
			TypedExtensionConfig: &corev3.TypedExtensionConfig{Name: "envoy.load_balancing_policies.subset", TypedConfig: none},
		}}},
		// The host picked, for the module's check (dynmod/hostcluster.go).
		SelectedHostKey: &metadatav3.MetadataKey{
			Key:  contract.SelectedHostMetadataNamespace,
			Path: []*metadatav3.MetadataKey_PathSegment{{Segment: &metadatav3.MetadataKey_PathSegment_Key{Key: contract.SelectedHostKey}}},
		},
	})
	if err != nil {
		return nil, err
	}
	return &clusterv3.LoadBalancingPolicy{Policies: []*clusterv3.LoadBalancingPolicy_Policy{{
		TypedExtensionConfig: &corev3.TypedExtensionConfig{Name: "envoy.load_balancing_policies.override_host", TypedConfig: oh},
	}}}, nil
}
