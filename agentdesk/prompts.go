package agentdesk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/flow"
	"github.com/foshan-hotline/hotline/ivr/prompts"
	"github.com/foshan-hotline/hotline/postgres"
)

// PromptOptions are the IVR's prompts as supervisors hear and change them.
type PromptOptions struct {
	// Dir is the sounds directory (ivr.sounds_dir): the manifest, the shipped files, and the
	// changed prompts' files under <lang>/_override. "" answers /api/prompts with 404.
	Dir string
	// Espeak and Sox name the tools of the rendering pipeline; "" means espeak-ng and sox
	// from PATH. Without espeak-ng texts cannot be changed; without sox neither texts nor
	// uploads.
	Espeak, Sox string
}

// Limits of an uploaded prompt recording.
const (
	// MaxPromptUpload is the largest uploaded file accepted.
	MaxPromptUpload = 8 << 20
	// MaxPromptLength is the longest a prompt may play.
	MaxPromptLength = 60 * time.Second
)

// promptRoutes are the prompts of the IVR: their texts, their audio, and changes to them.
func (s *Server) promptRoutes() []route {
	return []route{
		{"GET /api/prompts", hotline.RoleSupervisor, s.listPrompts},
		{"GET /api/prompts/audio", hotline.RoleSupervisor, s.promptAudio},
		{"GET /api/prompts/history", hotline.RoleSupervisor, s.promptHistory},
		{"POST /api/prompts/text", hotline.RoleSupervisor, s.changePromptText},
		{"POST /api/prompts/upload", hotline.RoleSupervisor, s.uploadPrompt},
		{"POST /api/prompts/revert", hotline.RoleSupervisor, s.revertPrompt},
		{"POST /api/prompts/publish", hotline.RoleSupervisor, s.publishPromptFlows},
	}
}

// languageNames are the prompt languages as the desk names them.
var languageNames = map[string]string{"zh": "普通话", "yue": "粤语", "en": "英语"}

// promptTools says what the server can do with prompts.
type promptTools struct {
	Render bool   `json:"render"` // espeak-ng and sox: a changed text is spoken
	Upload bool   `json:"upload"` // sox: an uploaded recording is converted
	Reason string `json:"reason,omitempty"`
}

func (s *Server) promptTools() (promptTools, *prompts.Renderer, string) {
	sox, hasSox := prompts.HasSox(s.o.Prompts.Sox)
	r, err := prompts.NewRenderer(s.o.Prompts.Espeak, s.o.Prompts.Sox)
	t := promptTools{Render: err == nil, Upload: hasSox}
	switch {
	case !hasSox:
		t.Reason = "服务器未安装 espeak-ng 和 sox：不能合成新文本，也不能上传录音"
	case err != nil:
		t.Reason = "服务器未安装 espeak-ng：不能合成新文本，可上传录音"
	}
	return t, r, sox
}

// manifest loads the sounds directory's manifest.
func (s *Server) manifest() (*prompts.Manifest, error) {
	if s.o.Prompts.Dir == "" {
		return nil, &problem{err: hotline.ErrNotFound, reason: "this server has no prompts"}
	}
	return prompts.Load(s.o.Prompts.Dir)
}

func (s *Server) promptFiles() *postgres.PromptFiles {
	return &postgres.PromptFiles{DB: s.o.DB, Dir: s.o.Prompts.Dir}
}

// promptRevision is a revision as the list shows it: Pending names the flows whose
// published version does not play it yet.
type promptRevision struct {
	postgres.PromptOverride
	Pending []string `json:"pending"`
}

// promptEntry is one prompt of GET /api/prompts.
type promptEntry struct {
	ID        string                    `json:"id"`
	Tone      bool                      `json:"tone"`
	Texts     map[string]string         `json:"texts"`   // as callers hear it now or after publishing
	Shipped   map[string]string         `json:"shipped"` // the manifest's
	Revisions map[string]promptRevision `json:"revisions"`
	Flows     []string                  `json:"flows"` // the published flows that name it
}

