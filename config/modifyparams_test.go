package config

import "testing"

// modify_params (D148): the key, else LITELLM_MODIFY_PARAMS set to anything
// (LiteLLM's bool() of the string: "false" too); the key wins.
func TestModifyParams(t *testing.T) {
	base := "model_list: []\nlitellm_settings:\n"
	for _, c := range []struct {
		yaml, env string
		want      bool
	}{
		{"  modify_params: true\n", "", true},
		{"  drop_params: true\n", "", false},
		{"  drop_params: true\n", "1", true},
		{"  drop_params: true\n", "false", true},
		{"  modify_params: false\n", "1", false},
	} {
		e := env()
		if c.env != "" {
			e = env(EnvModifyParams, c.env)
		}
		if got := mustParse(t, base+c.yaml, e).LiteLLM.ModifyParams; got != c.want {
			t.Errorf("%q with %s=%q: modify_params %v, want %v", c.yaml, EnvModifyParams, c.env, got, c.want)
		}
	}
}
