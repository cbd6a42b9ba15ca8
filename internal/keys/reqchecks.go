package keys

import (
	"fmt"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/internal/keystore"
)

// RequestRules are general_settings' checks of an LLM request's body
// (D90), built once per config; nil when the config sets none.
type RequestRules struct {
	// EnforceUser is enforce_user_param: a virtual key's request must carry
	// `user`.
	EnforceUser bool
	// Params is enforced_params: fields every request must carry ("user",
	// "metadata.generation_name").
	Params []string
	// ServiceAccountParams is service_account_settings' enforced_params:
	// fields a service account key's requests must carry as well.
	ServiceAccountParams []string
}

// NewRequestRules returns the rules of enforce_user_param, enforced_params
// and service_account_settings.enforced_params; nil when none is set.
func NewRequestRules(enforceUser bool, params, serviceAccountParams []string) *RequestRules {
	if !enforceUser && len(params) == 0 && len(serviceAccountParams) == 0 {
		return nil
	}
	return &RequestRules{EnforceUser: enforceUser, Params: params, ServiceAccountParams: serviceAccountParams}
}

// metaServiceAccountID is the key metadata field that makes a key a
// service account key (LiteLLM's check_if_token_is_service_account); it is
// immutable once set (LiteLLM_Reserved_Metadata_Fields).
const metaServiceAccountID = "service_account_id"

// isServiceAccount reports whether k is a service account key.
func isServiceAccount(k *keystore.Key) bool {
	if k == nil || k.Metadata == nil {
		return false
	}
	_, ok := k.Metadata[metaServiceAccountID]
	return ok
}

// metaEnforcedParams is the key metadata field of the key's own
// enforced_params (LiteLLM's _get_enforced_params).
const metaEnforcedParams = "enforced_params"

// keyEnforcedParams are a key's metadata.enforced_params (nil: none).
func keyEnforcedParams(k *keystore.Key) []any {
	if k == nil || k.Metadata == nil {
		return nil
	}
	l, _ := k.Metadata[metaEnforcedParams].([]any)
	return l
}

// CheckBody runs the rules on an LLM request's body for k (nil: the master
// key, or no key), as LiteLLM: enforce_user_param among the key's auth
// checks (common_checks: "Authentication Error, 'user' param not passed
// in. …", 401), then enforced_params — the config's, then
// service_account_settings' for a service account key, then the key's
// metadata.enforced_params — where LiteLLM's pre-call step raises a
// ValueError that its LLM routes answer with 500. A request carries
// `metadata` always (LiteLLM adds it before the check).
func CheckBody(r *RequestRules, k *keystore.Key, body []byte) *Error {
	keyParams := keyEnforcedParams(k)
	if r == nil && keyParams == nil {
		return nil
	}
	if r != nil && r.EnforceUser && k != nil && !gjson.GetBytes(body, "user").Exists() {
		return &Error{Status: 401, Type: "auth_error", Code: "401", Param: "None",
			Message: "Authentication Error, 'user' param not passed in. 'enforce_user_param'=True"}
	}
	var params []string
	if r != nil {
		params = r.Params
		if isServiceAccount(k) {
			params = append(params[:len(params):len(params)], r.ServiceAccountParams...)
		}
	}
	for _, p := range params {
		if e := enforcedParam(p, body); e != nil {
			return e
		}
	}
	for _, x := range keyParams {
		if p, ok := x.(string); ok {
			if e := enforcedParam(p, body); e != nil {
				return e
			}
		}
	}
	return nil
}

// enforcedParam checks one enforced_params entry: a top-level field, or
// two levels ("metadata.generation_name"); LiteLLM checks no deeper.
func enforcedParam(p string, body []byte) *Error {
	parts := strings.Split(p, ".")
	if len(parts) > 2 {
		return nil
	}
	top := gjson.GetBytes(body, gjson.Escape(parts[0]))
	if !top.Exists() && parts[0] != "metadata" {
		return paramError(fmt.Sprintf("BadRequest please pass param=%s in request body. This is a required param", parts[0]))
	}
	if len(parts) == 2 && !top.Get(gjson.Escape(parts[1])).Exists() {
		return paramError(fmt.Sprintf("BadRequest please pass param=[%s][%s] in request body. This is a required param", parts[0], parts[1]))
	}
	return nil
}

// paramError is a ValueError as LiteLLM's LLM routes answer it.
func paramError(msg string) *Error {
	return &Error{Status: 500, Type: "None", Code: "500", Param: "None", Message: msg}
}
