package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// default_key_generate_params, upperbound_key_generate_params and
// key_generation_settings read as the key service takes them (D90): JSON
// numbers, durations checked, mistakes refused at load.
func TestKeyGenSettings(t *testing.T) {
	base := "model_list: []\nlitellm_settings:\n"
	cfg := mustParse(t, base+`  default_key_generate_params:
    max_budget: 10
    models: [gpt-x]
    duration: 30d
    rpm_limit: 5
    metadata: {owner: platform, n: 2}
    soft_budget: 1
  upperbound_key_generate_params: {max_budget: 100, tpm_limit: 1000, budget_duration: 30d}
  key_generation_settings:
    personal_key_generation: {allowed_user_roles: [proxy_admin], required_params: [key_alias]}
    team_key_generation: {allowed_team_member_roles: [admin]}
  default_internal_user_params: {user_role: internal_user, models: [gpt-x], teams: [t1, {team_id: t2, user_role: admin}]}
  max_internal_user_budget: 7.5
  internal_user_budget_duration: 7d
`, nil)
	kg := cfg.LiteLLM.KeyGen
	want := KeyGenSettings{
		Defaults: map[string]any{"max_budget": 10.0, "models": []any{"gpt-x"}, "duration": "30d", "rpm_limit": 5.0, "metadata": map[string]any{"owner": "platform", "n": 2.0}},
		Upper:    map[string]any{"max_budget": 100.0, "tpm_limit": 1000.0, "budget_duration": "30d"},
		Personal: &KeyGenRule{Roles: []string{"proxy_admin"}, Required: []string{"key_alias"}},
		Team:     &KeyGenRule{Roles: []string{"admin"}},
		Set:      true,
		InternalUser: map[string]any{"user_role": "internal_user", "models": []any{"gpt-x"},
			"teams": []any{"t1", map[string]any{"team_id": "t2", "user_role": "admin"}}},
		MaxInternalUserBudget: ptrF(7.5), InternalUserBudgetDuration: "7d",
	}
	if !reflect.DeepEqual(kg, want) {
		t.Errorf("got %+v (%+v %+v)\nwant %+v", kg, kg.Personal, kg.Team, want)
	}
	if w := fmt.Sprint(cfg.Warnings); !strings.Contains(w, "soft_budget") {
		t.Errorf("a default LiteLLM does not read was not warned: %s", w)
	}
	for _, bad := range []string{
		"  upperbound_key_generate_params: {max_budget: -1}\n",
		"  upperbound_key_generate_params: {duration: thirty}\n",
		"  upperbound_key_generate_params: {models: [a]}\n",
		"  default_key_generate_params: {tpm_limit: 1.5}\n",
		"  key_generation_settings: {personal_key_generation: {allowed_roles: [a]}}\n",
		"  default_internal_user_params: {teams: [{max_budget_in_team: 1}]}\n",
		"  internal_user_budget_duration: soon\n",
		"  max_internal_user_budget: -2\n",
	} {
		parseErr(t, base+bad, nil)
	}
}

func ptrF(f float64) *float64 { return &f }

// The request checks of general_settings (D90) as the filters take them;
// an empty allowed_ips is kept (it allows no one), an unset one is nil.
func TestRequestCheckSettings(t *testing.T) {
	g := mustParse(t, "model_list: []\ngeneral_settings:\n  enforce_user_param: true\n  enforced_params: [user, metadata.generation_name]\n  allowed_ips: [10.0.0.1]\n  use_x_forwarded_for: true\n", nil).General
	if !g.EnforceUserParam || !reflect.DeepEqual(g.EnforcedParams, []string{"user", "metadata.generation_name"}) || !reflect.DeepEqual(g.AllowedIPs, []string{"10.0.0.1"}) || !g.UseXForwardedFor {
		t.Errorf("%+v", g)
	}
	if g := mustParse(t, "model_list: []\ngeneral_settings:\n  allowed_ips: []\n", nil).General; g.AllowedIPs == nil || len(g.AllowedIPs) != 0 {
		t.Errorf("allowed_ips: [] read as %#v", g.AllowedIPs)
	}
	if g := mustParse(t, "model_list: []\n", nil).General; g.AllowedIPs != nil || g.EnforceUserParam || g.EnforcedParams != nil {
		t.Errorf("unset: %+v", g)
	}
}
