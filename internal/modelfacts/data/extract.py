#!/usr/bin/env python3
"""Derive facts.json from LiteLLM's model_prices_and_context_window.json.

Usage: extract.py <source-label> <newest.json> [older.json ...] > facts.json
Keeps only the fields llmgate uses, for the model families listed below. An
entry of the first file wins; older files fill in models dropped since.
"""
import json, re, sys, datetime

FIELDS = ["max_input_tokens", "max_output_tokens", "input_cost_per_token", "output_cost_per_token",
          "cache_read_input_token_cost", "cache_creation_input_token_cost",
          "mode", "litellm_provider", "supports_function_calling", "supports_vision"]
PROVIDERS = {"openai", "text-completion-openai", "anthropic", "gemini", "vertex_ai-language-models",
             "vertex_ai-anthropic_models", "bedrock", "bedrock_converse", "cohere", "cohere_chat",
             "mistral", "groq", "deepseek", "xai", "azure", "together_ai", "fireworks_ai"}
FAMILY = re.compile(r"(gpt-4o|gpt-4\.1|gpt-4-turbo|gpt-4$|gpt-3\.5-turbo|^o1|^o3|^o4-mini|gpt-5|text-embedding-3|"
                    r"text-embedding-ada-002|claude-|gemini-1\.5|gemini-2|gemini-3|text-embedding-004|"
                    r"gemini-embedding|command-r|command-a|embed-english|embed-multilingual|"
                    r"mistral-(large|small|medium)|codestral|open-mistral|ministral|llama-3|llama3|llama-4|"
                    r"meta\.llama|deepseek-chat|deepseek-reasoner|grok-[234])")
PREFIXES = {"gemini", "mistral", "groq", "deepseek", "xai", "azure", "cohere", "bedrock", "vertex_ai"}

def main():
    src = {}
    for path in reversed(sys.argv[2:]):
        src.update(json.load(open(path)))
    out = {"_source": sys.argv[1], "_date": datetime.date.today().isoformat(), "models": {}}
    for key, v in sorted(src.items()):
        if not isinstance(v, dict) or v.get("litellm_provider") not in PROVIDERS:
            continue
        if v.get("mode") not in ("chat", "completion", "embedding", "responses"):
            continue
        parts = key.split("/")
        if "ft:" in key or len(parts) > 2 or (len(parts) == 2 and parts[0] not in PREFIXES):
            continue
        if re.search(r"(preview-tts|image|live-|audio|realtime|search|transcribe|tts|computer-use)", key):
            continue
        if not FAMILY.search(key):
            continue
        # A cache price of 0 is a price (free cache reads); other zeros and falses are left out.
        out["models"][key] = {f: v[f] for f in FIELDS
                              if f in v and v[f] is not None and (v[f] is not False and (v[f] != 0 or f.startswith("cache_")))}
    json.dump(out, sys.stdout, indent=0, sort_keys=True)
    sys.stdout.write("\n")

main()
