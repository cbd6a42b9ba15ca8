package config

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// LiteLLM's cloud pass-through routes (llm_passthrough_endpoints.py, D169):
// /vertex_ai/{endpoint} (and /vertex-ai/) with a Google access token made
// from the default Vertex credentials, and /bedrock/{endpoint} signed with
// SigV4 from the environment's AWS credentials. Each is a pass-through
// entry with auth (D113) whose credentials the request filter puts on the
// request once the caller's key is accepted: the token or the signature
// changes per request, so no route can hold it.

// VertexPassThrough are the credentials of the /vertex_ai route: LiteLLM's
// default_vertex_config, else DEFAULT_VERTEXAI_PROJECT,
// DEFAULT_VERTEXAI_LOCATION and DEFAULT_GOOGLE_APPLICATION_CREDENTIALS.
type VertexPassThrough struct {
	// Project and Location replace the route's /projects/…/locations/…
	// (LiteLLM's construct_target_url).
	Project, Location string
	// Credentials is service-account JSON or a path to it (empty:
	// GOOGLE_APPLICATION_CREDENTIALS). A secret: never logged.
	Credentials string
}

// AWSPassThrough are the credentials of the direct /bedrock route: the
// environment's AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
// and region. The keys are secrets: never logged. Without keys (Chain) the
// request filter signs with the AWS SDK's default credential chain, as
// LiteLLM's boto3 session does: the environment, the shared files' profile
// (Profile, else AWS_PROFILE's or "default"), web identity, the container's
// or the instance's role.
type AWSPassThrough struct {
	Region, AccessKeyID, SecretAccessKey, SessionToken string
	Chain                                              bool
	Profile                                            string
}

// vertexLocation is LiteLLM's get_vertex_base_url check of a location.
var vertexLocation = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// VertexBaseURL is LiteLLM's get_vertex_base_url: the Vertex AI host of a
// location.
func VertexBaseURL(location string) string {
	switch {
	case location == "global":
		return "https://aiplatform.googleapis.com"
	case !strings.Contains(location, "-"):
		return "https://aiplatform." + location + ".rep.googleapis.com" // a multi-region (us, eu)
	}
	return "https://" + location + "-aiplatform.googleapis.com"
}

// BedrockAgentRuntimeRoutes are the /bedrock/<route>/… paths LiteLLM sends
// to bedrock-agent-runtime (BEDROCK_AGENT_RUNTIME_PASS_THROUGH_ROUTES; it
// matches "<route>/" in the path).
var BedrockAgentRuntimeRoutes = []string{"agents", "knowledgebases", "flows", "retrieveAndGenerate", "rerank", "generateQuery"}

// DefaultBedrockRegion is LiteLLM's region for a Bedrock call that names none.
const DefaultBedrockRegion = "us-west-2"

// cloudPassThroughs adds /vertex_ai, /vertex-ai and /bedrock when their
// credentials are known and no pass_through_endpoints entry holds the path.
func (p *parser) cloudPassThroughs(cfg *Config, vertexNode *yaml.Node) {
	gs := &cfg.General
	taken := map[string]bool{}
	for _, ep := range gs.PassThroughEndpoints {
		taken[ep.Path] = true
	}
	env := func(names ...string) string {
		for _, n := range names {
			if v, _ := p.lookup(n); strings.TrimSpace(v) != "" {
				return strings.TrimSpace(v)
			}
		}
		return ""
	}
	add := func(ep PassThroughEndpoint) {
		if !taken[ep.Path] {
			ep.Auth, ep.IncludeSubpath, ep.Timeout = true, true, DefaultPassThroughTimeout
			gs.PassThroughEndpoints = append(gs.PassThroughEndpoints, ep)
		}
	}

	if v, where := p.vertexPassThrough(vertexNode, env); v != nil {
		base := env("VERTEXAI_API_BASE") // llmgate's: LiteLLM's route always calls Google
		if base == "" {
			base = VertexBaseURL(v.Location)
		}
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.warnAt(vertexNode, where, "the /vertex_ai pass-through route is not served: its base URL %q is not an http(s) URL", base)
		} else {
			target := &url.URL{Scheme: u.Scheme, Host: u.Host}
			for _, path := range []string{"/vertex_ai", "/vertex-ai"} {
				add(PassThroughEndpoint{ID: "vertex_ai", Path: path, Target: target, Provider: "vertex_ai", Vertex: v})
			}
		}
	}

	var a *AWSPassThrough
	if id, secret := env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		a = &AWSPassThrough{AccessKeyID: id, SecretAccessKey: secret, SessionToken: env("AWS_SESSION_TOKEN")}
	} else if awsChainConfigured(env) {
		a = &AWSPassThrough{Chain: true, Profile: env("AWS_PROFILE", "AWS_DEFAULT_PROFILE")}
	}
	if a != nil {
		a.Region = env("AWS_REGION_NAME", "AWS_REGION", "AWS_DEFAULT_REGION")
		if a.Region == "" {
			a.Region = DefaultBedrockRegion
		}
		base := env("AWS_BEDROCK_RUNTIME_ENDPOINT")
		if base == "" {
			base = "https://bedrock-runtime." + a.Region + ".amazonaws.com"
		}
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !vertexLocation.MatchString(a.Region) {
			p.warnAt(nil, "AWS_BEDROCK_RUNTIME_ENDPOINT", "the /bedrock pass-through route is not served: its base URL %q is not an http(s) URL", base)
		} else {
			// LiteLLM's agent-runtime paths first: they go to bedrock-agent-runtime.
			agent := env("AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME") // the AWS SDKs' service endpoint variable
			if agent == "" {
				agent = "https://bedrock-agent-runtime." + a.Region + ".amazonaws.com"
			}
			if au, err := url.Parse(agent); taken["/bedrock"] {
				// a configured /bedrock entry takes the whole path
			} else if err != nil || (au.Scheme != "http" && au.Scheme != "https") || au.Host == "" {
				p.warnAt(nil, "AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME", "the /bedrock agent-runtime routes are not served: %q is not an http(s) URL", agent)
			} else {
				for _, r := range BedrockAgentRuntimeRoutes {
					target := &url.URL{Scheme: au.Scheme, Host: au.Host, Path: strings.TrimRight(au.Path, "/") + "/" + r}
					add(PassThroughEndpoint{ID: "bedrock-agent-runtime", Path: "/bedrock/" + r, Target: target, Provider: "bedrock", AWS: a})
				}
			}
			target := &url.URL{Scheme: u.Scheme, Host: u.Host, Path: strings.TrimRight(u.Path, "/")}
			add(PassThroughEndpoint{ID: "bedrock", Path: "/bedrock", Target: target, Provider: "bedrock", AWS: a})
		}
	}
}

