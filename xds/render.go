package xds

import (
	"encoding/json"
	"errors"
	"fmt"
	"google.golang.org/protobuf/reflect/protoreflect"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/anypb"
	"gopkg.in/yaml.v3"
)

type validator interface{ ValidateAll() error }

// Validate runs Envoy's proto validation rules on every resource.
func (r *Resources) Validate() error {
	var errs []error
	for _, m := range r.all() {
		if v, ok := m.(validator); ok {
			if err := v.ValidateAll(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// YAML renders the resources as YAML, in the shape of an Envoy static
// bootstrap's resources (each with its @type), for users who run their own Envoy.
func (r *Resources) YAML() ([]byte, error) {
	out := map[string]any{"version": r.Version}
	add := func(key string, msgs []any) {
		out[key] = msgs
	}
	conv := func(m interface{ ProtoReflect() protoreflect.Message }) (any, error) {
		a, err := anypb.New(m)
		if err != nil {
			return nil, err
		}
		b, err := protojson.Marshal(a)
		if err != nil {
			return nil, err
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, err
		}
		return v, nil
	}
	var ls, rs, cs []any
	for _, l := range r.Listeners {
		v, err := conv(l)
		if err != nil {
			return nil, fmt.Errorf("listener: %w", err)
		}
		ls = append(ls, v)
	}
	for _, x := range r.Routes {
		v, err := conv(x)
		if err != nil {
			return nil, fmt.Errorf("route: %w", err)
		}
		rs = append(rs, v)
	}
	for _, c := range r.Clusters {
		v, err := conv(c)
		if err != nil {
			return nil, fmt.Errorf("cluster: %w", err)
		}
		cs = append(cs, v)
	}
	add("listeners", ls)
	add("routes", rs)
	add("clusters", cs)
	return yaml.Marshal(out)
}
