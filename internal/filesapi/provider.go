package filesapi

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/translator"
)

// Creds are a provider's Files and Batches API credentials.
type Creds struct {
	Provider     string
	APIKey       string
	APIBase      string
	APIVersion   string
	Organization string
}

// Resolve is provider's credentials as LiteLLM's get_openai_credentials /
// get_azure_credentials resolve them: the files_settings entry's (s, may
// be nil), else the environment's (OPENAI_BASE_URL, OPENAI_API_BASE,
// OPENAI_API_KEY, OPENAI_ORGANIZATION; AZURE_API_BASE, AZURE_API_VERSION,
// AZURE_OPENAI_API_KEY, AZURE_API_KEY), else OpenAI's public base. A
// provider other than openai and azure is LiteLLM's 400 for the
// operation.
func Resolve(k Kind, provider string, s *config.FilesSetting, getenv func(string) string) (Creds, *translator.Error) {
	c := Creds{Provider: provider}
	if s != nil {
		c.APIKey, c.APIBase, c.APIVersion, c.Organization = s.APIKey, s.APIBase, s.APIVersion, s.Organization
	}
	first := func(v *string, names ...string) {
		for _, n := range names {
			if *v != "" {
				return
			}
			*v = getenv(n)
		}
	}
	switch provider {
	case "openai":
		first(&c.APIBase, "OPENAI_BASE_URL", "OPENAI_API_BASE")
		if c.APIBase == "" {
			c.APIBase = "https://api.openai.com/v1"
		}
		first(&c.APIKey, "OPENAI_API_KEY")
		first(&c.Organization, "OPENAI_ORGANIZATION")
	case "azure":
		first(&c.APIBase, "AZURE_API_BASE")
		first(&c.APIVersion, "AZURE_API_VERSION")
		first(&c.APIKey, "AZURE_OPENAI_API_KEY", "AZURE_API_KEY")
		if c.APIBase == "" {
			return c, translator.NewError(500, "internal_server_error",
				"Missing Azure API base: set api_base in files_settings or AZURE_API_BASE", "")
		}
	default:
		return c, unsupported(k, provider)
	}
	return c, nil
}

// unsupported is LiteLLM's BadRequestError for a provider the operation
// does not serve, naming the providers the gateway serves.
func unsupported(k Kind, provider string) *translator.Error {
	op := map[Kind]string{FileCreate: "create_file", FileList: "file_list", FileGet: "file_retrieve", FileDelete: "file_delete",
		FileContent: "file_content", BatchCreate: "create_batch", BatchList: "list_batches", BatchGet: "retrieve_batch",
		BatchCancel: "cancel_batch"}[k]
	return translator.NewError(400, "invalid_request_error",
		"LiteLLM doesn't support "+provider+" for '"+op+"'. Only ['openai', 'azure'] are supported.", "")
}

// URL is the provider's address of path ("/files", "/batches/{id}/cancel"
// …) with query: OpenAI's <api_base>/files, Azure's
// <api_base>/openai/files?api-version=.
func (c Creds) URL(path string, query url.Values) string {
	base := strings.TrimRight(c.APIBase, "/")
	if c.Provider == "azure" {
		base += "/openai"
		if query == nil {
			query = url.Values{}
		}
		if c.APIVersion != "" {
			query.Set("api-version", c.APIVersion)
		}
	}
	u := base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return u
}

// Header is the provider's credential headers: OpenAI's bearer key and
// organization, Azure's api-key.
func (c Creds) Header() http.Header {
	h := http.Header{}
	switch c.Provider {
	case "azure":
		if c.APIKey != "" {
			h.Set("api-key", c.APIKey)
		}
	default:
		if c.APIKey != "" {
			h.Set("Authorization", "Bearer "+c.APIKey)
		}
		if c.Organization != "" {
			h.Set("OpenAI-Organization", c.Organization)
		}
	}
	return h
}
