package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// catalogue fills the platform's service guides and stations as the seed does, in small.
func (e *env) catalogue() {
	e.t.Helper()
	e.exec(`INSERT INTO platform.districts (code, name) VALUES ('440604', '禅城区'), ('440605', '南海区'),
		('440606', '顺德区'), ('440607', '三水区'), ('440608', '高明区')`)
	e.exec(`INSERT INTO platform.departments (id, name, phone) VALUES (1, '佛山市公安局', '0757-83338110'),
		(2, '佛山市人力资源和社会保障局', '0757-83033333'), (3, '佛山市住房公积金管理中心', '0757-83300212')`)
	e.exec(`INSERT INTO platform.service_items (code, name, department_id, category, materials, fee_fen, time_limit_days, keywords, description) VALUES
		('FS-GA-HJ-001', '户籍迁入（投靠亲属）', 1, '户籍办理', '{居民身份证原件及复印件,居民户口簿原件及复印件,亲属关系证明,准予迁入证明,申请表（现场或网上填写）}', 0, 10, '{户口,入户,迁入,投靠}', '符合投靠条件的人员申请将户口迁入佛山。'),
		('FS-GA-HJ-002', '户籍迁入（人才引进）', 1, '户籍办理', '{居民身份证原件及复印件,居民户口簿原件及复印件,学历或技能证书,劳动合同,社会保险缴费证明}', 0, 10, '{入户,人才,落户,迁入}', '具有相应学历或技能的人员申请落户佛山。'),
		('FS-GA-SFZ-002', '居民身份证挂失补领', 1, '身份证件', '{居民户口簿原件及复印件,近期免冠彩色数码相片回执}', 4000, 15, '{身份证,丢失,补办,挂失}', '身份证丢失后挂失并申请补领。'),
		('FS-RS-SBK-001', '社会保障卡申领', 2, '社会保障', '{居民身份证原件及复印件,近期免冠彩色数码相片回执}', 0, 10, '{社保卡,申领,办卡}', '参保人员首次申领社会保障卡。'),
		('FS-GJJ-TQ-001', '住房公积金提取（租房）', 3, '住房公积金', '{居民身份证原件及复印件,房屋租赁合同或无房声明}', 0, 3, '{公积金,提取,租房}', '无自有住房的职工提取公积金支付房租。')`)
	e.exec(`INSERT INTO platform.service_stations (district_code, name, address, hours, phone) VALUES
		('440604', '禅城区行政服务中心', '佛山市禅城区季华五路18号', '周一至周六 9:00-12:00 14:00-17:30（法定节假日除外）', '0757-83000000'),
		('440604', '祖庙街道党群服务中心', '佛山市禅城区祖庙路33号', '周一至周五 9:00-12:00 14:00-17:30', '0757-83000001'),
		('440605', '南海区行政服务中心', '佛山市南海区桂城南海大道北59号', '周一至周六 9:00-12:00 14:00-17:30（法定节假日除外）', '0757-86000000'),
		('440605', '大沥镇行政服务中心', '佛山市南海区大沥镇建设大道68号', '周一至周五 8:30-12:00 14:00-18:00', '0757-86000001')`)
}

