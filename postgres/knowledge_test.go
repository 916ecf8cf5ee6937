package postgres_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/pii"
	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
	"github.com/foshan-hotline/hotline/postgres/seed"
)

func TestSearchTerms(t *testing.T) {
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"户籍迁入", []string{"户籍", "籍迁", "迁入"}},
		{"户", []string{"户"}},
		{"  户籍 户籍 ", []string{"户籍"}},
		{"GA-HJ 户籍", []string{"ga-hj", "户籍"}},
		{"ＧＡ护照", []string{"ga", "护照"}},
		{"请问怎么办护照？", []string{"护照"}},
		{"身份证丢了怎么补办", []string{"身份", "份证", "证丢", "丢了", "补办"}},
		{"0757-83338110", []string{"0757-83338110"}},
		{"？！", nil},
	} {
		if got := postgres.SearchTerms(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("SearchTerms(%q) = %q, want %q", tc.q, got, tc.want)
		}
	}
}

func titles(hits []postgres.KnowledgeHit) []string {
	var s []string
	for _, h := range hits {
		s = append(s, h.Kind+":"+h.Title)
	}
	return s
}

func TestSearchKnowledge(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	search := func(q postgres.KnowledgeQuery) []postgres.KnowledgeHit {
		t.Helper()
		hits, err := postgres.SearchKnowledge(ctx, f.db, q)
		if err != nil {
			t.Fatalf("SearchKnowledge(%+v): %v", q, err)
		}
		return hits
	}
	for _, tc := range []struct {
		name  string
		q     postgres.KnowledgeQuery
		first string // the best hit
		not   string // a hit that must not be there
	}{
		{"a word inside a name", postgres.KnowledgeQuery{Q: "户籍"}, "service:户籍迁入", "service:营业执照办理"},
		{"a partial word", postgres.KnowledgeQuery{Q: "户籍迁移"}, "service:户籍迁入", "service:营业执照办理"},
		{"a keyword", postgres.KnowledgeQuery{Q: "迁户口", Kind: postgres.KnowledgeService}, "service:户籍迁入", ""},
		{"a spoken question", postgres.KnowledgeQuery{Q: "请问怎么办营业执照？"}, "service:营业执照办理", "service:户籍迁入"},
		{"a material", postgres.KnowledgeQuery{Q: "经营场所证明", Kind: postgres.KnowledgeService}, "service:营业执照办理", ""},
		{"a department", postgres.KnowledgeQuery{Q: "市场监督管理局", Kind: postgres.KnowledgeService}, "service:营业执照办理", "service:户籍迁入"},
		{"a rule", postgres.KnowledgeQuery{Q: "注销"}, "rule:账号注销", ""},
		{"a rule by its keywords", postgres.KnowledgeQuery{Q: "实名认证", Kind: postgres.KnowledgeRule}, "rule:实名认证", ""},
		{"a rule by its body", postgres.KnowledgeQuery{Q: "忘记密码"}, "rule:电话服务密码", ""},
		{"a station by its street", postgres.KnowledgeQuery{Q: "石湾"}, "station:石湾镇街道社区服务站", "station:桂城街道社区服务站"},
		{"a station by its district", postgres.KnowledgeQuery{Q: "南海", Kind: postgres.KnowledgeStation}, "station:桂城街道社区服务站", "station:石湾镇街道社区服务站"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := titles(search(tc.q))
			if len(got) == 0 || got[0] != tc.first {
				t.Errorf("%q: %q, want %s first", tc.q.Q, got, tc.first)
			}
			if tc.not != "" && slices.Contains(got, tc.not) {
				t.Errorf("%q: %q, want no %s", tc.q.Q, got, tc.not)
			}
		})
	}

	if got := search(postgres.KnowledgeQuery{Q: "火星移民"}); len(got) != 0 {
		t.Errorf("火星移民 found %q", titles(got))
	}

	// The stations of a district, in their order; with words, only that district's.
	if got, want := titles(search(postgres.KnowledgeQuery{Kind: postgres.KnowledgeStation, District: "440604"})),
		[]string{"station:祖庙街道社区服务站", "station:石湾镇街道社区服务站"}; !slices.Equal(got, want) {
		t.Errorf("stations of 440604: %q, want %q", got, want)
	}
	if got := search(postgres.KnowledgeQuery{Q: "桂城", Kind: postgres.KnowledgeStation, District: "440604"}); len(got) != 0 {
		t.Errorf("桂城 in 禅城区: %q, want none", titles(got))
	}
	if got := search(postgres.KnowledgeQuery{Q: "社区服务站", District: "440605"}); !slices.Equal(titles(got), []string{"station:桂城街道社区服务站"}) {
		t.Errorf("社区服务站 in 南海区: %q", titles(got))
	}

	// Every rule, numbered; the limit holds.
	rules := search(postgres.KnowledgeQuery{Kind: postgres.KnowledgeRule})
	if len(rules) < 8 || rules[0].Title != "账号注册" {
		t.Errorf("rules: %q", titles(rules))
	}
	if got := search(postgres.KnowledgeQuery{Kind: postgres.KnowledgeRule, Limit: 3}); len(got) != 3 {
		t.Errorf("3 rules: %d", len(got))
	}

	// What an entry carries, and its text to copy.
	hukou := search(postgres.KnowledgeQuery{Q: "户籍迁入", Kind: postgres.KnowledgeService})[0]
	if hukou.Department != "佛山市公安局" || hukou.DepartmentPhone != "0757-110" || !slices.Equal(hukou.Materials, []string{"户口簿", "身份证", "迁移证"}) ||
		hukou.FeeFen == nil || *hukou.FeeFen != 0 || hukou.TimeLimitDays == nil || *hukou.TimeLimitDays != 20 {
		t.Errorf("户籍迁入: %+v", hukou)
	}
	for _, want := range []string{"【户籍迁入】", "办理部门：佛山市公安局（咨询电话 0757-110）", "所需材料：1. 户口簿；2. 身份证；3. 迁移证", "收费标准：免费", "办理时限：20个工作日"} {
		if !strings.Contains(hukou.Text, want) {
			t.Errorf("户籍迁入's text %q lacks %q", hukou.Text, want)
		}
	}
	residence := search(postgres.KnowledgeQuery{Q: "居住证申领", Kind: postgres.KnowledgeService})[0]
	if !strings.Contains(residence.Text, "收费标准：20元") {
		t.Errorf("居住证申领's text: %q", residence.Text)
	}
	station := search(postgres.KnowledgeQuery{Q: "祖庙"})[0]
	if station.DistrictName != "禅城区" || station.Address != "禅城区祖庙路21号" || station.Phone != "0757-83000001" ||
		!strings.Contains(station.Text, "办公时间：周一至周五 9:00-17:00") {
		t.Errorf("祖庙: %+v", station)
	}
	cancel := search(postgres.KnowledgeQuery{Q: "注销", Kind: postgres.KnowledgeRule})[0]
	if !strings.Contains(cancel.Text, "本人携带居民身份证原件到服务网点现场办理") {
		t.Errorf("注销: %q", cancel.Text)
	}

	if _, err := postgres.SearchKnowledge(ctx, f.db, postgres.KnowledgeQuery{Q: "x", Kind: "faq"}); !errors.Is(err, postgres.ErrBadInput) {
		t.Errorf("kind faq: %v, want ErrBadInput", err)
	}
}

