package arisim

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/segmentio/encoding/json"
)

func init() {
	handle("GET", "asterisk/ping", func(s *Sim, r *req) resp {
		return ok(pingJSON{Ping: "pong", Timestamp: formatTS(s.now()), AsteriskID: s.astID})
	})
	handle("GET", "asterisk/info", func(s *Sim, r *req) resp {
		return ok(map[string]any{
			"build":  map[string]any{"os": "Linux", "kernel": "simulated", "options": "", "machine": "x86_64", "date": "", "user": "arisim"},
			"system": map[string]any{"version": "20.20.1", "entity_id": s.astID},
			"config": map[string]any{"name": "", "default_language": "en", "setid": map[string]any{"user": "", "group": ""}},
			"status": map[string]any{"startup_time": formatTS(s.now()), "last_reload_time": formatTS(s.now())},
		})
	})
	handle("GET", "asterisk/variable", func(s *Sim, r *req) resp {
		name := r.p.get("variable")
		if name == "" {
			return fail(errVarRequired)
		}
		return ok(valueJSON{Value: s.globals[name]})
	})
	handle("POST", "asterisk/variable", func(s *Sim, r *req) resp {
		name := r.p.get("variable")
		if name == "" {
			return fail(errVarRequired)
		}
		if v := r.p.get("value"); v == "" {
			delete(s.globals, name)
		} else {
			s.globals[name] = v
		}
		return noContent()
	})
	handle("POST", "events/user/{eventName}", func(s *Sim, r *req) resp {
		appName := r.p.get("application")
		if appName == "" {
			return fail(errMissingApplication)
		}
		a := s.apps[appName]
		if a == nil {
			return fail(errAppNotFound)
		}
		name := r.vars["eventName"]
		user := userEventJSON(r.p.variables(), name)
		body := []kv{{"eventname", name}, {"userevent", user}}
		for _, src := range r.p.list("source") {
			scheme, id, _ := strings.Cut(src, ":")
			switch scheme {
			case "channel":
				ch := s.channels[id]
				if ch == nil {
					return fail(errNoEventSource)
				}
				body = append(body, kv{"channel", ch.json()})
			case "bridge":
				b := s.bridges[id]
				if b == nil {
					return fail(errNoEventSource)
				}
				body = append(body, kv{"bridge", b.json()})
			default:
				return fail(errBadSourceScheme)
			}
		}
		s.deliver(a, &ev{typ: "ChannelUserevent", body: body, ts: s.now()})
		return noContent()
	})
	handle("GET", "api-docs/{file}", func(s *Sim, r *req) resp {
		name := r.vars["file"]
		if s.opts.APIDocsDir == "" || strings.Contains(name, "..") {
			return fail(errNoResource)
		}
		data, err := os.ReadFile(filepath.Join(s.opts.APIDocsDir, name))
		if err != nil {
			return fail(errNoResource)
		}
		return resp{status: 200, raw: data, ctype: "application/json"}
	})
}

// userEventJSON renders the userevent object: the variables, then
// eventname, as Asterisk orders them.
func userEventJSON(vars map[string]string, name string) json.RawMessage {
	b := []byte{'{'}
	for _, k := range sortedKeys(vars) {
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(vars[k])
		b = append(append(append(append(b, kb...), ':'), vb...), ',')
	}
	nb, _ := json.Marshal(name)
	b = append(append(append(b, `"eventname":`...), nb...), '}')
	return b
}
