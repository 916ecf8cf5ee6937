package agentdesk

import (
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
)

// What each kind of search accepts.
var searchPatterns = map[string]*regexp.Regexp{
	postgres.SearchByMobile:   regexp.MustCompile(`^(\+?86|0086)?1[3-9][0-9]{9}$`),
	postgres.SearchByAccount:  regexp.MustCompile(`^[0-9]{6,20}$`),
	postgres.SearchByCase:     regexp.MustCompile(`^[0-9]{10,20}$`),
	postgres.SearchByIDNumber: regexp.MustCompile(`^[0-9]{17}[0-9Xx]$`),
}

// maxSearchReason is the longest reason for an ID number search, in characters.
const maxSearchReason = 200

// searchView is the answer of GET /api/citizens/search.
type searchView struct {
	Citizens []postgres.CardCitizen `json:"citizens"`
}

// searchCitizens is GET /api/citizens/search?by=&q=&reason=&call_id=: citizens by mobile,
// utility account, case number or ID number (which needs a reason). Results are masked;
// every citizen found is audited (reason search).
func (s *Server) searchCitizens(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	q := r.URL.Query()
	by, value := q.Get("by"), strings.TrimSpace(q.Get("q"))
	reason, callID := strings.TrimSpace(q.Get("reason")), q.Get("call_id")
	pat, ok := searchPatterns[by]
	switch {
	case !ok:
		return badRequest("by must be mobile, account, case or id_number")
	case !pat.MatchString(value):
		return badRequest("q is not a valid %s", by)
	case by == postgres.SearchByIDNumber && reason == "":
		return badRequest("a search by ID number needs a reason")
	case utf8.RuneCountInString(reason) > maxSearchReason:
		return badRequest("the reason is longer than %d characters", maxSearchReason)
	case callID != "" && !uuidPattern.MatchString(callID):
		return badRequest("call_id is not a call id")
	}
	var hash []byte
	if by == postgres.SearchByIDNumber {
		if s.o.PII == nil {
			return conflict("search by ID number is not available on this server")
		}
		value = strings.ToUpper(value)
		if err := hotline.ValidateIDNumber(value); err != nil {
			return badRequest("q is not a valid ID number")
		}
		hash = s.o.PII.LookupHash(value)
	}
	found, err := postgres.SearchCitizens(r.Context(), s.o.DB, s.now(), by, value, hash, sess.Agent.ID, reason, callID, clientIP(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, searchView{Citizens: found})
	return nil
}

// attachRequest is the body of POST /api/calls/{id}/citizen.
type attachRequest struct {
	CitizenID int64 `json:"citizen_id"`
}

// attachCitizen is POST /api/calls/{id}/citizen: the agent on the call (offered, talking or
// wrapping up) records the citizen found by a search as the caller; the card then shows them.
func (s *Server) attachCitizen(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	var req attachRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	id, err := callParam(r)
	if err != nil {
		return err
	}
	if req.CitizenID <= 0 {
		return badRequest("citizen_id must be a citizen's id")
	}
	if _, err := s.relation(r.Context(), sess, id, false); err != nil {
		return err
	}
	if err := postgres.AttachCitizen(r.Context(), s.o.DB, s.now(), id, req.CitizenID, sess.Agent.ID, clientIP(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"call_id": id, "citizen_id": req.CitizenID})
	return nil
}