// awsChainConfigured reports whether the AWS SDK's default credential chain
// has a source the deployment named: LiteLLM serves /bedrock always and
// lets boto3 find credentials per request; llmgate adds the route (and its
// observer) only when the environment names an AWS source, so that a config
// with no AWS in it keeps its listener. The sources: a profile variable,
// the shared credentials or config file (AWS_SHARED_CREDENTIALS_FILE,
// AWS_CONFIG_FILE, else ~/.aws/), a web identity token file, the container
// credentials endpoint, an instance metadata endpoint, or a region (an EC2
// or EKS host's role is found only by asking: the region says AWS is meant).
func awsChainConfigured(env func(...string) string) bool {
	if env("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_REGION_NAME", "AWS_REGION", "AWS_DEFAULT_REGION") != "" {
		return true
	}
	files := []string{env("AWS_SHARED_CREDENTIALS_FILE"), env("AWS_CONFIG_FILE")}
	if home, err := os.UserHomeDir(); err == nil {
		files = append(files, filepath.Join(home, ".aws", "credentials"), filepath.Join(home, ".aws", "config"))
	}
	for _, f := range files {
		if fi, err := os.Stat(f); f != "" && err == nil && fi.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// vertexPassThrough reads default_vertex_config (its values' os.environ/
// references already resolved), else LiteLLM's DEFAULT_VERTEXAI_*
// variables. Without a project LiteLLM forwards the caller's own Google
// credential instead, which llmgate does not do: no route. Without a
// location the route's would pick the host; llmgate needs it to build the
// route's cluster: no route, and a warning.
func (p *parser) vertexPassThrough(n *yaml.Node, env func(...string) string) (*VertexPassThrough, string) {
	v := &VertexPassThrough{}
	where := "DEFAULT_VERTEXAI_PROJECT"
	if n != nil && !isNull(deref(n)) {
		where = "default_vertex_config"
		es, _ := p.mapping(n, where)
		for _, e := range es {
			k := joinKey(where, e.Key)
			switch e.Key {
			case "vertex_project":
				v.Project, _ = p.str(e.Value, k)
			case "vertex_location":
				v.Location, _ = p.str(e.Value, k)
			case "vertex_credentials":
				if d := deref(e.Value); d.Kind == yaml.MappingNode {
					// LiteLLM takes the service account as a dict too.
					var m map[string]any
					if err := d.Decode(&m); err == nil {
						if b, err := json.Marshal(m); err == nil {
							v.Credentials = string(b)
						}
					}
				} else {
					v.Credentials, _ = p.str(e.Value, k)
				}
			default:
				p.warnAt(e.KeyNode, k, "unknown default_vertex_config key; ignored")
			}
		}
	} else {
		v.Project, v.Location, v.Credentials = env("DEFAULT_VERTEXAI_PROJECT"), env("DEFAULT_VERTEXAI_LOCATION"), env("DEFAULT_GOOGLE_APPLICATION_CREDENTIALS")
		if v.Project == "" && v.Location == "" && v.Credentials == "" {
			return nil, where
		}
	}
	v.Project, v.Location, v.Credentials = strings.TrimSpace(v.Project), strings.TrimSpace(v.Location), strings.TrimSpace(v.Credentials)
	switch {
	case v.Project == "":
		p.warnAt(n, where, "the /vertex_ai pass-through route is not served: no vertex_project (LiteLLM would forward the caller's own Google credential; llmgate never forwards a caller's credential)")
		return nil, where
	case v.Location == "":
		p.warnAt(n, where, "the /vertex_ai pass-through route is not served: no vertex_location (DEFAULT_VERTEXAI_LOCATION); llmgate needs it to know the route's host")
		return nil, where
	case !vertexLocation.MatchString(v.Location):
		p.warnAt(n, where, "the /vertex_ai pass-through route is not served: vertex_location %q is not a location", v.Location)
		return nil, where
	case strings.ContainsAny(v.Project, "/?#% "):
		p.warnAt(n, where, "the /vertex_ai pass-through route is not served: vertex_project %q is not a project id", v.Project)
		return nil, where
	}
	return v, where
}
