package bench

// KeyFields are more /key/generate fields for every key IssueKeys issues,
// JSON object members without braces (llmbench --keys-fields), e.g.
// `"rpm_limit":100000000` for keys whose limits the module leases (D83).
var KeyFields string

func keyFields() string {
	if KeyFields == "" {
		return ""
	}
	return "," + KeyFields
}
