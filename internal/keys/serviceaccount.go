package keys

import (
	"context"
	"reflect"
)

// Service account keys (LiteLLM's /key/service-account/generate): a key
// that belongs to a team, not to a user, marked by metadata.service_account_id.
// general_settings.service_account_settings.enforced_params apply to its
// requests (reqchecks.go).

// serviceAccountNeedsTeam is LiteLLM's check on /key/generate and
// /key/update: metadata naming a service account needs a team, the
// request's or (on update) the key's.
func serviceAccountNeedsTeam(req map[string]any, keyTeam string) *Error {
	md, _ := req["metadata"].(map[string]any)
	if md == nil || md[metaServiceAccountID] == nil {
		return nil
	}
	if team, _ := req["team_id"].(string); team != "" || keyTeam != "" {
		return nil
	}
	return keyGenError("team_id is required for service account keys. Please specify `team_id` in the request body.")
}

// serviceAccountGenerate is /key/service-account/generate: the team must
// exist, the key gets metadata.service_account_id (the key_alias, else a
// new UUID) unless the request names one, and no user.
func (s *Service) serviceAccountGenerate(ctx context.Context, req map[string]any) (any, *Error) {
	team, _ := req["team_id"].(string)
	if team == "" {
		return nil, keyGenError("team_id is required for service account keys. Please specify `team_id` in the request body.")
	}
	if _, err := s.o.Store.GetTeam(ctx, team); err != nil {
		return nil, keyGenError("team_id does not exist in the database. Please specify a valid `team_id` in the request body.")
	}
	md, _ := req["metadata"].(map[string]any)
	if md == nil || md[metaServiceAccountID] == nil {
		id, _ := req["key_alias"].(string)
		if id == "" {
			id = uuid4()
		}
		stamped := map[string]any{metaServiceAccountID: id}
		for k, v := range md {
			if k != metaServiceAccountID {
				stamped[k] = v
			}
		}
		req["metadata"] = stamped
	}
	delete(req, "user_id") // LiteLLM: a service account key has no user
	return s.generateRoute(ctx, req)
}

// reservedMetadataChanged is LiteLLM's answer to an update that changes a
// reserved metadata field (LiteLLM_Reserved_Metadata_Fields).
func reservedMetadataChanged() *Error {
	return keyGenError(metaServiceAccountID + " is immutable once set and cannot be changed via update.")
}

// keepReservedMetadata carries a key's service_account_id into the
// metadata that replaces its own: kept when md leaves it out, refused when
// md changes it (LiteLLM's prepare_metadata_fields).
func keepReservedMetadata(old, md map[string]any) *Error {
	was := old[metaServiceAccountID]
	if was == nil {
		return nil
	}
	if v, ok := md[metaServiceAccountID]; ok && !reflect.DeepEqual(v, was) {
		return reservedMetadataChanged()
	}
	md[metaServiceAccountID] = was
	return nil
}
