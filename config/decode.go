package config

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/llmgate/llmgate/internal/secrets"
)

// parser turns yaml.Nodes into config values, reporting every problem with
// its file:line instead of stopping at the first.
type parser struct {
	diags
	lookup func(string) (string, bool)
	// noEnv: an unset os.environ/ variable is a warning (Options.UnsetEnvWarns).
	noEnv bool
	// defaultFallbackPos is where the effective default_fallbacks are written.
	defaultFallbackPos Pos
	defaultFallbackKey string
	// refKeys are the key paths of fallback and alias entries, by position.
	refKeys map[Pos]string
	// fromEnv are the scalars replaced from os.environ/, with the variable name.
	fromEnv map[*yaml.Node]string
	// nodeFile is the file of each node read from an included file
	// (include.go).
	nodeFile map[*yaml.Node]string
	// credentials are credential_list's credential_values by name
	// (credentials.go).
	credentials map[string][]entry
	// named are the callback_settings generic_api instances' names: callback
	// lists may name them.
	named map[string]bool
	// depth is how deep the reader is; an alias that contains itself would
	// otherwise recurse forever.
	depth int
	steps int
	// ssl holds litellm_settings' TLS keys until processEnv resolves them
	// with the environment (ssl.go).
	ssl sslKeys
	// secrets is general_settings.key_management_system's manager, when
	// one is up (secrets.go): envRef reads from it first.
	secrets *secrets.Manager
}

// maxDepth bounds nesting and maxSteps the mappings and lists read in all
// (aliases can make a small file expand exponentially); real configs stay
// far below both.
const (
	maxDepth = 100
	maxSteps = 200_000
)

// enter counts one level of nesting; it reports false (and an error) past
// maxDepth.
func (p *parser) enter(n *yaml.Node, path string) bool {
	if !p.step(n, path) {
		p.depth++
		return false
	}
	if p.depth >= maxDepth {
		if p.depth == maxDepth {
			p.errAt(n, path, "is nested too deeply (an alias that contains itself?)")
		}
		p.depth++
		return false
	}
	p.depth++
	return true
}

func (p *parser) leave() { p.depth-- }

// step counts one value read; it reports false (and an error, once) past
// maxSteps.
func (p *parser) step(n *yaml.Node, path string) bool {
	p.steps++
	if p.steps > maxSteps {
		if p.steps == maxSteps+1 {
			p.errAt(n, path, "expands to too many values (aliases that repeat each other?)")
		}
		return false
	}
	return true
}

func (p *parser) errAt(n *yaml.Node, key, format string, args ...any) {
	line, col := 0, 0
	if n != nil {
		line, col = n.Line, n.Column
	}
	p.addIn(p.fileOf(n), SeverityError, line, col, key, format, args...)
}

func (p *parser) warnAt(n *yaml.Node, key, format string, args ...any) {
	line, col := 0, 0
	if n != nil {
		line, col = n.Line, n.Column
	}
	p.addIn(p.fileOf(n), SeverityWarning, line, col, key, format, args...)
}

// fileOf is the file a node was read from: an included file's, else the
// config's.
func (p *parser) fileOf(n *yaml.Node) string {
	if f, ok := p.nodeFile[n]; ok {
		return f
	}
	return p.file
}

func posOf(file string, n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: file}
	}
	return Pos{File: file, Line: n.Line, Column: n.Column}
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func (p *parser) describe(n *yaml.Node) string {
	n = deref(n)
	if name, ok := p.fromEnv[n]; ok {
		// Never echo a value read from the environment: it may be a secret.
		return "the value of os.environ/" + name
	}
	return describeNode(n)
}

