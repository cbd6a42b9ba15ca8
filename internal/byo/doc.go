// Package byo renders the gateway for an Envoy the user already runs
// ("bring your own Envoy"): a complete static bootstrap, fragments to merge
// into an existing listener (and the merge itself), and the Istio
// EnvoyFilter and Envoy Gateway policy sets.
//
// Everything starts from xds.Build, the same compile output the control
// plane serves; this package only rearranges it (inline route
// configuration, filters disabled by default and enabled per route, local
// replies scoped to the gateway's routes). It reads no file itself: the
// caller passes the user's bootstrap as bytes.
package byo
