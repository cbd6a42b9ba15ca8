package filesapi

import (
	"net/url"
	"strings"
)

// Kind is a Files or Batches API operation.
type Kind int

// The operations, each LiteLLM's route type.
const (
	FileCreate  Kind = iota + 1 // POST /v1/files (acreate_file)
	FileList                    // GET /v1/files (alist_files)
	FileGet                     // GET /v1/files/{id} (afile_retrieve)
	FileDelete                  // DELETE /v1/files/{id} (afile_delete)
	FileContent                 // GET /v1/files/{id}/content (afile_content)
	BatchCreate                 // POST /v1/batches (acreate_batch)
	BatchList                   // GET /v1/batches (alist_batches)
	BatchGet                    // GET /v1/batches/{id} (aretrieve_batch)
	BatchCancel                 // POST /v1/batches/{id}/cancel (acancel_batch)
)

// CallType is LiteLLM's name of the operation.
func (k Kind) CallType() string {
	return [...]string{"", "acreate_file", "alist_files", "afile_retrieve", "afile_delete", "afile_content",
		"acreate_batch", "alist_batches", "aretrieve_batch", "acancel_batch"}[k]
}

// Op is one request to a Files or Batches route.
type Op struct {
	// Kind is 0 when the path is a route but not with this method.
	Kind Kind
	// Allow is the route's method, for a 405.
	Allow string
	// ID is the file or batch id of a by-id route (unescaped).
	ID string
	// PathProvider is {provider} of /{provider}/v1/files….
	PathProvider string
}

// Parse classifies a request path (its query ignored) as LiteLLM's proxy
// serves them: /v1/files, /files and /{provider}/v1/files, the same for
// /batches, each with their by-id routes. ok is false for any other path.
func Parse(method, rawPath string) (op Op, ok bool) {
	p := rawPath
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	p = strings.TrimRight(p, "/")
	rest, ok := strings.CutPrefix(p, "/v1")
	if !ok || !strings.HasPrefix(rest, "/files") && !strings.HasPrefix(rest, "/batches") {
		rest = p
		if !strings.HasPrefix(rest, "/files") && !strings.HasPrefix(rest, "/batches") {
			// /{provider}/v1/files…
			prov, tail, found := strings.Cut(strings.TrimPrefix(p, "/"), "/")
			if !found || prov == "" {
				return Op{}, false
			}
			tail, ok = strings.CutPrefix("/"+tail, "/v1")
			if !ok {
				return Op{}, false
			}
			op.PathProvider, rest = prov, tail
		}
	}
	var coll string
	switch {
	case rest == "/files" || strings.HasPrefix(rest, "/files/"):
		coll, rest = "files", strings.TrimPrefix(rest, "/files")
	case rest == "/batches" || strings.HasPrefix(rest, "/batches/"):
		coll, rest = "batches", strings.TrimPrefix(rest, "/batches")
	default:
		return Op{}, false
	}
	rest = strings.TrimPrefix(rest, "/")
	var sub string
	if coll == "files" && strings.HasSuffix(rest, "/content") {
		rest, sub = strings.TrimSuffix(rest, "/content"), "content"
	} else if coll == "batches" && strings.HasSuffix(rest, "/cancel") {
		rest, sub = strings.TrimSuffix(rest, "/cancel"), "cancel"
	}
	if rest != "" {
		id, err := url.PathUnescape(rest)
		if err != nil || id == "" {
			return Op{}, false
		}
		op.ID = id
	}
	want := func(k Kind, m string) {
		op.Allow = m
		if method == m {
			op.Kind = k
		}
	}
	switch {
	case coll == "files" && op.ID == "":
		op.Allow = "GET, POST"
		switch method {
		case "POST":
			op.Kind = FileCreate
		case "GET":
			op.Kind = FileList
		}
	case coll == "files" && sub == "content":
		want(FileContent, "GET")
	case coll == "files":
		op.Allow = "GET, DELETE"
		switch method {
		case "GET":
			op.Kind = FileGet
		case "DELETE":
			op.Kind = FileDelete
		}
	case coll == "batches" && op.ID == "":
		op.Allow = "GET, POST"
		switch method {
		case "POST":
			op.Kind = BatchCreate
		case "GET":
			op.Kind = BatchList
		}
	case sub == "cancel":
		want(BatchCancel, "POST")
	default:
		want(BatchGet, "GET")
	}
	return op, true
}
