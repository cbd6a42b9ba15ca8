package extproc

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"reflect"
	"strconv"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/xds"
)

// The module's config table in parts (docs/architecture.md D62): a common
// part (contract.ModuleTableName: the config without its model_list, the
// module's settings and cooldowns, the order of the deployments and a
// fingerprint of every shard) and contract.ModuleTableShards shards of the
// model_list (contract.ModuleTablePart(i+1): the deployments whose id
// hashes to shard i, in file order). The gateway pushes only the parts
// whose bytes changed, so a change of one deployment costs the module the
// decode of one shard and the common part, not of the whole config; a
// cooldown costs the common part only.

// ModuleTableCommon is the common part of the module's table.
type ModuleTableCommon struct {
	// Gen numbers the gateway's pushes (first in the JSON: the gateway's
	// acknowledgements read it without decoding the part).
	Gen     uint64 `json:"gen"`
	Version string `json:"version"`
	// Config is the config without model_list, as JSON (with secrets: it
	// only travels on the module's own socket).
	Config    json.RawMessage `json:"config"`
	TicketKey []byte          `json:"ticket_key"`
	Module    ModuleConfig    `json:"module"`
	// Order is, for each model_list entry in file order, its shard.
	Order []uint8 `json:"order"`
	// Parts are the fingerprints of the shards this table is made of.
	Parts []string `json:"parts"`
}

// ModuleTableShard is one shard of the model_list.
type ModuleTableShard struct {
	Shard  int                 `json:"shard"`
	FP     string              `json:"fp"`
	Models []config.Deployment `json:"models"`
}

// shardOf is the shard of a deployment id.
func shardOf(id string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return int(h.Sum32() % contract.ModuleTableShards)
}

// ModuleTableEncoder encodes configs into the module table's parts and
// keeps the last config's shards, so a push of the same config (a cooldown,
// a settings change) encodes only the common part.
type ModuleTableEncoder struct {
	cfg    *config.Config
	order  []uint8
	shards [][]byte // JSON of each ModuleTableShard
	fps    []string
	gen    uint64
}

// Encode returns every part of the table of cfg (index 0: the common part,
// i+1: shard i) as JSON, and the push's generation.
func (e *ModuleTableEncoder) Encode(cfg *config.Config, version string, ticketKey []byte, mc ModuleConfig) ([][]byte, uint64, error) {
	if e.cfg != cfg {
		if err := e.encodeShards(cfg); err != nil {
			return nil, 0, err
		}
	}
	rest := *cfg
	rest.Models = nil
	cb, err := json.Marshal(&rest)
	if err != nil {
		return nil, 0, err
	}
	e.gen++
	common, err := json.Marshal(ModuleTableCommon{Gen: e.gen, Version: version, Config: cb, TicketKey: ticketKey, Module: mc, Order: e.order, Parts: e.fps})
	if err != nil {
		return nil, 0, err
	}
	return append([][]byte{common}, e.shards...), e.gen, nil
}

func (e *ModuleTableEncoder) encodeShards(cfg *config.Config) error {
	by := make([][]config.Deployment, contract.ModuleTableShards)
	order := make([]uint8, len(cfg.Models))
	for i := range cfg.Models {
		s := shardOf(cfg.Models[i].ID)
		order[i] = uint8(s)
		by[s] = append(by[s], cfg.Models[i])
	}
	shards := make([][]byte, contract.ModuleTableShards)
	fps := make([]string, contract.ModuleTableShards)
	for s, ms := range by {
		js, err := sparseJSON(ms)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(js)
		fps[s] = hex.EncodeToString(sum[:8])
		shards[s] = fmt.Appendf(nil, `{"shard":%d,"fp":%q,"models":%s}`, s, fps[s], js)
	}
	e.cfg, e.order, e.shards, e.fps = cfg, order, shards, fps
	return nil
}

// ModuleTableAssembler is the module's side: it decodes the parts as they
// come, keeps the decoded shards, and rebuilds the config from them.
type ModuleTableAssembler struct {
	common *ModuleTableCommon
	shards [contract.ModuleTableShards]*ModuleTableShard
	fresh  bool // a part arrived since the last Config
}

// Apply decodes one part. A part it cannot read is an error and changes
// nothing.
func (a *ModuleTableAssembler) Apply(part []byte) error {
	switch {
	case bytes.HasPrefix(part, []byte(`{"gen":`)):
		var c ModuleTableCommon
		if err := json.Unmarshal(part, &c); err != nil {
			return fmt.Errorf("module table: %w", err)
		}
		if len(c.Parts) != contract.ModuleTableShards {
			return fmt.Errorf("module table %s: %d shards, want %d", c.Version, len(c.Parts), contract.ModuleTableShards)
		}
		a.common = &c
	case bytes.HasPrefix(part, []byte(`{"shard":`)):
		var s ModuleTableShard
		if err := json.Unmarshal(part, &s); err != nil {
			return fmt.Errorf("module table shard: %w", err)
		}
		if s.Shard < 0 || s.Shard >= contract.ModuleTableShards {
			return fmt.Errorf("module table: shard %d out of range", s.Shard)
		}
		a.shards[s.Shard] = &s
	default:
		return fmt.Errorf("module table: a part of unknown shape")
	}
	a.fresh = true
	return nil
}