func describeNode(n *yaml.Node) string {
	n = deref(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return fmt.Sprintf("string %q", n.Value)
		case "!!int":
			return "integer " + n.Value
		case "!!float":
			return "number " + n.Value
		case "!!bool":
			return "boolean " + n.Value
		case "!!null":
			return "null"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "an unexpected YAML node"
}

// entry is one key: value of a mapping.
type entry struct {
	Key     string
	KeyNode *yaml.Node
	Value   *yaml.Node
}

// mapping returns the entries of a mapping node, in file order, expanding
// YAML merge keys (<<) and reporting keys defined twice. A null node is an
// empty mapping. ok is false when n is not a mapping.
func (p *parser) mapping(n *yaml.Node, path string) ([]entry, bool) {
	n = deref(n)
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.MappingNode {
		p.errAt(n, path, "must be a mapping, got %s", p.describe(n))
		return nil, false
	}
	if !p.enter(n, path) {
		p.leave()
		return nil, false
	}
	defer p.leave()
	seen := map[string]*yaml.Node{}
	var out, merged []entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			src := deref(v)
			var srcs []*yaml.Node
			if src != nil && src.Kind == yaml.SequenceNode {
				srcs = src.Content
			} else {
				srcs = []*yaml.Node{src}
			}
			for _, s := range srcs {
				es, _ := p.mapping(s, path)
				merged = append(merged, es...)
			}
			continue
		}
		kk := deref(k)
		if kk.Kind != yaml.ScalarNode {
			p.errAt(k, path, "keys must be strings, got %s", p.describe(k))
			continue
		}
		key := kk.Value
		if first, dup := seen[key]; dup {
			p.errAt(k, joinKey(path, key), "defined twice (first at line %d)", first.Line)
			continue
		}
		seen[key] = k
		out = append(out, entry{Key: key, KeyNode: k, Value: v})
	}
	for _, e := range merged {
		if _, explicit := seen[e.Key]; !explicit {
			seen[e.Key] = e.KeyNode
			out = append(out, e)
		}
	}
	return out, true
}

// sequence returns the items of a list node; null is an empty list.
func (p *parser) sequence(n *yaml.Node, path string) ([]*yaml.Node, bool) {
	n = deref(n)
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.SequenceNode {
		p.errAt(n, path, "must be a list, got %s", p.describe(n))
		return nil, false
	}
	return n.Content, true
}

// str reads a scalar as text. Any scalar is accepted (api_version: 2024-02-01
// is a timestamp to YAML, a string to us); null means unset.
func (p *parser) str(n *yaml.Node, path string) (string, bool) {
	n = deref(n)
	if isNull(n) {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		p.errAt(n, path, "must be a string, got %s", p.describe(n))
		return "", false
	}
	return n.Value, true
}

func (p *parser) int(n *yaml.Node, path string) (int64, bool) {
	n = deref(n)
	if isNull(n) {
		return 0, false
	}
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!int":
			var v int64
			if err := n.Decode(&v); err == nil {
				return v, true
			}
		case "!!float":
			var f float64
			if err := n.Decode(&f); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
				return int64(f), true
			}
		}
	}
	p.errAt(n, path, "must be an integer, got %s", p.describe(n))
	return 0, false
}

func (p *parser) nonNegInt(n *yaml.Node, path string) (int64, bool) {
	v, ok := p.int(n, path)
	if ok && v < 0 {
		p.errAt(n, path, "must not be negative, got %d", v)
		return 0, false
	}
	return v, ok
}

func (p *parser) float(n *yaml.Node, path string) (float64, bool) {
	n = deref(n)
	if isNull(n) {
		return 0, false
	}
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!int", "!!float":
			var f float64
			if err := n.Decode(&f); err == nil {
				return f, true
			}
		}
	}
	p.errAt(n, path, "must be a number, got %s", p.describe(n))
	return 0, false
}

// bool accepts YAML booleans, and also yes/no/on/off, which LiteLLM's YAML
// 1.1 parser reads as booleans.
func (p *parser) bool(n *yaml.Node, path string) (bool, bool) {
	n = deref(n)
	if isNull(n) {
		return false, false
	}
	if n.Kind == yaml.ScalarNode {
		if n.ShortTag() == "!!bool" {
			var b bool
			if err := n.Decode(&b); err == nil {
				return b, true
			}
		}
		if n.ShortTag() == "!!str" && n.Style == 0 {
			switch strings.ToLower(n.Value) {
			case "yes", "on", "y":
				return true, true
			case "no", "off", "n":
				return false, true
			}
		}
	}
	p.errAt(n, path, "must be true or false, got %s", p.describe(n))
	return false, false
}

