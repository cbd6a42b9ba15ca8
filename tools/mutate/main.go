package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

func main() {
	only := flag.String("only", "", "run only the mutants whose name contains this text")
	list := flag.Bool("list", false, "list the mutants and exit")
	keep := flag.Bool("keep", false, "keep the temporary copy (its path is printed)")
	timeout := flag.Duration("timeout", 5*time.Minute, "time limit of one mutant's tests")
	flag.Parse()
	if *list {
		for _, m := range mutants {
			fmt.Printf("%s\t%s\n", m.File, m.Name)
		}
		return
	}
	if err := run(*only, *keep, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "mutate:", err)
		os.Exit(1)
	}
}

type result struct {
	m      mutant
	status string // killed, SURVIVED, STALE, DOES NOT COMPILE, NOT TESTED
	detail string
	took   time.Duration
}

func run(only string, keep bool, timeout time.Duration) error {
	root, err := gitOutput("", "rev-parse", "--show-toplevel")
	if err != nil {
		return fmt.Errorf("not in a git checkout: %w", err)
	}
	root = strings.TrimSpace(root)
	tmp, err := os.MkdirTemp("", "llmgate-mutate-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Println("copy:", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	if err := copyTree(root, tmp); err != nil {
		return fmt.Errorf("copy the tree: %w", err)
	}
	var selected []mutant
	pkgSet := map[string]bool{}
	for _, m := range mutants {
		if only != "" && !strings.Contains(m.Name, only) {
			continue
		}
		selected = append(selected, m)
		for _, p := range m.Pkgs {
			pkgSet[p] = true
		}
	}
	if len(selected) == 0 {
		return fmt.Errorf("no mutant matches %q", only)
	}
	var pkgs []string
	for p := range pkgSet {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)

	// The unmutated tree must pass, or nothing below means anything.
	fmt.Printf("baseline: go test -short %s\n", strings.Join(pkgs, " "))
	if ok, out := goTest(tmp, pkgs, timeout); !ok {
		return fmt.Errorf("the unmutated tree fails its tests:\n%s", out)
	}

	var results []result
	for _, m := range selected {
		start := time.Now()
		r := result{m: m}
		r.status, r.detail = tryMutant(tmp, m, timeout)
		r.took = time.Since(start).Round(100 * time.Millisecond)
		fmt.Printf("%-16s %-70s (%s)\n", r.status, m.Name, r.took)
		results = append(results, r)
	}

	fmt.Println()
	fmt.Println("| planted bug | where | result |")
	fmt.Println("| --- | --- | --- |")
	bad := 0
	for _, r := range results {
		fmt.Printf("| %s | %s | %s |\n", r.m.Name, r.m.File, r.status)
		if r.status != "killed" {
			bad++
		}
	}
	for _, r := range results {
		if r.status != "killed" && r.detail != "" {
			fmt.Printf("\n== %s: %s\n%s\n", r.status, r.m.Name, r.detail)
		}
	}
	fmt.Printf("\n%d of %d mutants killed\n", len(results)-bad, len(results))
	if bad > 0 {
		return fmt.Errorf("%d mutants not killed", bad)
	}
	return nil
}

// tryMutant plants one bug in the copy, runs its tests and restores the file.
func tryMutant(tmp string, m mutant, timeout time.Duration) (status, detail string) {
	path := filepath.Join(tmp, m.File)
	orig, err := os.ReadFile(path)
	if err != nil {
		return "STALE", err.Error()
	}
	if n := bytes.Count(orig, []byte(m.Old)); n != 1 {
		return "STALE", fmt.Sprintf("%q occurs %d times in %s (want 1): update tools/mutate/mutants.go", m.Old, n, m.File)
	}
	mutated := bytes.Replace(orig, []byte(m.Old), []byte(m.New), 1)
	if err := os.WriteFile(path, mutated, 0o644); err != nil {
		return "STALE", err.Error()
	}
	defer func() { _ = os.WriteFile(path, orig, 0o644) }()
	if out, err := goCmd(tmp, timeout, "build", "./..."); err != nil {
		return "DOES NOT COMPILE", out
	}
	ok, out := goTest(tmp, m.Pkgs, timeout)
	switch {
	case ok:
		return "SURVIVED", "no test failed"
	case !strings.Contains(out, "--- FAIL"):
		// go vet (run by go test) or the test build refused the mutant:
		// no test judged it.
		return "NOT TESTED", out
	}
	return "killed", ""
}

func goTest(dir string, pkgs []string, timeout time.Duration) (bool, string) {
	args := append([]string{"test", "-count=1", "-short"}, pkgs...)
	out, err := goCmd(dir, timeout, args...)
	return err == nil, out
}

func goCmd(dir string, timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	// CI=true turns missing servers into failures; a mutant run needs only
	// the fast tests.
	cmd.Env = append(os.Environ(), "CI=")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func gitOutput(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	return string(out), err
}

// copyTree copies the files git knows (tracked, and untracked but not
// ignored) so that uncommitted work is what gets mutated.
func copyTree(root, dst string) error {
	out, err := gitOutput(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	if err != nil {
		return err
	}
	for _, name := range strings.Split(out, "\x00") {
		if name == "" {
			continue
		}
		src := filepath.Join(root, name)
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the worktree, or a symlink
		}
		to := filepath.Join(dst, name)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		if err := copyFile(src, to, fi.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
