package agentdesk

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/flow"
	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/sipua/softphone"
)

// CallControl carries out an agent's call-control command on a call wherever it is owned,
// and tells the call's state afterwards. Errors wrap hotline.ErrConflict (the command does
// not fit the call's state, with the reason), ErrForbidden, ErrNotFound and ErrInvalid.
// *postgres.CommandBus implements it.
type CallControl interface {
	Control(ctx context.Context, callID string, cmd hotline.CallCommand) error
	// CallState is the call's state in conversation; for a call owned by another instance
	// only the call and its agent are known.
	CallState(ctx context.Context, callID string) (hotline.CallState, error)
}

var _ CallControl = (*postgres.CommandBus)(nil)

// Answerer answers or rejects, for an agent, their phone ringing with an offered call: the
// demo's simulated phones. On a real system agents answer on their phones.
type Answerer interface {
	// Answer answers the phone at endpoint ringing for call callID.
	Answer(ctx context.Context, endpoint, callID string) error
	// Reject declines it (the offer ends as rejected, the agent goes to 未接).
	Reject(ctx context.Context, endpoint, callID string) error
}

type answererBox struct{ Answerer }

// SetAnswerer sets the Answerer after the server is made (the demo's simulator is started
// after the agent API); nil removes it.
func (s *Server) SetAnswerer(a Answerer) {
	if a == nil {
		s.answerer.Store(&answererBox{})
		return
	}
	s.answerer.Store(&answererBox{a})
}

func (s *Server) currentAnswerer() Answerer {
	if b := s.answerer.Load(); b != nil {
		return b.Answerer
	}
	return s.o.Answerer
}

// CallFlow is a flow as the desk names it.
type CallFlow struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Transfer tells whether an agent may send a caller into it.
	Transfer bool `json:"-"`
	// Nodes names the flow's nodes (their descriptions), by id.
	Nodes map[string]string `json:"-"`
}

// Actions of POST /api/calls/{id}/control besides hotline's: the offered call's phone.
const (
	actionAnswer = "answer"
	actionReject = "reject"
)

// callRoutes are the calls an agent is offered or talks on: call control, the caller's card,
// transfer targets and the citizen search.
func (s *Server) callRoutes() []route {
	return []route{
		{"POST /api/calls/{id}/control", hotline.RoleAgent, s.controlCall},
		{"GET /api/calls/{id}/card", hotline.RoleAgent, s.callCard},
		{"POST /api/calls/{id}/citizen", hotline.RoleAgent, s.attachCitizen},
		{"GET /api/transfer-targets", hotline.RoleAgent, s.transferTargets},
		{"GET /api/citizens/search", hotline.RoleAgent, s.searchCitizens},
		// A callback rings before its call exists: addressed by the offer (offers.go).
		{"POST /api/offers/{id}/answer", hotline.RoleAgent, s.answerOffer},
		{"POST /api/offers/{id}/reject", hotline.RoleAgent, s.rejectOffer},
		{"GET /api/offers/{id}/card", hotline.RoleAgent, s.offerCard},
	}
}

// callParam reads the call id of the path; a malformed one is unknown (404).
func callParam(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !uuidPattern.MatchString(id) {
		return "", &problem{err: hotline.ErrNotFound, reason: "no such call"}
	}
	return id, nil
}

// relation checks that the session's agent is on call id and tells how; a supervisor may
// look at any call when any is true.
func (s *Server) relation(ctx context.Context, sess *postgres.Session, id string, any bool) (string, error) {
	rel, err := postgres.CallRelation(ctx, s.o.DB, id, sess.Agent.ID)
	switch {
	case errors.Is(err, hotline.ErrNotFound):
		return "", &problem{err: hotline.ErrNotFound, reason: "no such call"}
	case err != nil:
		return "", err
	case rel == "" && any && sess.Agent.Role.AtLeast(hotline.RoleSupervisor):
		return "supervisor", nil
	case rel == "":
		return "", forbidden("this call is not offered to you and you are not on it")
	}
	return rel, nil
}

// controlRequest is the body of POST /api/calls/{id}/control: a hotline.CallCommand without
// the agent, who is the session's.
type controlRequest struct {
	Action   string                 `json:"action"`
	Digits   string                 `json:"digits"`
	Transfer hotline.TransferTarget `json:"transfer"`
}

