package agentdesk

import (
	"net/http"
	"regexp"

	"github.com/foshan-hotline/hotline/postgres"
)

// callCard is GET /api/calls/{id}/card: the caller's card for the agent the call is offered
// to, on, or wrapping up (a supervisor may read any). Each read that shows a citizen writes
// an audit row (reason offered_call). The call of a callback to the citizen has the card its
// offer had (the journey of the call that asked for it; reason offered_callback), so that a
// desk reloaded during the callback shows the same.
func (s *Server) callCard(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	id, err := callParam(r)
	if err != nil {
		return err
	}
	if _, err := s.relation(r.Context(), sess, id, true); err != nil {
		return err
	}
	cb, isCallback, err := postgres.CallbackOfCall(r.Context(), s.o.DB, id)
	if err != nil {
		return err
	}
	var card *postgres.Card
	if isCallback {
		card, err = postgres.LoadCallbackCard(r.Context(), s.o.DB, s.now(), cb, sess.Agent.ID, clientIP(r))
	} else {
		card, err = postgres.LoadCard(r.Context(), s.o.DB, s.now(), id, sess.Agent.ID, clientIP(r))
	}
	if err != nil {
		return err
	}
	s.writeCard(w, card)
	return nil
}

// writeCard sends a card with its journey told in words, the flow's plumbing left out.
func (s *Server) writeCard(w http.ResponseWriter, card *postgres.Card) {
	for i := range card.Journey.Steps {
		st := &card.Journey.Steps[i]
		st.Summary, st.ExitLabel = s.stepSummary(st.Flow, st.Node, st.Kind), exitLabel(st.Kind, st.Exit)
	}
	card.Journey.Steps = shownSteps(card.Journey.Steps)
	writeJSON(w, http.StatusOK, card)
}

// kindNames name the node kinds an agent is shown.
var kindNames = map[string]string{
	"menu": "菜单选择", "collect": "按键输入", "lookup": "查询", "verify": "身份验证", "queue": "排队等候人工",
	"callback": "预约回拨", "record": "留言", "survey": "满意度评价", "transfer": "转接", "language": "选择语种",
	"hangup": "挂机", "control": "坐席操作", "play": "播放提示",
}

// exitNames name the common exits.
var exitNames = map[string]string{
	"found": "已查到", "not_found": "未找到", "error": "出错", "ok": "通过", "verified": "验证通过",
	"failed": "未通过", "locked": "已锁定", "not_allowed": "不适用", "hangup": "市民挂机", "timeout": "超时",
	"answered": "人工接听", "agent": "转人工", "overflow": "溢出", "no_input": "未按键", "no_match": "按键无效",
	"shutdown": "系统停止", "next": "", "enter": "",
}

var keyPattern = regexp.MustCompile(`^[0-9*#]$`)

// shownSteps keeps the steps that tell the agent something: the flow's plumbing (branches,
// assignments, jumps, returns, subflow entries, hours checks) and prompts without a detail
// are left out.
func shownSteps(steps []postgres.CardStep) []postgres.CardStep {
	out := steps[:0]
	for _, st := range steps {
		switch st.Kind {
		case "branch", "set", "goto", "return", "subflow", "hours":
			continue
		case "play":
			if st.Detail == "" {
				continue
			}
		}
		out = append(out, st)
	}
	return out
}

// stepSummary names a step: the flow's name and the node's description or kind.
func (s *Server) stepSummary(flowID, node, kind string) string {
	flowName, nodeName := flowID, ""
	for _, f := range s.o.CallFlows {
		if f.ID == flowID {
			flowName = f.Name
			nodeName = f.Nodes[node]
			break
		}
	}
	if flowID == "desk" {
		flowName = "坐席"
	}
	what := nodeName
	if what == "" {
		what = kindNames[kind]
	}
	if what == "" {
		what = node
	}
	return flowName + " · " + what
}

func exitLabel(kind, exit string) string {
	if keyPattern.MatchString(exit) {
		return "按" + exit
	}
	if l, ok := exitNames[exit]; ok {
		return l
	}
	return exit
}

// transferTargetsView is GET /api/transfer-targets.
type transferTargetsView struct {
	Queues  []postgres.TransferQueue  `json:"queues"`
	Agents  []postgres.TransferAgent  `json:"agents"`
	Numbers []postgres.TransferNumber `json:"numbers"`
	Flows   []CallFlow                `json:"flows"`
}

// transferTargets is GET /api/transfer-targets: the queues with their waiting calls, the other
// agents with a phone (available first), the departments' hotlines and the flows a caller may
// be sent back to.
func (s *Server) transferTargets(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	qs, as, ns, err := postgres.TransferTargets(r.Context(), s.o.DB, sess.Agent.ID)
	if err != nil {
		return err
	}
	v := transferTargetsView{Queues: qs, Agents: as, Numbers: ns, Flows: []CallFlow{}}
	for _, f := range s.o.CallFlows {
		if f.Transfer {
			v.Flows = append(v.Flows, f)
		}
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
