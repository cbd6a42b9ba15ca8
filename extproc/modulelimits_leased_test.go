package extproc

import "testing"

// TestModuleLeaseSlowTry (D77): a try that is not fast is charged to its
// deployment's lease while allowance is left, never past it, and never to
// a window without a limit; the attempt filter believes the module's mark
// only in module-upstream mode.
func TestModuleLeaseSlowTry(t *testing.T) {
	l, _, minute := testLimits()
	l.Apply(&LeaseTable{Deps: map[string]LeaseDep{"d": {Minute: minute, Limit: 100, Granted: 2}, "u": {Minute: minute, TPM: 5}}})
	paid := 0
	for range 3 {
		if l.ChargeSlowTry("d") {
			paid++
		}
	}
	if paid != 2 {
		t.Fatalf("a lease of 2 paid %d of 3 tries", paid)
	}
	if l.ChargeSlowTry("u") || l.ChargeSlowTry("none") {
		t.Fatal("a try was charged to a window without a lease")
	}
	if u := l.Used().Deps["d"]; u.Used != 2 {
		t.Errorf("reported %+v, want 2 used", u)
	}
	s := &Server{}
	h := map[string]string{LeasedTryHeader: "1"}
	if s.leasedTry(h) {
		t.Error("the mark believed without the module as every try's upstream filter")
	}
	s.ModuleUpstream = true
	if !s.leasedTry(h) || s.leasedTry(map[string]string{}) {
		t.Error("module-upstream mode: the mark not read")
	}
}
