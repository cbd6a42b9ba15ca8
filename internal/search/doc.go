// Package search is LiteLLM's search API (D150): the config's search_tools
// served at /v1/search/{search_tool_name}. A request in LiteLLM's unified
// form (Perplexity's search spec: query, max_results, search_domain_filter,
// max_tokens_per_page, country, and provider-specific fields) goes to the
// tool's provider in its own wire format — Tavily's POST /search,
// Perplexity's POST /search — and the answer comes back as LiteLLM's
// SearchResponse ({"results": [{title, url, snippet, date, last_updated}],
// "object": "search"}), with its price per query.
//
// It imports config and translator only; the caller (extproc) checks the
// client's key first. Credentials never leave it.
package search
