package config

import (
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// Bounds on include: how many files, and how large each may be.
const (
	maxIncludes    = 64
	maxIncludeSize = 16 << 20
)

// include merges the files the top-level include names (one path or a list,
// relative to the config's directory) into root, as LiteLLM's
// _process_includes does: for each included file in order, each of its
// top-level keys extends the config's list when both are lists and
// replaces the config's value otherwise; include itself is removed. The
// included files' paths go to cfg.Includes (a reload watches them); errors
// in their content name their own file and line.
func (p *parser) include(root *yaml.Node, cfg *Config) {
	if root == nil || root.Kind != yaml.MappingNode {
		return
	}
	at := -1
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "include" {
			at = i
		}
	}
	if at < 0 {
		return
	}
	keyNode, v := root.Content[at], deref(root.Content[at+1])
	root.Content = append(root.Content[:at:at], root.Content[at+2:]...)
	var paths []*yaml.Node
	switch {
	case v == nil || isNull(v):
		return
	case v.Kind == yaml.ScalarNode:
		paths = []*yaml.Node{v}
	case v.Kind == yaml.SequenceNode:
		paths = v.Content
	default:
		p.errAt(v, "include", "must be a file path or a list of file paths, got %s", p.describe(v))
		return
	}
	if len(paths) > maxIncludes {
		p.errAt(keyNode, "include", "names %d files, at most %d", len(paths), maxIncludes)
		return
	}
	dir := filepath.Dir(p.file)
	for i, pn := range paths {
		key := fmt.Sprintf("include[%d]", i)
		pn = deref(pn)
		if pn == nil || pn.Kind != yaml.ScalarNode || pn.Value == "" {
			p.errAt(pn, key, "must be a file path")
			continue
		}
		path := pn.Value
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		data, err := readBounded(path)
		if err != nil {
			p.errAt(pn, key, "%v", err)
			continue
		}
		cfg.Includes = append(cfg.Includes, path)
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			p.addIn(path, SeverityError, yamlErrLine(err), 0, "", "%v", err)
			continue
		}
		if len(doc.Content) == 0 || isNull(doc.Content[0]) {
			continue
		}
		inc := doc.Content[0]
		p.remember(inc, path)
		if inc.Kind != yaml.MappingNode {
			p.errAt(inc, "", "an included file must be a mapping of config sections, got %s", p.describe(inc))
			continue
		}
		for j := 0; j+1 < len(inc.Content); j += 2 {
			k, val := inc.Content[j], inc.Content[j+1]
			if k.Value == "include" {
				p.errAt(k, "include", "an included file may not include others")
				continue
			}
			merge(root, k, val)
		}
	}
}

// merge puts an included file's top-level key into root: a list extends the
// config's list of the same key, anything else replaces it.
func merge(root, k, val *yaml.Node) {
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != k.Value {
			continue
		}
		cur := deref(root.Content[i+1])
		if add := deref(val); cur != nil && add != nil && cur.Kind == yaml.SequenceNode && add.Kind == yaml.SequenceNode {
			cur.Content = append(cur.Content, add.Content...)
			return
		}
		root.Content[i+1] = val
		return
	}
	root.Content = append(root.Content, k, val)
}

// remember records the file of n and every node under it.
func (p *parser) remember(n *yaml.Node, file string) {
	if n == nil {
		return
	}
	if p.nodeFile == nil {
		p.nodeFile = map[*yaml.Node]string{}
	}
	if _, seen := p.nodeFile[n]; seen {
		return
	}
	p.nodeFile[n] = file
	for _, c := range n.Content {
		p.remember(c, file)
	}
	p.remember(n.Alias, file)
}

// readBounded reads an included file of at most maxIncludeSize bytes.
func readBounded(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("included file %s: %w", path, err)
	}
	if st.Size() > maxIncludeSize {
		return nil, fmt.Errorf("included file %s is %d bytes, at most %d", path, st.Size(), maxIncludeSize)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("included file %s: %w", path, err)
	}
	return data, nil
}