type promptLanguage struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	Required bool   `json:"required"`
}

// flowPrompts returns, by prompt id, the published flows whose nodes name it, and the mark
// of prompt revisions of each published flow.
func (s *Server) flowPrompts(ctx context.Context) (map[string][]string, map[string]int64, error) {
	active, err := postgres.ActiveFlows(ctx, s.o.DB)
	if err != nil {
		return nil, nil, err
	}
	named := map[string][]string{}
	marks := map[string]int64{}
	for _, v := range active {
		marks[v.Flow] = v.PromptsUpto
		f, err := flow.Parse(v.Flow+".yaml", []byte(v.Source), flow.Options{})
		if f == nil {
			s.log.Warn("prompts of a published flow", "flow", v.Flow, "err", err)
			continue
		}
		for _, n := range f.Nodes {
			for _, list := range n.PromptLists() {
				for _, it := range list {
					if it.Kind == flow.ItemPrompt && !slices.Contains(named[it.ID], v.Flow) {
						named[it.ID] = append(named[it.ID], v.Flow)
					}
				}
			}
		}
	}
	return named, marks, nil
}

// pendingFlows are the flows that do not play revision id of a prompt named by flows (every
// flow when none names it: the fragments of spoken values are played by any).
func pendingFlows(id int64, flows []string, marks map[string]int64) []string {
	out := []string{}
	for name, upto := range marks {
		if upto < id && (len(flows) == 0 || slices.Contains(flows, name)) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// listPrompts is GET /api/prompts: every prompt of the manifest with its text per language,
// its changed revisions and the flows that name it, and what the server can render.
func (s *Server) listPrompts(w http.ResponseWriter, r *http.Request, _ *postgres.Session) error {
	m, err := s.manifest()
	if err != nil {
		return err
	}
	ctx := r.Context()
	named, marks, err := s.flowPrompts(ctx)
	if err != nil {
		return err
	}
	revs, err := postgres.CurrentPromptOverrides(ctx, s.o.DB)
	if err != nil {
		return err
	}
	byPrompt := map[string][]postgres.PromptOverride{}
	for _, o := range revs {
		byPrompt[o.Prompt] = append(byPrompt[o.Prompt], o)
	}
	langs := make([]promptLanguage, len(m.Languages))
	for i, l := range m.Languages {
		langs[i] = promptLanguage{Code: l.Code, Name: languageNames[l.Code], Required: l.Required}
		if langs[i].Name == "" {
			langs[i].Name = l.Code
		}
	}
	out := make([]promptEntry, 0, len(m.IDs()))
	for _, id := range m.IDs() {
		p, _ := m.Prompt(id)
		e := promptEntry{ID: id, Tone: p.Tone != nil, Texts: map[string]string{}, Shipped: map[string]string{},
			Revisions: map[string]promptRevision{}, Flows: named[id]}
		if e.Flows == nil {
			e.Flows = []string{}
		}
		for l, t := range p.Texts {
			e.Texts[l], e.Shipped[l] = t, t
		}
		for _, o := range byPrompt[id] {
			e.Revisions[o.Lang] = promptRevision{PromptOverride: o, Pending: pendingFlows(o.ID, named[id], marks)}
			if o.Source != postgres.PromptShipped && o.Text != "" {
				e.Texts[o.Lang] = o.Text
			}
		}
		out = append(out, e)
	}
	tools, _, _ := s.promptTools()
	writeJSON(w, http.StatusOK, map[string]any{"languages": langs, "tools": tools, "prompts": out,
		"max_upload_bytes": MaxPromptUpload, "max_seconds": int(MaxPromptLength / time.Second)})
	return nil
}

// promptParams reads and checks prompt and lang against the manifest.
func promptParams(m *prompts.Manifest, id, lang string) (prompts.Language, error) {
	if _, ok := m.Prompt(id); !ok {
		return prompts.Language{}, &problem{err: hotline.ErrNotFound, reason: fmt.Sprintf("no prompt %q in the manifest", id)}
	}
	l, ok := m.Language(lang)
	if !ok {
		return prompts.Language{}, badRequest("no prompt language %q", lang)
	}
	if !m.Has(id, lang) {
		return prompts.Language{}, badRequest("prompt %s has no %s version (the IVR plays its Mandarin one)", id, lang)
	}
	return l, nil
}

// promptAudio is GET /api/prompts/audio?prompt=&lang=[&revision=]: the WAV callers hear
// (the newest revision, else the shipped file), or a given revision's (0: the shipped file).
// Prompts hold no one's personal data, so listening is not audited; changes are.
func (s *Server) promptAudio(w http.ResponseWriter, r *http.Request, _ *postgres.Session) error {
	m, err := s.manifest()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	id, lang := q.Get("prompt"), q.Get("lang")
	if _, err := promptParams(m, id, lang); err != nil {
		return err
	}
	ctx := r.Context()
	var audio []byte
	rev := int64(-1)
	if v := q.Get("revision"); v != "" {
		if rev, err = strconv.ParseInt(v, 10, 64); err != nil || rev < 0 {
			return badRequest("revision must be a revision id, or 0 for the shipped file")
		}
	} else {
		revs, err := postgres.CurrentPromptOverrides(ctx, s.o.DB)
		if err != nil {
			return err
		}
		rev = 0
		for _, o := range revs {
			if o.Prompt == id && o.Lang == lang && o.Source != postgres.PromptShipped {
				rev = o.ID
			}
		}
	}
	if rev > 0 {
		o, err := postgres.PromptOverrideByID(ctx, s.o.DB, rev)
		if err != nil {
			return err
		}
		if o.Prompt != id || o.Lang != lang {
			return &problem{err: hotline.ErrNotFound, reason: "that revision is of another prompt"}
		}
		if audio, err = postgres.PromptOverrideAudio(ctx, s.o.DB, rev); err != nil {
			return err
		}
	} else {
		audio, err = os.ReadFile(filepath.Join(s.o.Prompts.Dir, lang, filepath.FromSlash(id)+".wav"))
		if errors.Is(err, os.ErrNotExist) {
			return &problem{err: hotline.ErrNotFound, reason: "the shipped file is missing (run hotline sounds build)"}
		}
		if err != nil {
			return err
		}
	}
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Cache-Control", "private, no-cache")
	http.ServeContent(w, r, "prompt.wav", time.Time{}, bytes.NewReader(audio))
	return nil
}

// promptHistory is GET /api/prompts/history?prompt=: its revisions, newest first.
func (s *Server) promptHistory(w http.ResponseWriter, r *http.Request, _ *postgres.Session) error {
	m, err := s.manifest()
	if err != nil {
		return err
	}
	id := r.URL.Query().Get("prompt")
	if _, ok := m.Prompt(id); !ok {
		return &problem{err: hotline.ErrNotFound, reason: fmt.Sprintf("no prompt %q in the manifest", id)}
	}
	revs, err := postgres.PromptOverrideHistory(r.Context(), s.o.DB, id)
	if err != nil {
		return err
	}
	if revs == nil {
		revs = []postgres.PromptOverride{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"prompt": id, "revisions": revs})
	return nil
}

// promptTextRequest is the body of POST /api/prompts/text.
type promptTextRequest struct {
	Prompt string `json:"prompt"`
	Lang   string `json:"lang"`
	Text   string `json:"text"`
}

// changePromptText is POST /api/prompts/text {prompt, lang, text}: the text is spoken by the
// pipeline of hotline sounds build and saved as the prompt's new revision, audited.
func (s *Server) changePromptText(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	var req promptTextRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	m, err := s.manifest()
	if err != nil {
		return err
	}
	lang, err := promptParams(m, req.Prompt, req.Lang)
	if err != nil {
		return err
	}
	if p, _ := m.Prompt(req.Prompt); p.Tone != nil {
		return badRequest("prompt %s is a tone, not speech: upload a recording instead", req.Prompt)
	}
	if why := prompts.ValidText(req.Text); why != "" {
		return badRequest("text: %s", why)
	}
	tools, renderer, _ := s.promptTools()
	if !tools.Render {
		return conflict("%s", tools.Reason)
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	audio, err := renderer.Render(ctx, lang, req.Text)
	if errors.Is(err, prompts.ErrWrongVoice) {
		return badRequest("the %s voice cannot read this text: %v", lang.Code, err)
	}
	if err != nil {
		return err
	}
	return s.savePrompt(w, r, sess, postgres.NewPromptOverride{Prompt: req.Prompt, Lang: req.Lang,
		Source: postgres.PromptRendered, Text: req.Text, Audio: audio})
}

// uploadPrompt is POST /api/prompts/upload?prompt=&lang=[&text=] with a recording as the
// body (any format sox reads): converted to 8 kHz mono 16-bit and saved as the prompt's new
// revision, audited; refused with the reason when it is not audio, too big or too long.
func (s *Server) uploadPrompt(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	switch mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); {
	case mt == "application/json":
		return badRequest("the body must be the recording itself (audio/wav, audio/mpeg …), not JSON")
	case mt != "application/octet-stream" && !strings.HasPrefix(mt, "audio/"):
		return &problem{err: errMediaType, reason: "the body must be a recording: audio/* or application/octet-stream"}
	}
	m, err := s.manifest()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	id, code, text := q.Get("prompt"), q.Get("lang"), q.Get("text")
	if _, err := promptParams(m, id, code); err != nil {
		return err
	}
	if text != "" {
		if why := prompts.ValidText(text); why != "" {
			return badRequest("text: %s", why)
		}
	}
	if r.ContentLength > MaxPromptUpload {
		return badRequest("the recording is larger than %d MiB", MaxPromptUpload>>20)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxPromptUpload))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return badRequest("the recording is larger than %d MiB", MaxPromptUpload>>20)
	case err != nil:
		return badRequest("reading the recording: %v", err)
	case len(body) == 0:
		return badRequest("the body must be the recording")
	}
	tools, _, sox := s.promptTools()
	if !tools.Upload {
		return conflict("%s", tools.Reason)
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	audio, info, err := prompts.Convert(ctx, sox, body, MaxPromptLength)
	switch {
	case errors.Is(err, prompts.ErrNotAudio):
		return badRequest("not a recording sox can read: %v", err)
	case errors.Is(err, prompts.ErrTooLong):
		return badRequest("the recording is too long: %v", err)
	case err != nil:
		return err
	}
	return s.savePrompt(w, r, sess, postgres.NewPromptOverride{Prompt: id, Lang: code,
		Source: postgres.PromptUploaded, Text: text, Audio: audio, Duration: info.Duration()})
}

// promptRef is the body of POST /api/prompts/revert and /api/prompts/publish.
type promptRef struct {
	Prompt string `json:"prompt"`
	Lang   string `json:"lang,omitempty"`
}

// revertPrompt is POST /api/prompts/revert {prompt, lang}: a revision back to the shipped
// file, audited; 409 when the prompt plays its shipped file already.
func (s *Server) revertPrompt(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	var req promptRef
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	m, err := s.manifest()
	if err != nil {
		return err
	}
	if _, err := promptParams(m, req.Prompt, req.Lang); err != nil {
		return err
	}
	revs, err := postgres.CurrentPromptOverrides(r.Context(), s.o.DB)
	if err != nil {
		return err
	}
	changed := false
	for _, o := range revs {
		changed = changed || (o.Prompt == req.Prompt && o.Lang == req.Lang && o.Source != postgres.PromptShipped)
	}
	if !changed {
		return conflict("prompt %s has its shipped %s file already", req.Prompt, req.Lang)
	}
	return s.savePrompt(w, r, sess, postgres.NewPromptOverride{Prompt: req.Prompt, Lang: req.Lang, Source: postgres.PromptShipped})
}

// savePrompt stores a revision, installs its file and answers it.
func (s *Server) savePrompt(w http.ResponseWriter, r *http.Request, sess *postgres.Session, n postgres.NewPromptOverride) error {
	if n.Audio != nil && n.Duration == 0 {
		info, err := prompts.ParseWAV(n.Audio)
		if err != nil {
			return err
		}
		n.Duration = info.Duration()
	}
	n.By, n.IP = sess.Agent.ID, clientIP(r)
	o, err := postgres.SavePromptOverride(r.Context(), s.o.DB, n)
	if err != nil {
		return err
	}
	if n.Audio != nil {
		if err := s.promptFiles().Write(o, n.Audio); err != nil {
			return err
		}
	}
	s.log.Info("prompt changed", "prompt", o.Prompt, "lang", o.Lang, "source", o.Source, "revision", o.ID, "agent_id", sess.Agent.ID)
	writeJSON(w, http.StatusOK, o)
	return nil
}

// publishResult is what POST /api/prompts/publish did with one flow.
type publishResult struct {
	Flow    string `json:"flow"`
	Version int    `json:"version,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// publishPromptFlows is POST /api/prompts/publish {prompt}: each published flow that does
// not play the prompt's newest revisions is published again with its text unchanged (a
// draft of it, checked and tested as any publish), so that new calls hear them. A flow with
// a draft of its own is left for the flows page.
func (s *Server) publishPromptFlows(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	var req promptRef
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	m, err := s.manifest()
	if err != nil {
		return err
	}
	if _, ok := m.Prompt(req.Prompt); !ok {
		return &problem{err: hotline.ErrNotFound, reason: fmt.Sprintf("no prompt %q in the manifest", req.Prompt)}
	}
	fl, err := s.flows()
	if err != nil {
		return err
	}
	ctx := r.Context()
	named, marks, err := s.flowPrompts(ctx)
	if err != nil {
		return err
	}
	revs, err := postgres.CurrentPromptOverrides(ctx, s.o.DB)
	if err != nil {
		return err
	}
	var newest int64
	for _, o := range revs {
		if o.Prompt == req.Prompt {
			newest = max(newest, o.ID)
		}
	}
	pending := pendingFlows(newest, named[req.Prompt], marks)
	if newest == 0 || len(pending) == 0 {
		return conflict("every flow plays the prompt's newest revisions already")
	}
	drafts, err := postgres.FlowDrafts(ctx, s.o.DB)
	if err != nil {
		return err
	}
	active, err := postgres.ActiveFlows(ctx, s.o.DB)
	if err != nil {
		return err
	}
	out := []publishResult{}
	for _, name := range pending {
		res := publishResult{Flow: name}
		switch i := slices.IndexFunc(active, func(v postgres.FlowVersion) bool { return v.Flow == name }); {
		case slices.ContainsFunc(drafts, func(d postgres.FlowDraft) bool { return d.Flow == name }):
			res.Reason = "该流程有未发布的草稿：请在流程页面发布"
		case i < 0:
			res.Reason = "流程已不存在"
		default:
			if _, err := postgres.SaveFlowDraft(ctx, s.o.DB, name, active[i].Source, sess.Agent.ID); err != nil {
				return err
			}
			v, err := fl.Publish(ctx, name, sess.Agent.ID)
			if err != nil {
				// The draft was ours: it goes, whatever stopped the publish.
				if derr := postgres.DeleteFlowDraft(ctx, s.o.DB, name); derr != nil && !errors.Is(derr, hotline.ErrNotFound) {
					return errors.Join(err, derr)
				}
				if !errors.Is(err, hotline.ErrConflict) {
					return err
				}
				res.Reason = "发布被拒绝：" + err.Error()
				if ref := (*FlowRefusal)(nil); errors.As(err, &ref) {
					res.Reason = "发布被拒绝：" + ref.Reason
				}
			}
			res.Version = v.Version
		}
		out = append(out, res)
	}
	writeJSON(w, http.StatusOK, map[string]any{"prompt": req.Prompt, "flows": out})
	return nil
}