// history gives agent01 calls earlier today (answered with a disposition, rung out) and a
// callback of 公用事业 that is due.
func (e *env) history() (callbackID string) {
	e.t.Helper()
	me := e.ids["agent01"]
	for i, c := range []struct{ number, state, disposition string }{
		{"13812345678", "accepted", "answered"}, {"13987654321", "timeout", ""}, {"075783001234", "accepted", "work_order"},
	} {
		id := "7a7a7a7a-0000-4000-8000-00000000000" + string(rune('1'+i))
		e.exec(`INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at, outcome)
			VALUES ($1, 'node1', $2, $3, now() - make_interval(mins => $4), 'agent')`, id, "h-"+id, c.number, 90-20*i)
		e.exec(`INSERT INTO hotline.offers (call_id, agent_id, queue_id, state, offered_at, decided_at, talk_ended_at, disposition)
			VALUES ($1, $2, 'utilities', $3, now() - make_interval(mins => $4), now() - make_interval(mins => $4) + interval '6 seconds',
			        CASE WHEN $3 = 'accepted' THEN now() - make_interval(mins => $4) + interval '4 minutes 12 seconds' END, $5)`,
			id, me, c.state, 89-20*i, c.disposition)
	}
	var id string
	if err := e.db.Get(&id, `INSERT INTO hotline.callbacks (number, queue_id, requested_at, next_attempt_at, attempts)
		VALUES ('13700001111', 'utilities', now() - interval '30 minutes', now() - interval '5 minutes', 1) RETURNING id::text`); err != nil {
		e.t.Fatal(err)
	}
	e.exec(`INSERT INTO hotline.callbacks (number, queue_id, requested_at, next_attempt_at) VALUES
		('13700002222', 'utilities', now() - interval '10 minutes', now() + interval '40 minutes')`)
	return id
}

