package main

// mutant is one planted bug: Old (which must occur exactly once in File) is
// replaced by New, and the tests of Pkgs must then fail.
type mutant struct {
	Name string
	File string
	Old  string
	New  string
	Pkgs []string
}

// mutants: the bugs of issue 14's table first, then others the suite
// claims to catch. Keep Old short and unique; when the code it names moves,
// mutate reports the mutant as stale and fails, so the list is kept current.
var mutants = []mutant{
	{
		Name: "attempt filter retries every error (retryable returns true)",
		File: "extproc/attempt.go",
		Old:  "func (t *try) retryable(class translator.ErrorClass) bool {\n",
		New:  "func (t *try) retryable(class translator.ErrorClass) bool {\n\treturn true\n",
		Pkgs: []string{"./extproc/"},
	},
	{
		Name: "the Timeout class reads InternalServerErrorRetries",
		File: "router/outcome.go",
		Old:  `return "TimeoutErrorRetries"`,
		New:  `return "InternalServerErrorRetries"`,
		Pkgs: []string{"./router/", "./extproc/"},
	},
	{
		Name: "Anthropic stream: max_tokens becomes stop instead of length",
		File: "translator/anthropic.go",
		Old:  "f := anthropicFinishReason(*d.StopReason)",
		New:  `f := anthropicFinishReason(strings.Replace(*d.StopReason, "max_tokens", "end_turn", 1))`,
		Pkgs: []string{"./translator/"},
	},
	{
		Name: "Anthropic stream: refusal becomes stop instead of content_filter",
		File: "translator/anthropic.go",
		Old:  "f := anthropicFinishReason(*d.StopReason)",
		New:  `f := anthropicFinishReason(strings.Replace(*d.StopReason, "refusal", "end_turn", 1))`,
		Pkgs: []string{"./translator/"},
	},
	{
		Name: "SigV4 always signs for us-east-1",
		File: "extproc/credentials.go",
		Old:  "backendauth.SigV4{Region: region,",
		New:  `backendauth.SigV4{Region: "us-east-1",`,
		Pkgs: []string{"./extproc/"},
	},
	{
		Name: "master key compared with == instead of crypto/subtle",
		File: "extproc/auth.go",
		Old:  "if subtle.ConstantTimeCompare(sum[:], st.masterKey[:]) == 1 {",
		New:  "if sum == st.masterKey && subtle.ConstantTimeEq(1, 1) == 1 {",
		Pkgs: []string{"./extproc/"},
	},
	// Beyond the table.
	{
		Name: "404 retried on the same deployment",
		File: "extproc/attempt.go",
		Old:  "(class == translator.ErrAuthentication || class == translator.ErrNotFound) && next.DeploymentId == t.d.ID",
		New:  "class == translator.ErrAuthentication && next.DeploymentId == t.d.ID",
		Pkgs: []string{"./extproc/"},
	},
	{
		Name: "a fallback group next does not force the move",
		File: "extproc/attempt.go",
		Old:  "if next.ModelGroup != t.a.ModelGroup {\n\t\t// The next attempt is a fallback group",
		New:  "if false && next.ModelGroup != t.a.ModelGroup {\n\t\t// The next attempt is a fallback group",
		Pkgs: []string{"./extproc/"},
	},
	{
		Name: "Retry-After kept when another deployment is next",
		File: "extproc/attempt.go",
		Old:  `remove = append(remove, "retry-after")`,
		New:  `remove = append(remove)`,
		Pkgs: []string{"./extproc/"},
	},
	{
		Name: `"prompt is too long" not a context-window error`,
		File: "translator/openai_types.go",
		Old:  `"prompt is too long", `,
		New:  ``,
		Pkgs: []string{"./translator/"},
	},
	{
		Name: "OpenAI stream feeder records no finish reason but stop",
		File: "translator/openai.go",
		Old:  "s.finish = *c.FinishReason",
		New:  `s.finish = "stop"`,
		Pkgs: []string{"./translator/"},
	},
	{
		Name: "Bedrock content_filtered becomes stop",
		File: "translator/bedrock.go",
		Old:  `case "guardrail_intervened", "content_filtered":`,
		New:  `case "guardrail_intervened":`,
		Pkgs: []string{"./translator/"},
	},
	{
		Name: "404 does not count toward cooldown",
		File: "router/outcome.go",
		Old:  "o.Status == 408, o.Status == 404, o.Status >= 500:",
		New:  "o.Status == 408, o.Status >= 500:",
		Pkgs: []string{"./router/"},
	},
	{
		Name: "context_window_fallbacks do not stop context-window retries",
		File: "router/outcome.go",
		Old:  "if len(r.FallbackGroups(group, ContextWindowFallbacks)) > 0 {\n\t\t\treturn 0",
		New:  "if false && len(r.FallbackGroups(group, ContextWindowFallbacks)) > 0 {\n\t\t\treturn 0",
		Pkgs: []string{"./router/"},
	},
	{
		Name: "an error without a body is never retried",
		File: "extproc/attempt.go",
		Old:  "if t.status >= 400 {\n\t\t\t// An error without a body",
		New:  "if false && t.status >= 400 {\n\t\t\t// An error without a body",
		Pkgs: []string{"./extproc/"},
	},
	{
		Name: "the fake provider accepts any SigV4 region",
		File: "internal/fakeprovider/sigv4.go",
		Old:  "if want := s.awsRegionFor(model); a.region != want {",
		New:  "if want := s.awsRegionFor(model); false && a.region != want {",
		Pkgs: []string{"./internal/fakeprovider/"},
	},
}
