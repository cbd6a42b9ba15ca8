// Package ststest is a fake AWS STS for tests: AssumeRole and
// AssumeRoleWithWebIdentity answer temporary keys chosen per action, and
// each call's form is recorded. It imports only the standard library.
package ststest
