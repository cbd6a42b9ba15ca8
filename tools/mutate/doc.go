// Command mutate plants known bugs in a copy of the tree, one at a time,
// runs the fast tests that should catch each, and reports which survive
// (`make mutate`, docs/testing.md). It never writes to the checkout it is
// run from: the copy is a temporary directory removed at the end.
//
// It may import only the standard library; it is a tool, not part of the
// gateway.
package main
