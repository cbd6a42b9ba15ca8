package filesapi

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// EncodeID is LiteLLM's encode_file_id_with_model: the provider's id with
// the model it was made with, "file-" or "batch_" + unpadded URL-safe
// base64 of "litellm:<id>;model,<model>".
func EncodeID(id, model string, batch bool) string {
	prefix := "file-"
	switch {
	case strings.HasPrefix(id, "batch_"):
		prefix = "batch_"
	case strings.HasPrefix(id, "file-"):
	case batch:
		prefix = "batch_"
	}
	return prefix + base64.RawURLEncoding.EncodeToString([]byte("litellm:"+id+";model,"+model))
}

// DecodeID is LiteLLM's decode_model_from_file_id and get_original_file_id:
// the provider's id and the model of an id EncodeID wrote (ok false for
// any other id).
func DecodeID(id string) (orig, model string, ok bool) {
	b64 := strings.TrimPrefix(strings.TrimPrefix(id, "file-"), "batch_")
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(b64, "="))
	if err != nil {
		return "", "", false
	}
	s, found := strings.CutPrefix(string(raw), "litellm:")
	if !found {
		return "", "", false
	}
	orig, rest, found := strings.Cut(s, ";model,")
	if !found || orig == "" {
		return "", "", false
	}
	model, _, _ = strings.Cut(rest, ";")
	model = strings.TrimSpace(model)
	return orig, model, model != ""
}

// encodeAnswer rewrites a provider's file, batch or list answer with the
// model in every id (LiteLLM's encode_batch_response_ids; a file's id).
func encodeAnswer(body []byte, model string, k Kind) []byte {
	var obj map[string]any
	if json.Unmarshal(body, &obj) != nil {
		return body
	}
	batch := k == BatchCreate || k == BatchGet || k == BatchCancel || k == BatchList
	one := func(o map[string]any) {
		if id, ok := o["id"].(string); ok && id != "" {
			o["id"] = EncodeID(id, model, batch)
		}
		if !batch {
			return
		}
		for _, f := range []string{"output_file_id", "error_file_id", "input_file_id"} {
			if id, ok := o[f].(string); ok && id != "" {
				o[f] = EncodeID(id, model, false)
			}
		}
	}
	if data, ok := obj["data"].([]any); ok && obj["object"] == "list" {
		if !batch {
			return body // LiteLLM's file list is not encoded
		}
		for _, d := range data {
			if o, ok := d.(map[string]any); ok {
				one(o)
			}
		}
	} else {
		one(obj)
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return body
	}
	return b
}
