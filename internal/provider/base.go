package provider

// VertexDefaultLocation is the location LiteLLM uses when vertex_location is unset.
const VertexDefaultLocation = "us-central1"

// VertexAPIBase is the default api_base for a Vertex AI location: the "global"
// location is served from aiplatform.googleapis.com, every other one from
// {location}-aiplatform.googleapis.com; no location is us-central1, as in the
// request path the translator builds.
func VertexAPIBase(location string) string {
	if location == "" {
		location = VertexDefaultLocation
	}
	if location == "global" {
		return "https://aiplatform.googleapis.com"
	}
	return "https://" + location + "-aiplatform.googleapis.com"
}

// BedrockAPIBase is the default api_base of bedrock: the runtime endpoint
// when set (aws_bedrock_runtime_endpoint), else the region's public one
// (us-east-1 when no region is set).
func BedrockAPIBase(runtimeEndpoint, region string) string {
	if runtimeEndpoint != "" {
		return runtimeEndpoint
	}
	if region == "" {
		region = "us-east-1"
	}
	return "https://bedrock-runtime." + region + ".amazonaws.com"
}
