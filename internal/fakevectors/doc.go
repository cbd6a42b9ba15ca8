// Package fakevectors is a fake of the vector store and search services
// the gateway calls for LiteLLM's vector stores and search tools (D150),
// speaking their wire formats: OpenAI's vector store search
// (POST /v1/vector_stores/{id}/search, Bearer key, OpenAI's search page and
// error JSON), Bedrock knowledge bases' Retrieve
// (POST /knowledgebases/{id}/retrieve, SigV4-verified with
// fakeprovider.VerifySigV4) and Tavily's search (POST /search, Bearer key).
// It records every request for the tests' assertions.
//
// Test support only: it imports internal/fakeprovider (the SigV4 check).
package fakevectors
