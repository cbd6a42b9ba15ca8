package main

/*
#include "dm.h"
*/
import "C"

import (
	"github.com/llmgate/llmgate/dynmod/filter"
	"github.com/llmgate/llmgate/internal/contract"
)

// filterConfig is one filter config of the module (one per listener).
type filterConfig struct {
	name string
	cfg  filter.Config
}

func parseFilterConfig(name, s string) (*filterConfig, error) {
	c, err := filter.ParseConfig(s)
	if err != nil {
		return nil, err
	}
	return &filterConfig{name: name, cfg: c}, nil
}

// start begins the config's background work (none yet).
func (c *filterConfig) start() {}

// stream is one request's state.
type stream struct {
	cfg *filterConfig
}

// onRequestHeaders runs first on every request. A marker header the client
// sent is removed whatever happens next: only the module sets it.
func onRequestHeaders(s *stream, f C.uintptr_t, eos bool) int {
	if _, ok := getHeader(f, contract.ModuleHeader); ok {
		removeHeader(f, contract.ModuleHeader)
	}
	return reqHeadersContinue
}

func onRequestBody(s *stream, f C.uintptr_t, eos bool) int {
	return reqBodyContinue
}

func onRequestTrailers(s *stream, f C.uintptr_t) int {
	return reqHeadersContinue
}
