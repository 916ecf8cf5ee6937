package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"

	"github.com/foshan-hotline/hotline/agentdesk"
)

// TestCardBillDueByServerDay: the card tells an unpaid bill overdue as the server does (its
// clock, Foshan's day), as the IVR tells the caller, not by the browser's clock. The server's
// clock here is 30 days behind the browser's: a bill due 10 days before the browser's today
// is still 20 days ahead on the server, which says it is not overdue.
func TestCardBillDueByServerDay(t *testing.T) {
	const shift = -30 * 24 * time.Hour
	e := newEnv(t, func(o *agentdesk.Options) { o.Now = func() time.Time { return time.Now().Add(shift) } })
	e.queues()
	cst := time.FixedZone("CST", 8*3600)
	due := time.Now().AddDate(0, 0, -10).In(cst).Format(time.DateOnly)
	e.calls.Update(func(f *fakeCalls) {
		f.CardFunc = func(id string) (int, any) {
			status, body := demoCard(id)
			card := body.(map[string]any)
			card["accounts"] = []map[string]any{
				{"kind": "electricity", "provider": "广东电网佛山供电局", "account_number": "0301234567",
					"latest_bill": map[string]any{"period": "2026-01-01", "amount_fen": 35620, "due_date": due + "T00:00:00Z", "overdue": false}},
			}
			return status, card
		}
	})
	p := newPage(t, e)
	p.login()
	p.Key("F2", kb.F2)
	p.state("available")
	e.offer()
	p.state("ringing")
	p.Wait("the card", `document.getElementById("card").dataset.loaded === "card"`)
	got := p.Eval(`document.querySelector("#card td.status").textContent`) // the account's row
	if got != "未缴" {
		t.Errorf("the bill due %s (20 days ahead on the server's clock) shows %q, want 未缴", due, got)
	}
	if card := p.Text("card"); strings.Contains(card, "逾期未缴") {
		t.Errorf("the card says 逾期未缴:\n%s", card)
	}
}