// Config is the config the parts applied so far make, once every shard the
// common part names has arrived (ok false: still incomplete, or nothing
// new since the last call).
func (a *ModuleTableAssembler) Config() (cfg *config.Config, c *ModuleTableCommon, ok bool, err error) {
	if !a.fresh || a.common == nil {
		return nil, nil, false, nil
	}
	c = a.common
	for i, fp := range c.Parts {
		if s := a.shards[i]; s == nil || s.FP != fp {
			return nil, nil, false, nil
		}
	}
	if len(c.TicketKey) < xds.MinTicketKeyBytes {
		return nil, nil, false, fmt.Errorf("module table %s: no ticket key", c.Version)
	}
	cfg = &config.Config{}
	if err := json.Unmarshal(c.Config, cfg); err != nil {
		return nil, nil, false, fmt.Errorf("module table %s: %w", c.Version, err)
	}
	var next [contract.ModuleTableShards]int
	cfg.Models = make([]config.Deployment, len(c.Order))
	for i, s := range c.Order {
		if int(s) >= contract.ModuleTableShards || next[s] >= len(a.shards[s].Models) {
			return nil, nil, false, fmt.Errorf("module table %s: deployment %d not in shard %s", c.Version, i, strconv.Itoa(int(s)))
		}
		cfg.Models[i] = a.shards[s].Models[next[s]]
		next[s]++
	}
	a.fresh = false
	return cfg, c, true, nil
}

// sparseJSON is v as encoding/json writes it, without the fields whose
// value decodes the same when absent: nil pointers, maps, slices and
// interfaces, and zero numbers, strings and booleans that are not behind a
// pointer (a pointer to a zero value is kept: `num_retries: 0` is not
// unset). A deployment is ≈ 60 fields of which a typical one sets a dozen:
// the module decodes a third of the bytes (D62). Maps, interfaces and
// non-struct slices are written whole by encoding/json.
func sparseJSON(v any) ([]byte, error) {
	b, keep, err := appendSparse(nil, reflect.ValueOf(v), true)
	if err == nil && !keep {
		b = []byte("null") // a nil pointer, map, slice or interface
	}
	return b, err
}

// appendSparse appends v's JSON to b; keep false: v is absent (nothing
// appended). top: v is written even when it could be absent.
func appendSparse(b []byte, v reflect.Value, top bool) ([]byte, bool, error) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return b, false, nil
		}
		return appendSparse(b, v.Elem(), true) // a pointer to a zero value stays
	case reflect.Interface, reflect.Map:
		if v.IsNil() {
			return b, false, nil
		}
		return appendWhole(b, v)
	case reflect.Slice:
		if v.IsNil() {
			return b, false, nil
		}
		if v.Type().Elem().Kind() != reflect.Struct {
			return appendWhole(b, v)
		}
		b = append(b, '[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, _, err = appendSparse(b, v.Index(i), true); err != nil {
				return nil, false, err
			}
		}
		return append(b, ']'), true, nil
	case reflect.Struct:
		t := v.Type()
		if t.Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(jsonMarshaler) {
			return appendWhole(b, v)
		}
		start := len(b)
		b = append(b, '{')
		n := 0
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.Anonymous || f.Tag.Get("json") != "" {
				return nil, false, fmt.Errorf("module table: %s.%s: a field encoding/json names itself", t, f.Name)
			}
			if !f.IsExported() {
				continue
			}
			mark := len(b)
			if n > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, f.Name...)
			b = append(b, '"', ':')
			var keep bool
			var err error
			if b, keep, err = appendSparse(b, v.Field(i), false); err != nil {
				return nil, false, err
			}
			if !keep {
				b = b[:mark]
				continue
			}
			n++
		}
		if n == 0 && !top {
			return b[:start], false, nil
		}
		return append(b, '}'), true, nil
	case reflect.String:
		if v.Len() == 0 && !top {
			return b, false, nil
		}
		return appendWhole(b, v)
	default:
		if v.IsZero() && !top {
			return b, false, nil
		}
		return appendWhole(b, v)
	}
}

func appendWhole(b []byte, v reflect.Value) ([]byte, bool, error) {
	js, err := json.Marshal(v.Interface())
	if err != nil {
		return nil, false, err
	}
	return append(b, js...), true, nil
}

var jsonMarshaler = reflect.TypeFor[json.Marshaler]()
