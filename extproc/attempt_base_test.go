package extproc

import (
	"testing"

	"github.com/llmgate/llmgate/internal/upstream"
)

// TestTryBaseKept (D116): a deployment's api_base is parsed once for all its
// tries (it was parsed on every try), with upstream.For's result.
func TestTryBaseKept(t *testing.T) {
	m, cluster, ctx := moduleTranslatedFixture(t)
	a, ok := m.NewModuleTry(cluster, 1, ctx)
	if !ok {
		t.Fatal("no try")
	}
	v, ok := m.st.tryBases.Load(a.t.d)
	if !ok {
		t.Fatal("the deployment's api_base was not kept")
	}
	kept := v.(*tryBase)
	want, err := upstream.For(a.t.d)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := m.NewModuleTry(cluster, 2, ctx)
	if kept.base != want || a.t.base != want || b.t.base != want {
		t.Fatalf("kept %+v, tries %+v %+v; upstream.For %+v", kept.base, a.t.base, b.t.base, want)
	}
	if a.t.target.APIBase != "http://a.test/dep-1" || b.t.target.APIBase != a.t.target.APIBase {
		t.Fatalf("targets' api_base %q %q", a.t.target.APIBase, b.t.target.APIBase)
	}
	if got, _ := m.st.tryBase(a.t.d, false); got != kept {
		t.Fatal("the api_base was parsed again")
	}
	if got, _ := m.st.tryBase(a.t.d, true); got == kept {
		t.Fatal("a copied deployment took the kept api_base")
	}
}
