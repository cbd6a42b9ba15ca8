package main

import (
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
		check   func(config) bool
	}{
		{"defaults", nil, false, func(c config) bool {
			return c.addr == "127.0.0.1:0" && c.opts.StreamChunks == 10 && c.opts.APIKeys == nil && !c.opts.NoRecord
		}},
		{"bench setup", []string{"--addr", "127.0.0.1:9999", "--latency", "5ms", "--chunk-delay", "1ms", "--stream-chunks", "100", "--reply-size", "1024", "--no-record", "--api-keys", "a,b"}, false, func(c config) bool {
			o := c.opts
			return c.addr == "127.0.0.1:9999" && o.Latency == 5*time.Millisecond && o.ChunkDelay == time.Millisecond &&
				o.StreamChunks == 100 && o.ReplySize == 1024 && o.NoRecord && len(o.APIKeys) == 2 && o.APIKeys[1] == "b"
		}},
		{"unknown flag", []string{"--nope"}, true, nil},
		{"bad duration", []string{"--latency", "soon"}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseFlags(tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.check != nil && !tt.check(c) {
				t.Errorf("config = %+v", c)
			}
		})
	}
}