// seconds reads a duration written in seconds (int or float).
func (p *parser) seconds(n *yaml.Node, path string) (time.Duration, bool) {
	f, ok := p.float(n, path)
	if !ok {
		return 0, false
	}
	if f < 0 || f > 1e9 {
		p.errAt(n, path, "must be a number of seconds between 0 and 1e9, got %v", f)
		return 0, false
	}
	d := time.Duration(f * float64(time.Second))
	if f > 0 && d < time.Millisecond {
		// Envoy counts whole milliseconds and reads 0 as "none": a positive
		// value is at least 1 ms.
		d = time.Millisecond
	}
	return d, true
}

func (p *parser) strList(n *yaml.Node, path string) ([]string, bool) {
	items, ok := p.sequence(n, path)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(items))
	good := true
	for i, it := range items {
		s, ok := p.str(it, fmt.Sprintf("%s[%d]", path, i))
		if !ok {
			if isNull(it) {
				p.errAt(it, fmt.Sprintf("%s[%d]", path, i), "must be a string, got null")
			}
			good = false
			continue
		}
		out = append(out, s)
	}
	return out, good
}

func (p *parser) strMap(n *yaml.Node, path string) (map[string]string, bool) {
	es, ok := p.mapping(n, path)
	if !ok {
		return nil, false
	}
	out := make(map[string]string, len(es))
	for _, e := range es {
		if s, ok := p.str(e.Value, joinKey(path, e.Key)); ok {
			out[e.Key] = s
		} else if isNull(e.Value) {
			out[e.Key] = ""
		}
	}
	return out, true
}

// anyMap is a mapping read as plain values (anyValue); anything else is an
// error at n ("must be a mapping") and nil.
func (p *parser) anyMap(n *yaml.Node, path string) map[string]any {
	if m, ok := p.anyValue(n, path).(map[string]any); ok {
		return m
	}
	p.errAt(n, path, "must be a mapping")
	return nil
}

// anyValue converts a node to plain Go values: string, int, float64, bool,
// nil, []any and map[string]any. Timestamps stay text.
func (p *parser) anyValue(n *yaml.Node, path string) any {
	n = deref(n)
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode && !p.step(n, path) {
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		if !p.enter(n, path) {
			p.leave()
			return nil
		}
		defer p.leave()
	}
	switch n.Kind {
	case yaml.MappingNode:
		es, _ := p.mapping(n, path)
		m := make(map[string]any, len(es))
		for _, e := range es {
			m[e.Key] = p.anyValue(e.Value, joinKey(path, e.Key))
		}
		return m
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, c := range n.Content {
			out[i] = p.anyValue(c, fmt.Sprintf("%s[%d]", path, i))
		}
		return out
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil
		case "!!bool":
			var b bool
			if n.Decode(&b) == nil {
				return b
			}
		case "!!int":
			var i int64
			if n.Decode(&i) == nil {
				if i >= math.MinInt && i <= math.MaxInt {
					return int(i)
				}
				return i
			}
		case "!!float":
			var f float64
			if n.Decode(&f) == nil {
				return f
			}
		}
		return n.Value
	}
	return nil
}

// jsonText reads a value that may be written as text or as a YAML mapping
// (vertex_credentials); a mapping is kept as its JSON encoding.
func (p *parser) jsonText(n *yaml.Node, path string) (string, bool) {
	n = deref(n)
	if n != nil && n.Kind == yaml.MappingNode {
		b, err := json.Marshal(p.anyValue(n, path))
		if err != nil {
			p.errAt(n, path, "cannot be encoded as JSON: %v", err)
			return "", false
		}
		return string(b), true
	}
	return p.str(n, path)
}
