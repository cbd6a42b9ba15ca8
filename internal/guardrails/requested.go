package guardrails

import (
	"encoding/json"
	"sort"
)

// maxRequested bounds the guardrail names read from one request.
const maxRequested = 64

// Requested reads the guardrails a request body names: its guardrails
// field, else its metadata.guardrails (LiteLLM moves the first into the
// second). Each is a list of names, a list of {name: {extra_body: {…}}},
// or such a mapping; extra are the extra_body values by name. mapping is
// set (possibly empty) when it is a mapping: its names, those set to
// false left out (LiteLLM's v1 form, {name: true, other: false}).
func Requested(body map[string]json.RawMessage) (names []string, extra map[string]map[string]any, mapping map[string]bool) {
	raw, ok := body["guardrails"]
	if !ok {
		var md map[string]json.RawMessage
		if json.Unmarshal(body["metadata"], &md) != nil {
			return nil, nil, nil
		}
		raw = md["guardrails"]
	}
	names, extra = readNames(raw)
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) == nil && m != nil {
		mapping = map[string]bool{}
		for _, n := range names {
			mapping[n] = true
		}
	}
	return names, extra, mapping
}

// Names reads a key's or team's metadata.guardrails (a list of names).
func Names(v any) []string {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	names, _ := readNames(b)
	return names
}

func readNames(raw json.RawMessage) (names []string, extra map[string]map[string]any) {
	add := func(name string, v json.RawMessage) {
		if len(names) >= maxRequested || string(v) == "false" {
			return
		}
		names = append(names, name)
		var spec struct {
			ExtraBody map[string]any `json:"extra_body"`
		}
		if len(v) > 0 && json.Unmarshal(v, &spec) == nil && len(spec.ExtraBody) > 0 {
			if extra == nil {
				extra = map[string]map[string]any{}
			}
			extra[name] = spec.ExtraBody
		}
	}
	addMap := func(m map[string]json.RawMessage) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			add(k, m[k])
		}
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		for _, it := range list {
			var s string
			if json.Unmarshal(it, &s) == nil {
				add(s, nil)
				continue
			}
			var m map[string]json.RawMessage
			if json.Unmarshal(it, &m) == nil {
				addMap(m)
			}
		}
		return names, extra
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) == nil {
		addMap(m)
	}
	return names, extra
}
