package extproc

import "bytes"

// The stream chunk's searches before D175's one pass (readChunkKeys), kept
// as the reference TestQuickOnePass compares it with.

// quick rewrites the usual chunk with a few searches, no scan: a top-level
// "model" before any nested object, a trailing "usage": null; ok false when
// the chunk needs the scan (a usage object, a "created" of 0, an unusual
// order).
func (st *RespStream) quickRef(d []byte) (out []byte, ok bool) {
	if bytes.Contains(d, errorHint) {
		return nil, false // maybe an error event: the scan reads it
	}
	if bytes.Contains(d, usageKey) {
		if st.strip {
			us := trailingUsageNull(d)
			if us < 0 {
				return nil, false
			}
			st.qs = append(append(st.qs[:0], d[:us]...), '}')
			d = st.qs
		} else if !refHasUsageNull(d) {
			return nil, false
		}
	}
	if refHasCreatedZero(d) {
		return nil, false
	}
	if refHasFinishContentFilter(d) {
		st.Usage.Finish = "content_filter"
	}
	ms, mq := refFindModelKey(d)
	if ms < 0 {
		return d, true
	}
	if ms > 1 && (bytes.IndexByte(d[1:ms], '{') >= 0 || bytes.IndexByte(d[1:ms], '[') >= 0) {
		return nil, false // the model key may be a nested one (two IndexByte: a tenth of IndexAny's time)
	}
	e := strEnd(d, mq)
	if e < 0 {
		return nil, false
	}
	cur := d[mq+1 : e]
	if !st.Usage.HasModel || string(cur) != st.Usage.Model {
		st.Usage.Model, st.Usage.HasModel = string(cur), true
	}
	if st.model != "" && string(cur) != st.model {
		o := append(st.q[:0], d[:mq]...)
		o = appendJSONString(o, st.model)
		o = append(o, d[e+1:]...)
		st.q = o
		return o, true
	}
	return d, true
}

// hasUsageNull finds '"usage"%s*:%s*null'.
func refHasUsageNull(d []byte) bool {
	for i := 0; ; {
		k := bytes.Index(d[i:], usageKey)
		if k < 0 {
			return false
		}
		j := afterKeyColon(d, i+k, `"usage"`)
		if j >= 0 && bytes.HasPrefix(d[j:], []byte("null")) {
			return true
		}
		i += k + 1
	}
}

// hasCreatedZero finds '"created"%s*:%s*0[%s,}]'.
func refHasCreatedZero(d []byte) bool {
	key := []byte(`"created"`)
	for i := 0; ; {
		k := bytes.Index(d[i:], key)
		if k < 0 {
			return false
		}
		j := afterKeyColon(d, i+k, `"created"`)
		if j >= 0 && j+1 < len(d) && d[j] == '0' && (isSpace(d[j+1]) || d[j+1] == ',' || d[j+1] == '}') {
			return true
		}
		i += k + 1
	}
}

// hasFinishContentFilter finds '"finish_reason"%s*:%s*"content_filter"'.
func refHasFinishContentFilter(d []byte) bool {
	key := []byte(`"finish_reason"`)
	for i := 0; ; {
		k := bytes.Index(d[i:], key)
		if k < 0 {
			return false
		}
		j := afterKeyColon(d, i+k, `"finish_reason"`)
		if j >= 0 && bytes.HasPrefix(d[j:], contentFlt) {
			return true
		}
		i += k + 1
	}
}

// findModelKey finds '"model"%s*:%s*"': the match's start and the value's
// opening quote (-1: none).
func refFindModelKey(d []byte) (start, quote int) {
	key := []byte(`"model"`)
	for i := 0; ; {
		k := bytes.Index(d[i:], key)
		if k < 0 {
			return -1, -1
		}
		j := afterKeyColon(d, i+k, `"model"`)
		if j >= 0 && j < len(d) && d[j] == '"' {
			return i + k, j
		}
		i += k + 1
	}
}
