package extproc

import (
	"testing"
	"time"
)

// TestModuleKeyLeases (D83): a key's counter the module has no window for
// is asked for (reported as wanted until a table holds it) and its request
// handed on; a lease is charged never past its grant; at the limit for
// every instance the charge says so (a refusal); a spent lease with room
// asks for a top-up; a refund gives one back; tpm is the view's.
func TestModuleKeyLeases(t *testing.T) {
	l, now, minute := testLimits()
	const id = "key:abc"
	l.Apply(&LeaseTable{Deps: map[string]LeaseDep{}})
	if ok, at, _ := l.ChargeRPM(id, 10); ok || at {
		t.Fatal("charged a counter without a window")
	}
	if _, ok := l.TPM("key:tpm"); ok {
		t.Fatal("tpm of a counter not in the view")
	}
	u := l.Used()
	if !u.Deps[id].Want || !u.Deps["key:tpm"].Want || u.Deps[id].Minute != minute {
		t.Fatalf("wants not reported: %+v", u.Deps)
	}
	l.Apply(&LeaseTable{Deps: map[string]LeaseDep{id: {Minute: minute, Limit: 10, Granted: 2, RPM: 6, TPM: 40}}})
	if _, ok := l.Used().Deps["key:tpm"]; !ok {
		t.Error("a want dropped before a table held its counter")
	}
	if _, ok := l.Used().Deps[id]; !ok || l.Used().Deps[id].Want {
		t.Errorf("a window held: %+v, want its use without a want", l.Used().Deps[id])
	}
	ok, _, rpm := l.ChargeRPM(id, 10)
	if !ok || rpm != 5 {
		t.Fatalf("first charge: %v, rpm %d; want ok with 5 counted (6 in the store, 1 of the lease unused)", ok, rpm)
	}
	if ok, _, rpm = l.ChargeRPM(id, 10); !ok || rpm != 6 {
		t.Fatalf("second charge: %v, rpm %d", ok, rpm)
	}
	if ok, at, _ := l.ChargeRPM(id, 10); ok || at || !l.Used().Deps[id].Want {
		t.Fatal("a spent lease with room in the store: want a hand-on and a top-up asked for")
	}
	l.RefundRPM(id)
	if ok, _, _ := l.ChargeRPM(id, 10); !ok {
		t.Fatal("a refunded request not charged again")
	}
	if u := l.Used().Deps[id].Used; u != 2 {
		t.Errorf("used %d, want 2", u)
	}
	if ok, _, _ := l.ChargeRPM(id, 20); ok {
		t.Error("charged under another limit than the window's")
	}
	l.Apply(&LeaseTable{Deps: map[string]LeaseDep{id: {Minute: minute, Limit: 10, Granted: 2, RPM: 10, TPM: 40}}})
	if ok, at, rpm := l.ChargeRPM(id, 10); ok || !at || rpm != 10 {
		t.Fatalf("every instance at the limit: ok %v, at %v, rpm %d", ok, at, rpm)
	}
	if n, ok := l.TPM(id); !ok || n != 40 {
		t.Errorf("tpm %d %v, want the view's 40", n, ok)
	}
	*now = now.Add(2 * time.Second) // the view is stale
	if _, ok := l.TPM(id); ok {
		t.Error("a stale view read")
	}
}
