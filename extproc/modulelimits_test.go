package extproc

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/model"
)

// testLimits is an empty lease table on a fixed clock (*now, which a test
// moves), 10 s into the UTC minute it returns.
func testLimits() (l *ModuleLimits, now *time.Time, minute int64) {
	t := time.Date(2026, 11, 28, 12, 0, 10, 0, time.UTC)
	l = NewModuleLimits()
	l.now = func() time.Time { return t }
	return l, &t, t.Unix() / 60
}

// TestModuleLimitsLease (D67): the module never charges more than the
// gateway granted in a window, concurrently; a grant only raises the
// allowance; a new minute or another limit is a new window; a deployment
// whose lease is spent blocks its groups unless it is at its limit for
// every instance (then the plan leaves it out); a stale view blocks.
func TestModuleLimitsLease(t *testing.T) {
	l, now, minute := testLimits()
	d := &model.Deployment{ID: "d"}
	d.Limits.RPM = 1000
	l.Apply(&LeaseTable{Deps: map[string]LeaseDep{"d": {Minute: minute, Limit: 1000, Granted: 50, RPM: 50}}})

	var ok atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if l.Charge("d") {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 50 {
		t.Fatalf("160 concurrent charges on a grant of 50 took %d", ok.Load())
	}
	if u := l.Used().Deps["d"]; u.Used != 50 || u.Minute != minute || u.Limit != 1000 {
		t.Errorf("used %+v", u)
	}
	// Spent, the store's counter under the limit: a top-up is due, the
	// module hands the group on.
	if l.serves(d, false, false, *now) {
		t.Errorf("a spent lease with room in the store serves")
	}
	// A lower grant (an older table) takes nothing back; a higher one adds.
	l.Apply(&LeaseTable{Deps: map[string]LeaseDep{"d": {Minute: minute, Limit: 1000, Granted: 40, RPM: 50}}})
	if l.Charge("d") {
		t.Errorf("charged beyond the grant after an older table")
	}
	l.Apply(&LeaseTable{Deps: map[string]LeaseDep{"d": {Minute: minute, Limit: 1000, Granted: 52, RPM: 52}}})
	n := 0
	for range 3 {
		if l.Charge("d") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("a grant of 2 more allowed %d", n)
	}
	// At its limit for every instance: served (the plan leaves it out).
	l.Apply(&LeaseTable{Deps: map[string]LeaseDep{"d": {Minute: minute, Limit: 1000, Granted: 52, RPM: 1000}}})
	if !l.serves(d, false, false, *now) {
		t.Errorf("a deployment at its limit everywhere keeps its groups from the module")
	}
	if st, _ := l.state("d", *now); st.RPM+1 <= 1000 {
		t.Errorf("the plan's rpm %d does not leave the deployment out", st.RPM)
	}
	// Another limit (a reload): a new window, nothing granted yet.
	l.Apply(&LeaseTable{Deps: map[string]LeaseDep{"d": {Minute: minute, Limit: 500, RPM: 60}}})
	if l.Charge("d") {
		t.Errorf("charged a new window before its grant")
	}
	// The next minute: the window is stale until the gateway's table.
	*now = now.Add(time.Minute)
	l.Apply(&LeaseTable{Deps: map[string]LeaseDep{"d": {Minute: minute, Limit: 500, Granted: 10}}})
	if l.Charge("d") || l.serves(d, false, false, *now) {
		t.Errorf("a window of the minute before serves")
	}
	l.Apply(&LeaseTable{Deps: map[string]LeaseDep{"d": {Minute: minute + 1, Limit: 1000, Granted: 3, TPM: 7}}})
	if !l.serves(d, false, false, *now) || !l.Charge("d") {
		t.Errorf("this minute's grant does not serve")
	}
	l.AddTokens("d", 20)
	if st, _ := l.state("d", *now); st.TPM != 20 {
		t.Errorf("tpm %d, want the module's own 20 over the view's 7", st.TPM)
	}
	// A view older than leaseFresh blocks limited and usage-routed groups.
	*now = now.Add(2 * leaseFresh)
	if l.serves(d, false, false, *now) || l.serves(&model.Deployment{ID: "u"}, true, false, *now) {
		t.Errorf("a stale view serves")
	}
	// Small limits are leased too (D72): a window of rpm 5 with a lease
	// of 1 serves once, then hands on until the gateway tops it up.
	small := &model.Deployment{ID: "s"}
	small.Limits.RPM = 5
	l.Apply(&LeaseTable{Deps: map[string]LeaseDep{"s": {Minute: now.Unix() / 60, Limit: 5, Granted: 1, RPM: 1}}})
	if !l.serves(small, false, false, *now) || !l.Charge("s") {
		t.Errorf("rpm 5 with a lease of 1 does not serve")
	}
	if l.serves(small, false, false, *now) || l.Charge("s") {
		t.Errorf("rpm 5: a spent lease serves")
	}
	// A window of rpm 5 without a lease plans (leaseFirst asks for one
	// when the plan is fast).
	l.Apply(&LeaseTable{Deps: map[string]LeaseDep{"s2": {Minute: now.Unix() / 60, Limit: 5}}})
	if !l.serves(&model.Deployment{ID: "s2", Limits: small.Limits}, false, false, *now) {
		t.Errorf("rpm 5 without a lease yet does not plan")
	}
}
