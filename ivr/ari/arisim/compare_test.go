package arisim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

func decodeObj(raw json.RawMessage) map[string]any {
	var m map[string]any
	json.Unmarshal(raw, &m)
	return m
}

func str(m map[string]any, k string) string {
	v, _ := m[k].(string)
	return v
}

func obj(m map[string]any, k string) map[string]any {
	v, _ := m[k].(map[string]any)
	return v
}

func (r *replay) idCompat(rec, sim string) bool {
	if m, ok := r.ids[rec]; ok {
		return m == sim
	}
	if m, ok := r.back[sim]; ok {
		return m == rec
	}
	return true
}

// compatible decides whether a simulator event can stand for a recorded one.
func (r *replay) compatible(rec, sim map[string]any) bool {
	if str(rec, "type") != str(sim, "type") {
		return false
	}
	for _, k := range []string{"dialstatus", "variable", "digit", "destination", "eventname"} {
		if fmt.Sprint(rec[k]) != fmt.Sprint(sim[k]) {
			return false
		}
	}
	if _, rs := rec["soft"]; rs != (sim["soft"] != nil) {
		return false
	}
	switch str(rec, "variable") {
	case "STASISSTATUS":
		if str(rec, "value") != str(sim, "value") {
			return false
		}
	case "BRIDGEPEER":
		if normName(str(rec, "value")) != normName(str(sim, "value")) {
			return false
		}
	}
	for _, k := range []string{"channel", "peer"} {
		rc, sc := obj(rec, k), obj(sim, k)
		if (rc == nil) != (sc == nil) {
			return false
		}
		if rc != nil && (normName(str(rc, "name")) != normName(str(sc, "name")) ||
			str(rc, "state") != str(sc, "state") || !r.idCompat(str(rc, "id"), str(sc, "id"))) {
			return false
		}
	}
	if rp, sp := obj(rec, "playback"), obj(sim, "playback"); rp != nil {
		if sp == nil || str(rp, "media_uri") != str(sp, "media_uri") || str(rp, "state") != str(sp, "state") ||
			!r.idCompat(str(rp, "id"), str(sp, "id")) {
			return false
		}
	}
	if rb, sb := obj(rec, "bridge"), obj(sim, "bridge"); rb != nil {
		if sb == nil || !r.idCompat(str(rb, "id"), str(sb, "id")) {
			return false
		}
	}
	if rr, sr := obj(rec, "recording"), obj(sim, "recording"); rr != nil {
		if sr == nil || str(rr, "name") != str(sr, "name") || str(rr, "state") != str(sr, "state") {
			return false
		}
	}
	if rec["type"] == "RESTResponse" && fmt.Sprint(rec["status_code"]) != fmt.Sprint(sim["status_code"]) {
		return false
	}
	return true
}

func (r *replay) bind(rec, sim map[string]any) {
	for _, k := range []string{"channel", "peer", "bridge", "playback"} {
		if rc, sc := obj(rec, k), obj(sim, k); rc != nil && sc != nil {
			r.mapID(str(rc, "id"), str(sc, "id"))
		}
	}
}

// align matches recorded events (received before l) with the events the
// simulator sent on the same socket, first compatible one first.
func (r *replay) align(name string, k *replaySock, l *tline) {
	k.mu.Lock()
	sims := append([]*simEvent(nil), k.events...)
	k.mu.Unlock()
	for _, re := range r.recEvs[name] {
		if re.matched != nil || (l != nil && !re.line.when().Before(l.when())) {
			continue
		}
		rm := decodeObj(re.raw)
		for _, se := range sims {
			if se.matched {
				continue
			}
			sm := decodeObj(se.raw)
			if r.compatible(rm, sm) {
				se.matched, re.matched = true, se
				r.bind(rm, sm)
				for _, d := range shapeDiff(re.raw, se.raw, str(rm, "type")) {
					r.difff(re.line.Seq, "%s", d)
				}
				break
			}
		}
	}
}

