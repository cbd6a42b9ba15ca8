package keystore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/store/pgtest"
)

// opener returns a new handle on the same storage each time it is called.
type opener func(t *testing.T) Store

func embeddedOpener(t *testing.T) opener {
	dir := t.TempDir()
	return func(t *testing.T) Store {
		s, err := OpenEmbedded(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

// postgresOpener gives each caller a fresh database on one server.
func postgresOpener(srv *pgtest.Server) func(t *testing.T) opener {
	return func(t *testing.T) opener {
		url := srv.NewDatabase(t)
		return func(t *testing.T) Store {
			s, err := OpenPostgres(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
	}
}

func TestEmbeddedStore(t *testing.T) { runSuite(t, embeddedOpener) }
func TestPostgresStore(t *testing.T) { runSuite(t, postgresOpener(pgtest.Start(t))) }

func ptr[T any](v T) *T { return &v }

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// runSuite is the behaviour both stores must have.
func runSuite(t *testing.T, mk func(t *testing.T) opener) {
	ctx := context.Background()
	runDeprecatedSuite(t, mk)
	runAuditSuite(t, mk)
	t.Run("key round trip survives reopen", func(t *testing.T) {
		open := mk(t)
		s := open(t)
		exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		k := &Key{Token: HashKey("sk-one"), KeyName: "sk-...-one", KeyAlias: "app-one", Expires: &exp,
			Models: []string{"gpt-4o", "claude"}, Aliases: map[string]any{"fast": "gpt-4o-mini"},
			UserID: "u1", TeamID: "t1", MaxParallelRequests: ptr[int64](3), Metadata: map[string]any{"tags": []any{"prod"}},
			TPMLimit: ptr[int64](1000), RPMLimit: ptr[int64](10), MaxBudget: ptr(2.5), BudgetDuration: "30d",
			BudgetResetAt: &exp, ModelMaxBudget: map[string]any{"gpt-4o": map[string]any{"budget_limit": 1.0}},
			CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		if err := s.PutKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		s.Close()
		s = open(t)
		got, err := s.GetKey(ctx, HashKey("sk-one"))
		if err != nil {
			t.Fatal(err)
		}
		if got.KeyAlias != "app-one" || got.UserID != "u1" || got.TeamID != "t1" || len(got.Models) != 2 || got.Models[1] != "claude" ||
			got.Expires == nil || !got.Expires.Equal(exp) || *got.MaxParallelRequests != 3 || *got.TPMLimit != 1000 || *got.RPMLimit != 10 ||
			*got.MaxBudget != 2.5 || got.BudgetDuration != "30d" || got.Aliases["fast"] != "gpt-4o-mini" || got.Blocked ||
			got.BudgetResetAt == nil || !got.BudgetResetAt.Equal(exp) || got.ModelMaxBudget["gpt-4o"] == nil {
			t.Fatalf("round trip: %+v", got)
		}
		if tags, _ := got.Metadata["tags"].([]any); len(tags) != 1 || tags[0] != "prod" {
			t.Fatalf("metadata: %v", got.Metadata)
		}
	})
	t.Run("missing records are ErrNotFound", func(t *testing.T) {
		s := mk(t)(t)
		if _, err := s.GetKey(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("get key: %v", err)
		}
		if err := s.DeleteKey(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("delete key: %v", err)
		}
		if _, err := s.GetTeam(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("get team: %v", err)
		}
		if _, err := s.GetUser(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("get user: %v", err)
		}
		if err := s.RekeyKey(ctx, "nope", "x"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("rekey: %v", err)
		}
	})
	t.Run("update keeps spend; spend adds up per key, model, team, user", func(t *testing.T) {
		open := mk(t)
		s := open(t)
		tok := HashKey("sk-spend")
		must(t, s.PutKey(ctx, &Key{Token: tok, Models: []string{}}))
		must(t, s.PutTeam(ctx, &Team{TeamID: "team-a", MaxBudget: ptr(10.0)}))
		must(t, s.PutUser(ctx, &User{UserID: "user-a"}))
		must(t, s.AddSpend(ctx, &Spend{Keys: map[string]float64{tok: 0.25, "gone": 1}, KeyModels: map[string]map[string]float64{tok: {"gpt-4o": 0.25}},
			Teams: map[string]float64{"team-a": 0.25}, Users: map[string]float64{"user-a": 0.25}}))
		// An update written by the management API must not reset spend.
		must(t, s.PutKey(ctx, &Key{Token: tok, KeyAlias: "renamed", Spend: 0, Models: []string{"gpt-4o"}}))
		must(t, s.AddSpend(ctx, &Spend{Keys: map[string]float64{tok: 0.5}, KeyModels: map[string]map[string]float64{tok: {"gpt-4o": 0.5, "claude": 0.1}},
			Teams: map[string]float64{"team-a": 0.5}, Users: map[string]float64{"user-a": 0.5}}))
		must(t, s.PutTeam(ctx, &Team{TeamID: "team-a", TeamAlias: "A"}))
		s.Close()
		s = open(t)
		k, err := s.GetKey(ctx, tok)
		must(t, err)
		if !near(k.Spend, 0.75) || k.KeyAlias != "renamed" || !near(k.ModelSpend["gpt-4o"], 0.75) || !near(k.ModelSpend["claude"], 0.1) {
			t.Fatalf("key spend %v alias %q model spend %v", k.Spend, k.KeyAlias, k.ModelSpend)
		}
		tm, err := s.GetTeam(ctx, "team-a")
		must(t, err)
		if !near(tm.Spend, 0.75) || tm.TeamAlias != "A" {
			t.Fatalf("team %+v", tm)
		}
		u, err := s.GetUser(ctx, "user-a")
		must(t, err)
		if !near(u.Spend, 0.75) {
			t.Fatalf("user spend %v", u.Spend)
		}
		if _, err := s.GetKey(ctx, "gone"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("spend created a key: %v", err)
		}
	})
	t.Run("concurrent spend is never lost", func(t *testing.T) {
		s := mk(t)(t)
		tok := HashKey("sk-conc")
		must(t, s.PutKey(ctx, &Key{Token: tok}))
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := 0; j < 10; j++ {
					if err := s.AddSpend(ctx, &Spend{Keys: map[string]float64{tok: 0.125}}); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		k, err := s.GetKey(ctx, tok)
		must(t, err)
		if !near(k.Spend, 10) {
			t.Fatalf("spend %v, want 10", k.Spend)
		}
	})
	t.Run("a batch retried with the same id is added once", func(t *testing.T) {
		open := mk(t)
		s := open(t)
		tok := HashKey("sk-batch")
		must(t, s.PutKey(ctx, &Key{Token: tok}))
		b := &Spend{BatchID: "b1", Keys: map[string]float64{tok: 0.5}}
		must(t, s.AddSpend(ctx, b))
		must(t, s.AddSpend(ctx, b))
		s.Close()
		s = open(t)
		must(t, s.AddSpend(ctx, b))
		must(t, s.AddSpend(ctx, &Spend{BatchID: "b2", Keys: map[string]float64{tok: 0.25}}))
		k, err := s.GetKey(ctx, tok)
		must(t, err)
		if !near(k.Spend, 0.75) {
			t.Fatalf("spend %v, want 0.75", k.Spend)
		}
	})
	t.Run("a budget reset happens once per period", func(t *testing.T) {
		s := mk(t)(t)
		due := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		next := due.Add(30 * 24 * time.Hour)
		tok := HashKey("sk-reset")
		must(t, s.PutKey(ctx, &Key{Token: tok, BudgetDuration: "30d", BudgetResetAt: &due, Spend: 4}))
		must(t, s.PutTeam(ctx, &Team{TeamID: "tr", BudgetDuration: "30d", BudgetResetAt: &due, Spend: 4}))
		for _, c := range []struct{ kind, id string }{{"key", tok}, {"team", "tr"}} {
			ok, err := s.ResetBudget(ctx, c.kind, c.id, due, next)
			if err != nil || !ok {
				t.Fatalf("%s reset: %v %v", c.kind, ok, err)
			}
			// A second instance due at the same time does nothing.
			if ok, err := s.ResetBudget(ctx, c.kind, c.id, due, next); err != nil || ok {
				t.Fatalf("%s second reset: %v %v", c.kind, ok, err)
			}
		}
		must(t, s.AddSpend(ctx, &Spend{Keys: map[string]float64{tok: 0.5}}))
		k, err := s.GetKey(ctx, tok)
		must(t, err)
		if !near(k.Spend, 0.5) || k.BudgetResetAt == nil || !k.BudgetResetAt.Equal(next) {
			t.Fatalf("after reset: spend %v reset at %v", k.Spend, k.BudgetResetAt)
		}
		tm, err := s.GetTeam(ctx, "tr")
		must(t, err)
		if tm.Spend != 0 || !tm.BudgetResetAt.Equal(next) {
			t.Fatalf("team after reset: %+v", tm)
		}
	})
	t.Run("regenerate moves the key and its spend; delete removes it", func(t *testing.T) {
		s := mk(t)(t)
		old, nw := HashKey("sk-old"), HashKey("sk-new")
		must(t, s.PutKey(ctx, &Key{Token: old, KeyAlias: "x", Spend: 1.5}))
		must(t, s.RekeyKey(ctx, old, nw))
		if _, err := s.GetKey(ctx, old); !errors.Is(err, ErrNotFound) {
			t.Fatalf("old token still there: %v", err)
		}
		k, err := s.GetKey(ctx, nw)
		must(t, err)
		if k.KeyAlias != "x" || !near(k.Spend, 1.5) {
			t.Fatalf("regenerated %+v", k)
		}
		keys, err := s.ListKeys(ctx)
		must(t, err)
		if len(keys) != 1 || keys[0].Token != nw {
			t.Fatalf("list %v", keys)
		}
		must(t, s.DeleteKey(ctx, nw))
		keys, err = s.ListKeys(ctx)
		must(t, err)
		if len(keys) != 0 {
			t.Fatalf("list after delete %v", keys)
		}
	})
	t.Run("teams and users list and delete", func(t *testing.T) {
		s := mk(t)(t)
		must(t, s.PutTeam(ctx, &Team{TeamID: "t2", Models: []string{"m"}, Members: []string{"u"}, MembersWithRoles: []any{map[string]any{"role": "user", "user_id": "u"}}, Blocked: true}))
		must(t, s.PutTeam(ctx, &Team{TeamID: "t1", RPMLimit: ptr[int64](5)}))
		must(t, s.PutUser(ctx, &User{UserID: "u1", UserEmail: "a@b.c", UserRole: "internal_user", Teams: []string{"t1"}}))
		ts, err := s.ListTeams(ctx)
		must(t, err)
		if len(ts) != 2 || ts[0].TeamID != "t1" || *ts[0].RPMLimit != 5 || !ts[1].Blocked || len(ts[1].MembersWithRoles) != 1 {
			t.Fatalf("teams %+v", ts)
		}
		us, err := s.ListUsers(ctx)
		must(t, err)
		if len(us) != 1 || us[0].UserEmail != "a@b.c" || us[0].Teams[0] != "t1" {
			t.Fatalf("users %+v", us)
		}
		must(t, s.DeleteTeam(ctx, "t1"))
		must(t, s.DeleteUser(ctx, "u1"))
		if _, err := s.GetTeam(ctx, "t1"); !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
	})
	t.Run("spend logs are written and read back newest first", func(t *testing.T) {
		open := mk(t)
		s := open(t)
		t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
		must(t, s.AddSpend(ctx, &Spend{Logs: []SpendLog{
			{RequestID: "r1", CallType: "acompletion", APIKey: "k1", Spend: 0.1, TotalTokens: 3, PromptTokens: 1, CompletionTokens: 2,
				StartTime: t0, EndTime: t0.Add(time.Second), Model: "gpt-4o", ModelGroup: "gpt", RequestTags: []string{"a"}, Status: "success"},
			{RequestID: "r2", CallType: "acompletion", APIKey: "k2", Spend: 0.2, StartTime: t0.Add(time.Minute), EndTime: t0.Add(time.Minute)},
			{RequestID: "r3", CallType: "acompletion", APIKey: "k1", Spend: 0.3, StartTime: t0.Add(2 * time.Minute), EndTime: t0.Add(2 * time.Minute)},
		}}))
		s.Close()
		s = open(t)
		logs, err := s.SpendLogs(ctx, "k1", 10)
		must(t, err)
		if len(logs) != 2 || logs[0].RequestID != "r3" || logs[1].RequestID != "r1" || logs[1].TotalTokens != 3 ||
			logs[1].RequestTags[0] != "a" || !logs[1].StartTime.Equal(t0) || logs[1].Status != "success" {
			t.Fatalf("logs %+v", logs)
		}
		all, err := s.SpendLogs(ctx, "", 2)
		must(t, err)
		if len(all) != 2 || all[0].RequestID != "r3" {
			t.Fatalf("all logs %+v", all)
		}
	})
	t.Run("budgets, team memberships and end users: spend kept on update, reset by budget period", func(t *testing.T) {
		open := mk(t)
		s := open(t)
		past := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		must(t, s.PutBudget(ctx, &Budget{BudgetID: "free", MaxBudget: ptr(1.5), SoftBudget: ptr(1.0), RPMLimit: ptr[int64](7),
			BudgetDuration: "1d", BudgetResetAt: &past, CreatedBy: "admin", UpdatedBy: "admin",
			TempBudgetIncrease: ptr(2.5), TempBudgetExpiry: &past}))
		must(t, s.PutMembership(ctx, &Membership{TeamID: "t1", UserID: "u1", BudgetID: "free"}))
		must(t, s.PutEndUser(ctx, &EndUser{UserID: "cust-1", Alias: "Acme", BudgetID: "free"}))
		must(t, s.PutKey(ctx, &Key{Token: "kb", BudgetID: "free", SoftBudgetCooldown: true}))
		must(t, s.AddSpend(ctx, &Spend{Members: map[string]float64{MemberKey("t1", "u1"): 0.5, MemberKey("t1", "nobody"): 9},
			EndUsers: map[string]float64{"cust-1": 0.25, "cust-new": 0.75}}))
		// Updates never reset spend.
		must(t, s.PutMembership(ctx, &Membership{TeamID: "t1", UserID: "u1", BudgetID: "free"}))
		must(t, s.PutEndUser(ctx, &EndUser{UserID: "cust-1", Alias: "Acme Inc", BudgetID: "free", Blocked: true}))
		s.Close()
		s = open(t)
		b, err := s.GetBudget(ctx, "free")
		must(t, err)
		if *b.MaxBudget != 1.5 || *b.SoftBudget != 1.0 || *b.RPMLimit != 7 || b.BudgetDuration != "1d" || b.CreatedBy != "admin" ||
			b.TempBudgetIncrease == nil || *b.TempBudgetIncrease != 2.5 || b.TempBudgetExpiry == nil || !b.TempBudgetExpiry.Equal(past) {
			t.Fatalf("budget %+v", b)
		}
		ms, err := s.ListMemberships(ctx)
		must(t, err)
		if len(ms) != 1 || !near(ms[0].Spend, 0.5) || ms[0].BudgetID != "free" {
			t.Fatalf("memberships %+v", ms)
		}
		eu, err := s.GetEndUser(ctx, "cust-1")
		must(t, err)
		if !near(eu.Spend, 0.25) || eu.Alias != "Acme Inc" || !eu.Blocked {
			t.Fatalf("end user %+v", eu)
		}
		if nu, err := s.GetEndUser(ctx, "cust-new"); err != nil || !near(nu.Spend, 0.75) {
			t.Fatalf("end user created by spend: %+v %v", nu, err)
		}
		if k, err := s.GetKey(ctx, "kb"); err != nil || k.BudgetID != "free" || !k.SoftBudgetCooldown {
			t.Fatalf("key budget_id: %+v %v", k, err)
		}
		now := time.Now().UTC()
		ok, err := s.ResetBudget(ctx, "budget", "free", now, now.Add(24*time.Hour))
		if err != nil || !ok {
			t.Fatalf("reset: %v %v", ok, err)
		}
		if again, _ := s.ResetBudget(ctx, "budget", "free", now, now.Add(24*time.Hour)); again {
			t.Fatal("a budget reset twice in one period")
		}
		eu, _ = s.GetEndUser(ctx, "cust-1")
		ms, _ = s.ListMemberships(ctx)
		if eu.Spend != 0 || ms[0].Spend != 0 {
			t.Fatalf("after reset: end user %v, member %v", eu.Spend, ms[0].Spend)
		}
		must(t, s.DeleteMembership(ctx, "t1", "u1"))
		must(t, s.DeleteEndUser(ctx, "cust-1"))
		must(t, s.DeleteBudget(ctx, "free"))
		if err := s.DeleteBudget(ctx, "free"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
		bs, _ := s.ListBudgets(ctx)
		us, _ := s.ListEndUsers(ctx)
		if len(bs) != 0 || len(us) != 1 {
			t.Fatalf("after deletes: %d budgets, %d end users", len(bs), len(us))
		}
	})
	t.Run("models added at runtime survive reopen", func(t *testing.T) {
		open := mk(t)
		s := open(t)
		must(t, s.PutModel(ctx, &ModelRow{ModelID: "m1", ModelName: "db-model", LitellmParams: map[string]any{"model": "enc-1"},
			ModelInfo: map[string]any{"id": "m1"}, CreatedBy: "admin", UpdatedBy: "admin"}))
		must(t, s.PutModel(ctx, &ModelRow{ModelID: "m2", ModelName: "other", LitellmParams: map[string]any{"model": "enc-2"}, CreatedBy: "a", UpdatedBy: "a"}))
		must(t, s.PutModel(ctx, &ModelRow{ModelID: "m1", ModelName: "db-model-2", LitellmParams: map[string]any{"model": "enc-3"}, CreatedBy: "admin", UpdatedBy: "admin"}))
		must(t, s.DeleteModel(ctx, "m2"))
		if err := s.DeleteModel(ctx, "m2"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
		s.Close()
		s = open(t)
		ms, err := s.ListModels(ctx)
		must(t, err)
		if len(ms) != 1 || ms[0].ModelName != "db-model-2" || ms[0].LitellmParams["model"] != "enc-3" {
			t.Fatalf("models %+v", ms)
		}
	})
	t.Run("master key rotations survive reopen, the newest per replaced key", func(t *testing.T) {
		open := mk(t)
		s := open(t)
		if _, err := s.GetMasterKeyRotation(ctx, HashKey("sk-a")); !errors.Is(err, ErrNotFound) {
			t.Fatalf("before any rotation: %v", err)
		}
		at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		must(t, s.PutMasterKeyRotation(ctx, MasterKeyRotation{From: HashKey("sk-a"), NewKey: "enc-b", RotatedAt: at}, HashKey("sk-b")))
		must(t, s.PutMasterKeyRotation(ctx, MasterKeyRotation{From: HashKey("sk-b"), NewKey: "enc-c", RotatedAt: at}, HashKey("sk-c")))
		must(t, s.PutMasterKeyRotation(ctx, MasterKeyRotation{From: HashKey("sk-a"), NewKey: "enc-b2", RotatedAt: at.Add(time.Hour)}, HashKey("sk-b2")))
		s.Close()
		s = open(t)
		r, err := s.GetMasterKeyRotation(ctx, HashKey("sk-a"))
		must(t, err)
		if r.NewKey != "enc-b2" || !r.RotatedAt.Equal(at.Add(time.Hour)) {
			t.Fatalf("rotation from sk-a: %+v", r)
		}
		if r, err := s.GetMasterKeyRotation(ctx, HashKey("sk-b")); err != nil || r.NewKey != "enc-c" {
			t.Fatalf("rotation from sk-b: %+v %v", r, err)
		}
	})
	t.Run("master key rotations pruned: a rotation back, the newest kept", func(t *testing.T) {
		open := mk(t)
		s := open(t)
		at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		put := func(from, to string, i int) {
			t.Helper()
			must(t, s.PutMasterKeyRotation(ctx, MasterKeyRotation{From: HashKey(from), NewKey: "enc-" + to, RotatedAt: at.Add(time.Duration(i) * time.Minute)}, HashKey(to)))
		}
		has := func(from string) bool {
			t.Helper()
			_, err := s.GetMasterKeyRotation(ctx, HashKey(from))
			if err != nil && !errors.Is(err, ErrNotFound) {
				t.Fatal(err)
			}
			return err == nil
		}
		put("sk-a", "sk-b", 0)
		put("sk-b", "sk-a", 1) // back to sk-a: the record away from sk-a would loop
		if has("sk-a") || !has("sk-b") {
			t.Fatalf("after a rotation back to sk-a: from sk-a %v (want pruned), from sk-b %v", has("sk-a"), has("sk-b"))
		}
		// A chain: k0 → k1 → … ; only the newest MaxMasterKeyRotations stay.
		n := MaxMasterKeyRotations + 4
		for i := range n {
			put(fmt.Sprintf("sk-k%d", i), fmt.Sprintf("sk-k%d", i+1), 2+i)
		}
		s.Close()
		s = open(t)
		for i := range n {
			if want := i >= n-MaxMasterKeyRotations; has(fmt.Sprintf("sk-k%d", i)) != want {
				t.Fatalf("record from k%d kept %v, want %v (the newest %d of %d kept)", i, !want, want, MaxMasterKeyRotations, n)
			}
		}
		if has("sk-b") {
			t.Fatalf("the oldest record (from sk-b) kept beyond %d", MaxMasterKeyRotations)
		}
	})
	t.Run("spend logs by user, team, end user and time", func(t *testing.T) {
		s := mk(t)(t)
		t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
		must(t, s.AddSpend(ctx, &Spend{Logs: []SpendLog{
			{RequestID: "a", CallType: "acompletion", APIKey: "k1", User: "u1", TeamID: "t1", EndUser: "c1", Spend: 0.5, StartTime: t0, EndTime: t0, ModelGroup: "gpt-a"},
			{RequestID: "b", CallType: "acompletion", APIKey: "k2", User: "u2", Spend: 0.25, StartTime: t0.Add(time.Hour), EndTime: t0.Add(time.Hour)},
		}}))
		for _, c := range []struct {
			f    SpendLogFilter
			want string
		}{
			{SpendLogFilter{UserID: "u1"}, "a"}, {SpendLogFilter{TeamID: "t1"}, "a"}, {SpendLogFilter{EndUser: "c1"}, "a"},
			{SpendLogFilter{RequestID: "b"}, "b"}, {SpendLogFilter{Start: t0.Add(time.Minute)}, "b"}, {SpendLogFilter{End: t0.Add(time.Minute)}, "a"},
		} {
			got, err := s.SpendLogsWhere(ctx, c.f)
			if err != nil || len(got) != 1 || got[0].RequestID != c.want {
				t.Fatalf("%+v: %+v %v", c.f, got, err)
			}
		}
		byKey, err := s.SpendBy(ctx, SpendLogFilter{}, "api_key")
		must(t, err)
		byDay, err := s.SpendBy(ctx, SpendLogFilter{Start: t0.Add(time.Minute)}, "day")
		must(t, err)
		total, err := s.SpendBy(ctx, SpendLogFilter{UserID: "u1"}, "")
		must(t, err)
		if len(byKey) != 2 || !near(byKey["k1"], 0.5) || !near(byKey["k2"], 0.25) || len(byDay) != 1 || !near(byDay["2026-11-28"], 0.25) || !near(total[""], 0.5) {
			t.Fatalf("spend by key %v, by day %v, total %v", byKey, byDay, total)
		}
		if byGroup, err := s.SpendBy(ctx, SpendLogFilter{TeamID: "t1"}, "model_group"); err != nil || len(byGroup) != 1 || !near(byGroup["gpt-a"], 0.5) {
			t.Fatalf("spend by model group: %v %v", byGroup, err)
		}
		if byTeam, err := s.SpendBy(ctx, SpendLogFilter{}, "team_id"); err != nil || len(byTeam) != 2 || !near(byTeam["t1"], 0.5) || !near(byTeam[""], 0.25) {
			t.Fatalf("spend by team (\"\" for no team): %v %v", byTeam, err)
		}
		// Per request tag (D78): a log counts for each of its tags.
		must(t, s.AddSpend(ctx, &Spend{Logs: []SpendLog{
			{RequestID: "c", CallType: "acompletion", APIKey: "k1", Spend: 1, StartTime: t0, EndTime: t0, RequestTags: []string{"prod", "app-a"}},
			{RequestID: "d", CallType: "acompletion", APIKey: "k2", Spend: 2, StartTime: t0.Add(2 * time.Hour), EndTime: t0.Add(2 * time.Hour), RequestTags: []string{"prod"}},
		}}))
		tags, err := s.SpendByTag(ctx, SpendLogFilter{})
		must(t, err)
		if len(tags) != 2 || tags["prod"].Count != 2 || !near(tags["prod"].Spend, 3) || tags["app-a"].Count != 1 || !near(tags["app-a"].Spend, 1) {
			t.Fatalf("spend by tag: %+v", tags)
		}
		if tags, err := s.SpendByTag(ctx, SpendLogFilter{Start: t0.Add(time.Minute)}); err != nil || len(tags) != 1 || tags["prod"].Count != 1 || !near(tags["prod"].Spend, 2) {
			t.Fatalf("spend by tag since a time: %+v %v", tags, err)
		}
		if _, err := s.SpendBy(ctx, SpendLogFilter{}, "1; DROP TABLE x"); err == nil {
			t.Fatal("an unknown column was accepted")
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A crash mid-append leaves a torn last line: reopening drops it (that write
// was never acknowledged) and keeps everything before it.
func TestEmbeddedTornLastLine(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenEmbedded(dir)
	must(t, err)
	ctx := context.Background()
	must(t, s.PutKey(ctx, &Key{Token: "a"}))
	must(t, s.AddSpend(ctx, &Spend{Keys: map[string]float64{"a": 1}}))
	s.Close()
	f, err := os.OpenFile(filepath.Join(dir, "state.jsonl"), os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	_, _ = f.WriteString(`{"op":"spend","spend":{"keys":{"a":`)
	f.Close()
	s, err = OpenEmbedded(dir)
	must(t, err)
	k, err := s.GetKey(ctx, "a")
	must(t, err)
	if k.Spend != 1 {
		t.Fatalf("spend %v", k.Spend)
	}
	must(t, s.AddSpend(ctx, &Spend{Keys: map[string]float64{"a": 2}}))
	s.Close()
	s, err = OpenEmbedded(dir)
	must(t, err)
	defer s.Close()
	if k, _ := s.GetKey(ctx, "a"); k.Spend != 3 {
		t.Fatalf("after torn line and a new write: spend %v, want 3", k.Spend)
	}
}

// Compaction rewrites the log as a snapshot without losing spend.
func TestEmbeddedCompaction(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenEmbedded(dir)
	must(t, err)
	s.compact = 5
	ctx := context.Background()
	must(t, s.PutKey(ctx, &Key{Token: "a", KeyAlias: "x"}))
	for i := 0; i < 20; i++ {
		must(t, s.AddSpend(ctx, &Spend{Keys: map[string]float64{"a": 0.5}}))
	}
	s.Close()
	b, err := os.ReadFile(filepath.Join(dir, "state.jsonl"))
	must(t, err)
	if n := len(b); n > 2000 {
		t.Fatalf("log not compacted: %d bytes", n)
	}
	s, err = OpenEmbedded(dir)
	must(t, err)
	defer s.Close()
	k, err := s.GetKey(ctx, "a")
	must(t, err)
	if k.Spend != 10 || k.KeyAlias != "x" {
		t.Fatalf("after compaction %+v", k)
	}
}
