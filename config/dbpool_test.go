package config

import (
	"testing"
	"time"
)

// TestDatabasePoolSettings (D96): database_connection_pool_limit and
// database_connection_timeout read, their mistakes refused.
func TestDatabasePoolSettings(t *testing.T) {
	g := mustParse(t, "model_list: []\ngeneral_settings:\n  database_connection_pool_limit: 20\n  database_connection_timeout: 2.5\n", nil).General
	if g.DatabasePoolLimit != 20 || g.DatabaseTimeout != 2500*time.Millisecond {
		t.Errorf("read as %d, %v", g.DatabasePoolLimit, g.DatabaseTimeout)
	}
	if g := mustParse(t, "model_list: []\n", nil).General; g.DatabasePoolLimit != 0 || g.DatabaseTimeout != 0 {
		t.Errorf("unset: %d, %v", g.DatabasePoolLimit, g.DatabaseTimeout)
	}
	for _, bad := range []string{"database_connection_pool_limit: 0", "database_connection_pool_limit: 100000", "database_connection_pool_limit: ten", "database_connection_timeout: -1"} {
		if e := parseErr(t, "model_list: []\ngeneral_settings:\n  "+bad+"\n", nil); e == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