// TestWorkArea: with no call up, the agent searches the knowledge base, copies a service
// guide, lists a district's stations and the rules, sees their recent calls and calls a
// callback back now; during a call the work area folds beside the card and opens with Alt+1.
func TestWorkArea(t *testing.T) {
	e := newEnv(t)
	e.queues()
	e.catalogue()
	callback := e.history()
	e.calls.Update(func(f *fakeCalls) { f.CardFunc = demoCard })
	p := newPage(t, e)
	p.login()
	p.Do("listen to desk:copy", chromedp.Evaluate[chromedp.Void](
		`window.copied = []; window.addEventListener("desk:copy", (e) => window.copied.push(e.detail))`))
	p.WaitText("kb-note", "输入关键词")
	p.Wait("the due callback's badge", `document.getElementById("callbacks-due").textContent === "1"`)
	p.Shoot("20-workarea-idle")

	// Alt+1 puts the cursor in the search box; 户籍 finds both 户籍迁入 items, materials and all.
	p.Key("Alt+1", "1", chromedp.ModifierAlt)
	p.Wait("the search box focused", `document.activeElement.id === "kb-q"`)
	p.Do("type 户籍", chromedp.SendKeys(chromedp.ID("kb-q"), "户籍"))
	p.WaitText("kb-note", "找到 2 条")
	results := p.Text("kb-results")
	for _, want := range []string{"户籍迁入（投靠亲属）", "户籍迁入（人才引进）", "佛山市公安局", "0757-83338110", "免费", "10 个工作日",
		"亲属关系证明", "准予迁入证明", "所需材料（5 项）"} {
		if !strings.Contains(results, want) {
			t.Errorf("the results lack %q:\n%s", want, results)
		}
	}
	if got := p.Eval(`document.querySelector("#kb-results mark").textContent`); got != "户籍" {
		t.Errorf("marked %q, want 户籍", got)
	}

	// A partial word, typed as a question.
	p.Do("ask 身份证丢了怎么补办", chromedp.Evaluate[chromedp.Void](`document.getElementById("kb-q").value = ""`),
		chromedp.SendKeys(chromedp.ID("kb-q"), "身份证丢了怎么补办"))
	p.Wait("居民身份证挂失补领 first", `document.querySelector("#kb-results .kb-title")?.textContent === "居民身份证挂失补领"`)
	if results := p.Text("kb-results"); !strings.Contains(results, "40 元") || !strings.Contains(results, "15 个工作日") {
		t.Errorf("the fee or time limit is missing:\n%s", results)
	}

	// ↓ goes to the first result and Enter copies it: to the clipboard and the desk:copy event.
	p.Key("↓", kb.ArrowDown)
	p.Wait("the first result focused", `document.activeElement.classList.contains("kb-item")`)
	p.Key("Enter", kb.Enter)
	p.Wait("a desk:copy", `window.copied.length === 1`)
	copied := p.Eval(`JSON.stringify(window.copied[0])`)
	for _, want := range []string{`"source":"knowledge"`, `"kind":"service"`, "【居民身份证挂失补领】", "所需材料：1. 居民户口簿原件及复印件；2. 近期免冠彩色数码相片回执",
		"收费标准：40元", "办理时限：15个工作日", "佛山市公安局（咨询电话 0757-83338110）"} {
		if !strings.Contains(copied, want) {
			t.Errorf("desk:copy %s lacks %q", copied, want)
		}
	}
	p.WaitText("notice", "已")
	p.Shoot("21-knowledge-service")

	// A district's stations, and the rules of the account services with their 复制 button.
	p.Do("南海区's stations", chromedp.Evaluate[chromedp.Void](`document.getElementById("kb-q").value = ""`),
		chromedp.SetValue(chromedp.ID("kb-kind"), "station"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("kb-kind").dispatchEvent(new Event("change"))`),
		chromedp.SetValue(chromedp.ID("kb-district"), "440605"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("kb-district").dispatchEvent(new Event("change"))`))
	p.WaitText("kb-note", "找到 2 条")
	if results := p.Text("kb-results"); !strings.Contains(results, "南海区行政服务中心") || !strings.Contains(results, "大沥镇建设大道68号") ||
		strings.Contains(results, "禅城区") || !strings.Contains(results, "0757-86000001") {
		t.Errorf("南海区's stations:\n%s", results)
	}
	p.Shoot("22-knowledge-stations")
	p.Do("the rules", chromedp.SetValue(chromedp.ID("kb-kind"), "rule"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("kb-kind").dispatchEvent(new Event("change"))`),
		chromedp.SendKeys(chromedp.ID("kb-q"), "注销"))
	p.Wait("账号注销 first", `document.querySelector("#kb-results .kb-title")?.textContent === "账号注销"`)
	if p.Eval(`document.getElementById("kb-district").disabled`) != "true" {
		t.Errorf("the district stays choosable for rules")
	}
	p.Click("copy the rule", `#kb-results .kb-item:first-child .kb-copy`)
	p.Wait("a second desk:copy", `window.copied.length === 2 && window.copied[1].text.includes("现场办理")`)
	p.Shoot("23-knowledge-rules")

	// Alt+2: the recent calls, newest first, with how each went.
	p.Key("Alt+2", "2", chromedp.ModifierAlt)
	p.Wait("the recent calls", `document.querySelectorAll("#calls-rows tr").length === 3`)
	rows := p.Text("calls-rows")
	for _, want := range []string{"075783001234", "已建工单", "13987654321", "未接（振铃超时）", "13812345678", "已解答", "04:06"} {
		if !strings.Contains(rows, want) {
			t.Errorf("the recent calls lack %q:\n%s", want, rows)
		}
	}
	if first := p.Eval(`document.querySelector("#calls-rows tr").innerText`); !strings.Contains(first, "075783001234") {
		t.Errorf("the newest call is not first: %s", first)
	}
	p.Click("copy a number", `#calls-rows tr:first-child button.wa-num`)
	p.Wait("the number's desk:copy", `window.copied.length === 3 && window.copied[2].text === "075783001234" && window.copied[2].source === "calls"`)
	p.Shoot("24-recent-calls")

	// Alt+3: the callbacks, the due one first; 立即回拨 names this agent.
	p.Key("Alt+3", "3", chromedp.ModifierAlt)
	p.Wait("the callbacks", `document.querySelectorAll("#callbacks-rows tr").length === 2`)
	if first := p.Eval(`document.querySelector("#callbacks-rows tr").innerText`); !strings.Contains(first, "13700001111") || !strings.Contains(first, "已到期") {
		t.Errorf("the due callback is not first: %s", first)
	}
	p.Wait("立即回拨", `document.querySelector('#callbacks-rows tr[data-id="`+callback+`"] button[data-id]')?.disabled === false`)
	p.Do("call back now", chromedp.Evaluate[chromedp.Void](`document.querySelector('#callbacks-rows tr[data-id="`+callback+`"] button[data-id]').click()`))
	p.WaitText("callbacks-rows", "已安排，优先给我")
	var preferred int64
	if err := e.db.Get(&preferred, `SELECT coalesce(preferred_agent_id, 0) FROM hotline.callbacks WHERE id = $1`, callback); err != nil || preferred != e.ids["agent01"] {
		t.Errorf("preferred agent %d (%v), want agent01", preferred, err)
	}
	p.Shoot("25-callbacks")

	// Alt+4, Alt+5: the messages and work orders tabs show their module, or say they are not open yet.
	for _, tab := range []string{"messages", "workorders"} {
		p.Key("Alt+"+map[string]string{"messages": "4", "workorders": "5"}[tab], map[string]string{"messages": "4", "workorders": "5"}[tab], chromedp.ModifierAlt)
		p.Wait(tab+" shown", `!document.getElementById("pane-`+tab+`").hidden && document.getElementById("pane-`+tab+`").childElementCount > 0`)
	}

	// A call: the work area folds to a rail beside the card (1280 px has no room for both),
	// and Alt+1 opens it there with the search at hand.
	p.Key("Alt+1", "1", chromedp.ModifierAlt)
	p.Key("F2", kb.F2)
	p.state("available")
	e.offer()
	p.state("ringing")
	p.Wait("the card", `document.getElementById("card").dataset.loaded === "card"`)
	p.Wait("the work area folded", `document.getElementById("workspace").dataset.work === "folded" && document.getElementById("pane-knowledge").hidden`)
	p.Shoot("26-ringing-folded")
	p.Key("Alt+1", "1", chromedp.ModifierAlt)
	p.Wait("the work area open beside the card", `document.getElementById("workspace").dataset.work === "open" && document.activeElement.id === "kb-q"`)
	p.Do("search during the call", chromedp.Evaluate[chromedp.Void](`document.getElementById("kb-q").value = "";
		document.getElementById("kb-district").selectedIndex = 0;
		document.getElementById("kb-kind").selectedIndex = 0;
		document.getElementById("kb-kind").dispatchEvent(new Event("change"))`),
		chromedp.SendKeys(chromedp.ID("kb-q"), "公积金"))
	p.Wait("住房公积金提取 found", `document.querySelector("#kb-results .kb-title")?.textContent === "住房公积金提取（租房）"`)
	if p.Eval(`document.getElementById("card").hidden`) != "false" {
		t.Errorf("the card is hidden beside the work area")
	}
	p.Shoot("27-ringing-knowledge")
	p.Key("Alt+0", "0", chromedp.ModifierAlt)
	p.Wait("folded again", `document.getElementById("workspace").dataset.work === "folded"`)
}

// TestWorkAreaWithoutModules: when the 留言 and 工单 modules cannot be loaded, their tabs say
// 尚未开通 and the rest of the desk works.
func TestWorkAreaWithoutModules(t *testing.T) {
	e := newEnv(t)
	e.queues()
	e.catalogue()
	p := newPage(t, e)
	// The browser fails every request for the two modules, as a server without them would.
	paused := chromedp.Events(p.Tab, fetch.RequestPaused)
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			chromedp.Call(p.Tab, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonBlockedByClient})
		}
	}()
	if _, err := chromedp.Call(p.Tab, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
		{URLPattern: "*/js/messages.js"}, {URLPattern: "*/js/workorders.js"}}}); err != nil {
		t.Fatal(err)
	}
	p.login()
	for key, tab := range map[string]string{"4": "messages", "5": "workorders"} {
		p.Key("Alt+"+key, key, chromedp.ModifierAlt)
		p.WaitText("pane-"+tab, "功能尚未开通")
	}
	p.Key("Alt+1", "1", chromedp.ModifierAlt)
	p.Do("search", chromedp.SendKeys(chromedp.ID("kb-q"), "社保卡"))
	p.Wait("社会保障卡申领", `document.querySelector("#kb-results .kb-title")?.textContent === "社会保障卡申领"`)
}
