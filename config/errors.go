package config

import (
	"fmt"
	"sort"
	"strings"
)

// LoadError is returned by Load and Parse when a config is invalid. It lists
// every error found, not just the first, each as
// "file:line: error: key.path: message".
type LoadError struct {
	Diagnostics []Diagnostic // errors only
	Warnings    []Diagnostic // the warnings found as well, for `llmgate validate`
}

func (e *LoadError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid config (%d error", len(e.Diagnostics))
	if len(e.Diagnostics) != 1 {
		b.WriteString("s")
	}
	b.WriteString("):")
	for _, d := range e.Diagnostics {
		b.WriteString("\n")
		b.WriteString(d.String())
	}
	return b.String()
}

// diags collects findings while a config is parsed.
type diags struct {
	file  string
	errs  []Diagnostic
	warns []Diagnostic
}

func (d *diags) add(sev Severity, line, col int, key, format string, args ...any) {
	d.addIn(d.file, sev, line, col, key, format, args...)
}

// addIn is add for a position in file (an included one).
func (d *diags) addIn(file string, sev Severity, line, col int, key, format string, args ...any) {
	diag := Diagnostic{
		Pos:      Pos{File: file, Line: line, Column: col},
		Key:      key,
		Message:  fmt.Sprintf(format, args...),
		Severity: sev,
	}
	if sev == SeverityError {
		d.errs = append(d.errs, diag)
	} else {
		d.warns = append(d.warns, diag)
	}
}

// sortDiagnostics orders findings by position and drops exact repeats (a
// nested value can be read twice, e.g. for Raw and for its typed field).
func sortDiagnostics(ds []Diagnostic) []Diagnostic {
	sort.SliceStable(ds, func(i, j int) bool {
		if ds[i].Pos.Line != ds[j].Pos.Line {
			return ds[i].Pos.Line < ds[j].Pos.Line
		}
		return ds[i].Pos.Column < ds[j].Pos.Column
	})
	out := ds[:0]
	seen := map[Diagnostic]bool{}
	for _, d := range ds {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

// suggest returns the candidate closest to key when it is close enough to be
// a likely typo ("did you mean X?"). Comparison ignores case.
func suggest(key string, candidates []string) (string, bool) {
	k := strings.ToLower(key)
	limit := 1
	switch {
	case len(k) > 10:
		limit = 3
	case len(k) > 4:
		limit = 2
	}
	best, bestD := "", limit+1
	for _, c := range candidates {
		d := editDistance(k, strings.ToLower(c))
		if d < bestD {
			best, bestD = c, d
		}
	}
	return best, best != ""
}

// editDistance is the optimal-string-alignment distance: insertions,
// deletions, substitutions and transpositions of neighbours each cost 1.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