// TestAgentLists: an agent's recent calls and the callbacks of their queues; calling one back
// now.
func TestAgentLists(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	agent := f.id64(t, `INSERT INTO hotline.agents (username, display_name, role, password_hash, endpoint)
		VALUES ('a1', '李晓敏', 'agent', 'x', 'PJSIP/1001') RETURNING id`)
	other := f.id64(t, `INSERT INTO hotline.agents (username, display_name, role, password_hash, endpoint)
		VALUES ('a2', '陈志华', 'agent', 'x', 'PJSIP/1002') RETURNING id`)
	f.exec(t, `INSERT INTO hotline.skills (id, name) VALUES ('utilities', '公用事业'), ('tax', '税务')`)
	f.exec(t, `INSERT INTO hotline.queues (id, name, skill_id) VALUES ('utilities', '公用事业', 'utilities'), ('tax', '税务咨询', 'tax')`)
	f.exec(t, `INSERT INTO hotline.agent_skills (agent_id, skill_id) VALUES ($1, 'utilities'), ($2, 'tax')`, agent, other)
	f.exec(t, `INSERT INTO hotline.dispositions (queue_id, code, name) VALUES ('utilities', 'answered', '已解答')`)

	base := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	for i, c := range []struct {
		id, number, state string
		talk              int
		agent             int64
	}{
		{"00000000-0000-4000-8000-000000000001", "13800138000", "accepted", 185, agent},
		{"00000000-0000-4000-8000-000000000002", "13900139000", "timeout", 0, agent},
		{"00000000-0000-4000-8000-000000000003", "13700137000", "accepted", 60, other},
		{"00000000-0000-4000-8000-000000000004", "13600136000", "pending", 0, agent},
	} {
		at := base.Add(time.Duration(i) * time.Minute)
		f.exec(t, `INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at, outcome)
			VALUES ($1, 'n1', $5, $2, $3, CASE WHEN $4 = 'accepted' THEN 'agent' END)`, c.id, c.number, at, c.state, c.id)
		f.exec(t, `INSERT INTO hotline.offers (call_id, agent_id, queue_id, state, offered_at, decided_at, talk_ended_at, disposition)
			VALUES ($1, $2, 'utilities', $3, $4, CASE WHEN $3 <> 'pending' THEN $4::timestamptz + interval '5 seconds' END,
			        CASE WHEN $3 = 'accepted' THEN $4::timestamptz + interval '5 seconds' + make_interval(secs => $5) END,
			        CASE WHEN $3 = 'accepted' THEN 'answered' ELSE '' END)`, c.id, c.agent, c.state, at, c.talk)
	}
	calls, err := postgres.RecentCalls(ctx, f.db, agent, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 || calls[0].Number != "13900139000" || calls[0].State != "timeout" ||
		calls[1].Number != "13800138000" || calls[1].TalkSeconds != 185 || calls[1].DispositionName != "已解答" ||
		calls[1].QueueName != "公用事业" || calls[1].Outcome != "agent" {
		t.Errorf("recent calls: %+v", calls)
	}
	if calls, _ := postgres.RecentCalls(ctx, f.db, agent, 1); len(calls) != 1 {
		t.Errorf("limit 1: %d calls", len(calls))
	}

	cb := func(number, queue, status string, due time.Time) int64 {
		return f.id64(t, `INSERT INTO hotline.callbacks (number, queue_id, status, requested_at, next_attempt_at)
			VALUES ($1, NULLIF($2, ''), $3, $4, $4) RETURNING id`, number, queue, status, due)
	}
	later := cb("13800000001", "utilities", "pending", base.Add(2*time.Hour))
	soon := cb("13800000002", "utilities", "pending", base.Add(time.Hour))
	taxes := cb("13800000003", "tax", "pending", base)
	done := cb("13800000004", "utilities", "done", base)
	f.exec(t, `INSERT INTO hotline.callback_attempts (callback_id, agent_id, attempt, started_at, outcome) VALUES ($1, $2, 1, $3, 'answered')`,
		done, agent, base)
	f.exec(t, `UPDATE hotline.callbacks SET attempts = 1, last_outcome = 'answered' WHERE id = $1`, done)
	list := func() []int64 {
		t.Helper()
		cbs, err := postgres.AgentCallbacks(ctx, f.db, agent, base.Add(-24*time.Hour), 50)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, c := range cbs {
			ids = append(ids, c.ID)
			if c.ID == done && (!c.Mine || c.Attempts != 1 || c.Status != "done") {
				t.Errorf("the callback done: %+v", c)
			}
		}
		return ids
	}
	if got, want := list(), []int64{soon, later, done}; !slices.Equal(got, want) {
		t.Errorf("callbacks %v, want %v (waiting by due time, then the agent's own)", got, want)
	}

	now := base.Add(10 * time.Minute)
	if err := postgres.CallBackNow(ctx, f.db, agent, later, now); err != nil {
		t.Fatal(err)
	}
	if got, want := list(), []int64{later, soon, done}; !slices.Equal(got, want) {
		t.Errorf("after call back now: %v, want %v", got, want)
	}
	var due time.Time
	var preferred int64
	if err := f.db.QueryRow(`SELECT next_attempt_at, preferred_agent_id FROM hotline.callbacks WHERE id = $1`, later).Scan(&due, &preferred); err != nil {
		t.Fatal(err)
	}
	if !due.Equal(now) || preferred != agent {
		t.Errorf("due %v preferred %d, want %v and %d", due, preferred, now, agent)
	}
	for _, tc := range []struct {
		id   int64
		want error
	}{
		{taxes, hotline.ErrNotFound}, // another skill's queue
		{done, hotline.ErrConflict},
		{999999, hotline.ErrNotFound},
	} {
		if err := postgres.CallBackNow(ctx, f.db, agent, tc.id, now); !errors.Is(err, tc.want) {
			t.Errorf("call back %d now: %v, want %v", tc.id, err, tc.want)
		}
	}
}

// BenchmarkSearchKnowledge searches the seeded catalogue (about forty service items, thirty
// stations, the rules) as agents do: a word, a partial phrase, a spoken question, a district.
func BenchmarkSearchKnowledge(b *testing.B) {
	db := pgtest.DB(b)
	keys, err := pii.GenerateKeys()
	if err != nil {
		b.Fatal(err)
	}
	p, err := pii.NewProtector(keys)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := seed.Run(b.Context(), db, seed.Options{Citizens: 20, Seed: 1, Protector: p, PINCost: bcrypt.MinCost}); err != nil {
		b.Fatal(err)
	}
	for _, q := range []postgres.KnowledgeQuery{
		{Q: "户籍"}, {Q: "户籍迁移"}, {Q: "身份证丢了怎么补办"}, {Kind: postgres.KnowledgeStation, District: "440605"},
	} {
		name := q.Q
		if name == "" {
			name = "district"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := postgres.SearchKnowledge(b.Context(), db, q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
