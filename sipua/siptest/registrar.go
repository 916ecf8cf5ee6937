package siptest

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// realm is the digest realm of the server's challenges.
const realm = "siptest"

// register is the registrar: it keeps the Contact of each user that registers, and forgets it
// on Expires: 0.
func (s *Server) register(req *sip.Request, tx sip.ServerTransaction) {
	respond := func(res *sip.Response) { _ = tx.Respond(res) }
	if s.opts.User != "" && !s.authorized(req, respond) {
		return
	}
	to := req.To()
	if to == nil {
		respond(sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request", nil))
		return
	}
	expires := 3600
	if h := req.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(h.Value()); err == nil {
			expires = n
		}
	}
	contact := req.Contact()
	if contact != nil {
		if v, ok := contact.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil {
				expires = n
			}
		}
	}
	s.mu.Lock()
	if expires == 0 || contact == nil {
		delete(s.contact, to.Address.User)
	} else {
		s.contact[to.Address.User] = contact.Address.String()
	}
	s.mu.Unlock()
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	if contact != nil {
		res.AppendHeader(sip.HeaderClone(contact))
	}
	res.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	respond(res)
}

// authorized checks req's digest credentials; without valid ones it responds with a 401
// challenge (or 403 for wrong ones) and returns false.
func (s *Server) authorized(req *sip.Request, respond func(*sip.Response)) bool {
	if h := req.GetHeader("Authorization"); h != nil {
		cred, err := digest.ParseCredentials(h.Value())
		if err == nil && cred.Username == s.opts.User && s.issued(cred.Nonce) {
			want, err := digest.Digest(&digest.Challenge{Realm: realm, Nonce: cred.Nonce, Algorithm: "MD5"}, digest.Options{
				Method: req.Method.String(), URI: cred.URI, Username: s.opts.User, Password: s.opts.Password,
			})
			if err == nil && want.Response == cred.Response {
				return true
			}
		}
		respond(sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil))
		return false
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	nonce := hex.EncodeToString(b)
	s.mu.Lock()
	s.nonces[nonce] = true
	s.mu.Unlock()
	chal := digest.Challenge{Realm: realm, Nonce: nonce, Algorithm: "MD5"}
	res := sip.NewResponseFromRequest(req, sip.StatusUnauthorized, "Unauthorized", nil)
	res.AppendHeader(sip.NewHeader("WWW-Authenticate", chal.String()))
	respond(res)
	return false
}

func (s *Server) issued(nonce string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nonces[nonce]
}