// controlCall is POST /api/calls/{id}/control.
func (s *Server) controlCall(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	var req controlRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	id, err := callParam(r)
	if err != nil {
		return err
	}
	cmd := hotline.CallCommand{Action: req.Action, AgentID: sess.Agent.ID, Digits: req.Digits, Transfer: req.Transfer}
	if req.Action != actionAnswer && req.Action != actionReject {
		if err := cmd.Validate(); err != nil {
			return badRequest("%v", err)
		}
	} else if req.Digits != "" || req.Transfer != (hotline.TransferTarget{}) {
		return badRequest("%s takes no digits or transfer target", req.Action)
	}
	if err := takesCalls(sess); err != nil {
		return err
	}
	rel, err := s.relation(r.Context(), sess, id, false)
	if err != nil {
		return err
	}
	if req.Action == actionAnswer || req.Action == actionReject {
		if rel != postgres.RelationOffered {
			return conflict("this call is not ringing your phone")
		}
		a := s.currentAnswerer()
		var line interface {
			Answer() error
			Hangup() error
		}
		if s.o.Phones != nil {
			if l := s.o.Phones.Line(sess.Agent.ID); l != nil {
				line = l
			}
		}
		switch {
		case line != nil && req.Action == actionAnswer:
			err = line.Answer()
		case line != nil:
			err = line.Hangup()
		case a == nil:
			return conflict("请在话机上接听或拒接来电")
		case req.Action == actionAnswer:
			err = a.Answer(r.Context(), sess.Agent.Endpoint, id)
		default:
			err = a.Reject(r.Context(), sess.Agent.Endpoint, id)
		}
		if err != nil {
			return phoneError(err)
		}
		s.hub.mark(sess.Agent.ID)
		writeJSON(w, http.StatusOK, hotline.CallState{CallID: id, AgentID: sess.Agent.ID})
		return nil
	}
	switch rel {
	case postgres.RelationOffered:
		return conflict("the call is not answered yet: answer it first")
	case postgres.RelationWrapUp:
		return conflict("the conversation has ended")
	}
	if s.o.Calls == nil {
		return conflict("call control is not available on this server")
	}
	if err := s.o.Calls.Control(r.Context(), id, cmd); err != nil {
		return err
	}
	st, err := s.o.Calls.CallState(r.Context(), id)
	switch {
	case errors.Is(err, hotline.ErrNotFound):
		// The conversation ended with the command (hang-up, blind transfer).
		st = hotline.CallState{CallID: id, AgentID: sess.Agent.ID}
	case err != nil:
		return err
	}
	s.hub.mark(sess.Agent.ID)
	writeJSON(w, http.StatusOK, st)
	return nil
}

// phoneError maps an Answerer's failure: a phone that no longer rings is a conflict.
func phoneError(err error) error {
	if errors.Is(err, hotline.ErrConflict) || errors.Is(err, hotline.ErrNotFound) ||
		errors.Is(err, softphone.ErrNotRinging) || errors.Is(err, softphone.ErrNoCall) {
		return conflict("the phone is not ringing for this call any more")
	}
	return err
}

// CallFlowsOf names the flows of lib for the desk: a flow's name is its description up to the
// first punctuation (公用事业账单查询（水、电…） → 公用事业账单查询), its nodes' names their
// descriptions. Every flow but main (the call's entry) and agent (the way to the desk) may
// take a caller back from an agent.
func CallFlowsOf(lib *flow.Library) []CallFlow {
	if lib == nil {
		return nil
	}
	var out []CallFlow
	for _, name := range lib.Names() {
		f := lib.Flow(name)
		short := f.Description
		if i := strings.IndexAny(short, "：:（(，,、；;"); i > 0 {
			short = short[:i]
		}
		if short == "" {
			short = name
		}
		cf := CallFlow{ID: name, Name: short, Transfer: name != "main" && name != "agent", Nodes: map[string]string{}}
		for _, n := range f.Nodes {
			if d := n.Description(); d != "" {
				cf.Nodes[n.ID()] = d
			}
		}
		out = append(out, cf)
	}
	return out
}