// final reports unmatched events on both sides and per-resource order.
func (r *replay) final() {
	for name, k := range r.sockets {
		k.mu.Lock()
		sims := append([]*simEvent(nil), k.events...)
		k.mu.Unlock()
		pos := map[*simEvent]int{}
		for i, se := range sims {
			pos[se] = i
		}
		last := map[string]int{}
		for _, re := range r.recEvs[name] {
			rm := decodeObj(re.raw)
			if re.matched == nil {
				r.difff(re.line.Seq, "missing %s event on %s: %s", str(rm, "type"), name, summary(rm))
				continue
			}
			for _, key := range resourceKeys(rm) {
				if p, ok := last[key]; ok && pos[re.matched] < p {
					r.difff(re.line.Seq, "%s on %s out of order for %s", str(rm, "type"), name, key)
				}
				last[key] = pos[re.matched]
			}
		}
		for _, se := range sims {
			if !se.matched {
				sm := decodeObj(se.raw)
				r.diffs = append(r.diffs, fmt.Sprintf("%s#extra: unexpected %s event on %s: %s",
					r.name, str(sm, "type"), name, summary(sm)))
			}
		}
	}
}

func resourceKeys(m map[string]any) []string {
	var out []string
	for _, k := range []string{"channel", "peer", "playback", "bridge"} {
		if o := obj(m, k); o != nil {
			out = append(out, k+":"+str(o, "id"))
		}
	}
	if o := obj(m, "recording"); o != nil {
		out = append(out, "recording:"+str(o, "name"))
	}
	return out
}

func summary(m map[string]any) string {
	var parts []string
	for _, k := range []string{"channel", "peer"} {
		if o := obj(m, k); o != nil {
			parts = append(parts, normName(str(o, "name"))+"/"+str(o, "state"))
		}
	}
	for _, k := range []string{"variable", "value", "dialstatus", "cause", "soft", "digit"} {
		if v, ok := m[k]; ok {
			parts = append(parts, fmt.Sprintf("%s=%v", k, v))
		}
	}
	if o := obj(m, "playback"); o != nil {
		parts = append(parts, str(o, "media_uri")+"/"+str(o, "state"))
	}
	return strings.Join(parts, " ")
}

// orderedKeys returns the keys of a JSON object in wire order.
func orderedKeys(raw json.RawMessage) ([]string, map[string]json.RawMessage) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil
	}
	var keys []string
	vals := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return keys, vals
		}
		k := tok.(string)
		var v json.RawMessage
		if dec.Decode(&v) != nil {
			return keys, vals
		}
		keys = append(keys, k)
		vals[k] = v
	}
	return keys, vals
}

func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "none"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

// shapeDiff compares key order, key sets and value types recursively;
// values themselves (ids, timestamps) are volatile and ignored.
func shapeDiff(rec, sim json.RawMessage, path string) []string {
	rk, sk := jsonKind(rec), jsonKind(sim)
	if rk != sk {
		return []string{fmt.Sprintf("%s: type %s, simulator %s", path, rk, sk)}
	}
	switch rk {
	case "object":
		rkeys, rv := orderedKeys(rec)
		skeys, sv := orderedKeys(sim)
		if strings.Join(rkeys, ",") != strings.Join(skeys, ",") {
			return []string{fmt.Sprintf("%s: keys [%s], simulator [%s]", path,
				strings.Join(rkeys, ","), strings.Join(skeys, ","))}
		}
		var out []string
		for _, k := range rkeys {
			out = append(out, shapeDiff(rv[k], sv[k], path+"."+k)...)
		}
		return out
	case "array":
		var ra, sa []json.RawMessage
		json.Unmarshal(rec, &ra)
		json.Unmarshal(sim, &sa)
		if len(ra) != len(sa) {
			return []string{fmt.Sprintf("%s: %d elements, simulator %d", path, len(ra), len(sa))}
		}
		var out []string
		for i := range ra {
			out = append(out, shapeDiff(ra[i], sa[i], fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	}
	return nil
}
