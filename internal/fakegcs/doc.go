// Package fakegcs is the tests' Google Cloud Storage: the JSON API's media
// upload (POST /upload/storage/v1/b/{bucket}/o?uploadType=media&name=…)
// answered with the object resource Cloud Storage returns, and Google's
// OAuth token endpoint for a service account's JWT-bearer grant (POST
// /token), which checks the assertion's RS256 signature, issuer, audience
// and scope and issues access tokens the upload then requires as
// "Authorization: Bearer". It holds the objects in memory and records the
// malformed or unauthorised requests it refused. The gcs_bucket logging
// callback's unit tests (internal/callbacks) and end-to-end tests (e2e)
// share it. It imports the standard library only.
package fakegcs
