// Package tokenizer counts the input tokens of an OpenAI-format request
// offline, for tpm limits, usage-based routing and pre-call context-window
// checks.
//
// OpenAI models use their real BPE (o200k_base for gpt-4o, gpt-4.1, o-series
// and gpt-5; cl100k_base for gpt-4, gpt-3.5 and text-embedding-*), embedded by
// github.com/pkoukk/tiktoken-go-loader and loaded once, lazily, on first use:
// nothing is ever downloaded. Chat requests add OpenAI's per-message overhead
// (3 tokens per message, 1 per name, 3 to prime the reply).
//
// Models without a public tokenizer (Claude, Gemini, Llama, Mistral, ...)
// get an estimate: ceil(characters/4) per text, with the same per-message
// overhead. Images count a flat 85 tokens each (OpenAI's low-detail cost);
// tool definitions count as the text of their JSON.
//
// It may import the standard library and tiktoken-go. It must never do I/O.
package tokenizer
