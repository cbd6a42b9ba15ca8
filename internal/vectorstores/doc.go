// Package vectorstores is LiteLLM's vector store search (D150): the stores
// of the config's vector_store_registry searched by id, at
// /v1/vector_stores/{id}/search and before a chat completion that names
// them (vector_store_ids, or a tool carrying vector_store_ids such as
// file_search), whose last message then gets the results as a context
// message, as LiteLLM's VectorStorePreCallHook adds it.
//
// Providers: OpenAI vector stores (POST {api_base}/vector_stores/{id}/search,
// the answer passed on) and Bedrock knowledge bases (POST
// {endpoint}/knowledgebases/{id}/retrieve signed with SigV4, the answer
// turned into OpenAI's search page as LiteLLM turns it). An id no entry
// names is searched at OpenAI with the environment's key, as LiteLLM does.
//
// It imports config, translator and internal/backendauth only; the caller
// (extproc) checks the client's key first. Credentials never leave it.
package vectorstores
