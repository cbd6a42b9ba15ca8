package outcome

// CallType is LiteLLM's call_type of a try's Endpoint, as its spend logs
// and logging callbacks write it ("acompletion", "aembedding", ...).
func CallType(endpoint string) string {
	switch endpoint {
	case "completions":
		return "atext_completion"
	case "embeddings":
		return "aembedding"
	case "moderations":
		return "amoderation"
	case "image_generation":
		return "aimage_generation"
	case "image_edit":
		return "aimage_edit"
	case "generate_content":
		return "agenerate_content"
	case "bedrock_passthrough":
		return "allm_passthrough_route"
	case "speech":
		return "aspeech"
	case "transcription":
		return "atranscription"
	case "rerank":
		return "arerank"
	case "responses":
		return "aresponses"
	}
	return "acompletion"
}
