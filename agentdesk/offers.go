package agentdesk

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
)

// A callback (回拨, or the 回访 of a work order) is offered to an agent before any call
// exists: their phone rings first, the citizen is called once they answer. The desk addresses
// such an offer by the offer's id, which the snapshot carries and keeps across reconnects.
// Once the citizen answers, the agent's state names the call to them and the call routes
// (/api/calls/{id}/…) take over.

// offerParam reads the offer id of the path; a malformed one is unknown (404).
func offerParam(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &problem{err: hotline.ErrNotFound, reason: "no such offer"}
	}
	return id, nil
}

// offeredCallback checks that offer id is a callback ringing the session's agent.
func (s *Server) offeredCallback(r *http.Request, sess *postgres.Session) (postgres.CallbackOffer, error) {
	id, err := offerParam(r)
	if err != nil {
		return postgres.CallbackOffer{}, err
	}
	o, err := postgres.OfferedCallback(r.Context(), s.o.DB, id, sess.Agent.ID)
	switch {
	case errors.Is(err, hotline.ErrNotFound):
		return o, &problem{err: hotline.ErrNotFound, reason: "no such callback offer"}
	case errors.Is(err, hotline.ErrForbidden):
		return o, forbidden("this callback is not offered to you")
	case errors.Is(err, hotline.ErrConflict):
		return o, conflict("the phone is not ringing for this callback any more")
	}
	return o, err
}

// answerOffer is POST /api/offers/{id}/answer: the agent's phone answers the callback.
func (s *Server) answerOffer(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	return s.decideOffer(w, r, sess, actionAnswer)
}

// rejectOffer is POST /api/offers/{id}/reject: the agent declines the callback (未接).
func (s *Server) rejectOffer(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	return s.decideOffer(w, r, sess, actionReject)
}

func (s *Server) decideOffer(w http.ResponseWriter, r *http.Request, sess *postgres.Session, action string) error {
	var req struct{}
	if err := decode(w, r, &req, true); err != nil {
		return err
	}
	if err := takesCalls(sess); err != nil {
		return err
	}
	o, err := s.offeredCallback(r, sess)
	if err != nil {
		return err
	}
	var line interface {
		Answer() error
		Hangup() error
	}
	if s.o.Phones != nil {
		if l := s.o.Phones.Line(sess.Agent.ID); l != nil {
			line = l
		}
	}
	a := s.currentAnswerer()
	switch {
	case line != nil && action == actionAnswer:
		err = line.Answer()
	case line != nil:
		err = line.Hangup()
	case a == nil:
		return conflict("请在话机上接听或拒接来电")
	case action == actionAnswer:
		err = a.Answer(r.Context(), sess.Agent.Endpoint, "")
	default:
		err = a.Reject(r.Context(), sess.Agent.Endpoint, "")
	}
	if err != nil {
		return phoneError(err)
	}
	s.hub.mark(sess.Agent.ID)
	writeJSON(w, http.StatusOK, map[string]any{"offer_id": o.OfferID, "agent_id": sess.Agent.ID})
	return nil
}

// offerCard is GET /api/offers/{id}/card: the card of the citizen a ringing callback calls.
func (s *Server) offerCard(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	o, err := s.offeredCallback(r, sess)
	if err != nil {
		return err
	}
	card, err := postgres.LoadCallbackCard(r.Context(), s.o.DB, s.now(), o, sess.Agent.ID, clientIP(r))
	if err != nil {
		return err
	}
	s.writeCard(w, card)
	return nil
}
