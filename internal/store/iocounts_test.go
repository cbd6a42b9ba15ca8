package store

import (
	"context"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/store/redistest"
)

// The counters of D180 (itpm, otpm, rpd, tpd): a Record adds its input and
// output tokens to the minute, its try and tokens to the day that starts at
// DayStart; Read returns them only when asked, on the memory store and
// through Redis to another instance; the minute's end clears the first two,
// not the day's.
func TestIOAndDailyCounters(t *testing.T) {
	addr, _ := redistest.Start(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 12, 30, 0, 0, time.UTC)
	clk := func() time.Time { return now }
	mem := NewMemory(clk)
	// Two seconds' timeout: a loaded host must not turn a write into a miss.
	a, b := newRedisStoreTimeout(t, addr, clk, nil, 2*time.Second), newRedisStoreTimeout(t, addr, clk, nil, 2*time.Second)
	opt := ReadOptions{IO: true, DayStart: func(id string) (time.Duration, bool) { return 13 * time.Hour, id == "d" }}
	rec := Record{DeploymentID: "d", Tokens: 30, InputTokens: 20, OutputTokens: 10, Daily: true, DayStart: 13 * time.Hour}
	for _, st := range []Store{mem, a} {
		for range 2 {
			if _, err := st.Record(ctx, rec); err != nil {
				t.Fatal(err)
			}
		}
		// A failure (its own script in Redis) counts its try.
		if _, err := st.Record(ctx, Record{DeploymentID: "d", Daily: true, DayStart: 13 * time.Hour, FailureClass: "any", CooldownAfter: -1}); err != nil {
			t.Fatal(err)
		}
	}
	a.waitTPM() // the tokens go to Redis in batches, off the Record call
	want := DeploymentState{TPM: 60, ITPM: 40, OTPM: 20, RPD: 3, TPD: 60}
	for name, st := range map[string]Store{"memory": mem, "redis (the other instance)": b} {
		got, err := st.Read(ctx, []string{"d"}, opt)
		if err != nil {
			t.Fatal(err)
		}
		if g := got["d"]; g.TPM != want.TPM || g.ITPM != want.ITPM || g.OTPM != want.OTPM || g.RPD != want.RPD || g.TPD != want.TPD {
			t.Errorf("%s: %+v, want %+v", name, g, want)
		}
		plain, _ := st.Read(ctx, []string{"d"}, ReadOptions{})
		if g := plain["d"]; g.ITPM != 0 || g.RPD != 0 {
			t.Errorf("%s without the options: %+v", name, g)
		}
	}
	now = now.Add(time.Minute)
	for name, st := range map[string]Store{"memory": mem, "redis": b} {
		got, _ := st.Read(ctx, []string{"d"}, opt)
		if g := got["d"]; g.ITPM != 0 || g.OTPM != 0 || g.RPD != 3 || g.TPD != 60 {
			t.Errorf("%s, a minute later: %+v, want the day's counts only", name, g)
		}
	}
	now = now.Add(30 * time.Minute) // 13:01: the day that started at 13:00
	got, _ := b.Read(ctx, []string{"d"}, opt)
	if g := got["d"]; g.RPD != 0 || g.TPD != 0 {
		t.Errorf("after the daily reset: %+v", g)
	}
}
