package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// The desk's knowledge base: the platform's service guides (办事指南), its service stations and
// the rules of its account services (hotline.knowledge_articles), searched together.
//
// Chinese has no spaces between words and PostgreSQL's text search and pg_trgm split it
// badly (or not at all, depending on the locale), so the search works on character bigrams:
// the query's runs of Chinese characters become their bigrams (户籍迁入 → 户籍 籍迁 迁入), a
// lone character stays itself, other words stay whole. An entry matches when its text
// contains at least a third of the query's terms; entries are ranked by how many terms their
// name, their keywords and their whole text contain, and for a query of three terms or more
// those scoring under a third of the best are left out. So 户籍 finds 户籍迁入, and 户籍迁移
// still finds it by 户籍 and 籍迁. The catalogue is small (tens of items, a few hundred
// stations), so a scan is faster than any index would be.

// Kinds of knowledge base entries.
const (
	KnowledgeService = "service" // a service item's guide
	KnowledgeStation = "station" // a service station
	KnowledgeRule    = "rule"    // a rule of the account services or the hotline
)

// KnowledgeQuery is a search of the knowledge base.
type KnowledgeQuery struct {
	Q        string // the words looked for; "" lists entries in their order
	Kind     string // one of the Knowledge kinds; "" searches all
	District string // a district code: only that district's stations
	Limit    int    // the most entries returned; 0 means 30
}

// KnowledgeHit is an entry found, with the fields of its kind.
type KnowledgeHit struct {
	Kind  string `json:"kind"`
	ID    int    `json:"id"`
	Title string `json:"title"`
	Score int    `json:"score"`

	// A service item's guide.
	Code            string   `json:"code,omitempty"`
	Category        string   `json:"category,omitempty"`
	Department      string   `json:"department,omitempty"`
	DepartmentPhone string   `json:"department_phone,omitempty"`
	Materials       []string `json:"materials,omitempty"`
	FeeFen          *int64   `json:"fee_fen,omitempty"`
	TimeLimitDays   *int     `json:"time_limit_days,omitempty"`
	Description     string   `json:"description,omitempty"`

	// A service station.
	DistrictCode string `json:"district_code,omitempty"`
	DistrictName string `json:"district_name,omitempty"`
	Address      string `json:"address,omitempty"`
	Hours        string `json:"hours,omitempty"`
	Phone        string `json:"phone,omitempty"`

	// A rule.
	Body string `json:"body,omitempty"`

	// Text is the entry as plain text to copy into a reply.
	Text string `json:"text"`

	base int // the score without the bonus of a name holding the whole query
}

// wholeBonus is added to the score of an entry whose name holds the whole query.
const wholeBonus = 10

// scored sets h's score from the terms' score and whether its name holds the whole query.
func (h KnowledgeHit) scored(score int, whole bool) KnowledgeHit {
	h.base, h.Score = score, score
	if whole {
		h.Score += wholeBonus
	}
	return h
}

// questionWords are words of a spoken question that say nothing about what is asked; they
// are dropped from the query before it is cut into bigrams.
var questionWords = []string{"请问", "怎么办", "怎么", "怎样", "如何", "哪里", "在哪", "什么", "需要", "要带",
	"多少钱", "多少", "多久", "几天", "可以", "能不能", "能否", "我想", "我要", "一下", "的"}

// SearchTerms returns the terms a query is matched by: the bigrams of its runs of Chinese
// characters (a run of one character is itself), its other words whole, lower-cased, each
// once, in order.
func SearchTerms(q string) []string {
	q = strings.ToLower(q)
	for _, w := range questionWords {
		q = strings.ReplaceAll(q, w, " ")
	}
	var terms []string
	add := func(t string) {
		if t != "" && !slices.Contains(terms, t) {
			terms = append(terms, t)
		}
	}
	var han, word []rune
	flush := func() {
		switch {
		case len(han) == 1:
			add(string(han))
		case len(han) > 1:
			for i := 0; i+1 < len(han); i++ {
				add(string(han[i : i+2]))
			}
		}
		if len(word) > 0 {
			add(string(word))
		}
		han, word = han[:0], word[:0]
	}
	for _, r := range q {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E: // full-width forms of ASCII
			r -= 0xFEE0
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				if len(han) > 0 {
					flush()
				}
				word = append(word, unicode.ToLower(r))
			} else {
				flush()
			}
		case unicode.Is(unicode.Han, r):
			if len(word) > 0 {
				flush()
			}
			han = append(han, r)
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-':
			if len(han) > 0 {
				flush()
			}
			word = append(word, r)
		default:
			flush()
		}
	}
	flush()
	return terms
}

// needed is how many of n terms an entry must contain to match.
func needed(n int) int {
	if n == 0 {
		return 0
	}
	return max(1, (n+2)/3)
}

// The searches of each kind: $1 the terms, $2 how many must match, $3 the limit, $4 the whole
// query lower-cased, $5 the district ("" for
// any). score = 3 × terms in the name + 2 × terms in the keywords + terms in the whole text;
// whole is whether the name contains the whole query (worth wholeBonus, 10, more).
const (
	knowledgeScore = `
	       (SELECT count(*) FROM unnest($1::text[]) g WHERE strpos(lower(name), g) > 0) * 3
	     + (SELECT count(*) FROM unnest($1::text[]) g WHERE strpos(lower(keys), g) > 0) * 2
	     + hits AS score,
	       $4 <> '' AND strpos(lower(name), $4) > 0 AS whole`

	serviceSearch = `
	WITH doc AS (
		SELECT i.id, i.code, i.name, i.category, i.materials, i.fee_fen, i.time_limit_days, i.description,
		       d.name AS department, d.phone AS department_phone, array_to_string(i.keywords, ' ') AS keys,
		       (SELECT count(*) FROM unnest($1::text[]) g
		        WHERE strpos(lower(concat_ws(' ', i.name, i.code, i.category, array_to_string(i.keywords, ' '),
		                      d.name, array_to_string(i.materials, ' '), i.description)), g) > 0) AS hits
		FROM platform.service_items i
		JOIN platform.departments d ON d.id = i.department_id),
	scored AS (
		SELECT id, code, name, category, materials, fee_fen, time_limit_days, description, department, department_phone,` +
		knowledgeScore + `
		FROM doc
		WHERE hits >= $2 AND $5::text IS NOT NULL)
	SELECT id, code, name, category, materials, fee_fen, time_limit_days, description, department, department_phone, score, whole
	FROM scored
	ORDER BY score + whole::int * 10 DESC, code
	LIMIT $3`

	stationSearch = `
	WITH doc AS (
		SELECT s.id, s.name, s.address, s.hours, s.phone, s.district_code, d.name AS district_name, d.name AS keys,
		       (SELECT count(*) FROM unnest($1::text[]) g
		        WHERE strpos(lower(concat_ws(' ', s.name, d.name, s.address, s.phone)), g) > 0) AS hits
		FROM platform.service_stations s
		JOIN platform.districts d ON d.code = s.district_code
		WHERE $5 = '' OR s.district_code = $5),
	scored AS (
		SELECT id, name, address, hours, phone, district_code, district_name,` + knowledgeScore + `
		FROM doc
		WHERE hits >= $2)
	SELECT id, name, address, hours, phone, district_code, district_name, score, whole
	FROM scored
	ORDER BY score + whole::int * 10 DESC, district_code, id
	LIMIT $3`

	ruleSearch = `
	WITH doc AS (
		SELECT a.id, a.title AS name, a.body, a.position, array_to_string(a.keywords, ' ') AS keys,
		       (SELECT count(*) FROM unnest($1::text[]) g
		        WHERE strpos(lower(concat_ws(' ', a.title, array_to_string(a.keywords, ' '), a.body)), g) > 0) AS hits
		FROM hotline.knowledge_articles a),
	scored AS (
		SELECT id, name, body, position,` + knowledgeScore + `
		FROM doc
		WHERE hits >= $2 AND $5::text IS NOT NULL)
	SELECT id, name, body, score, whole
	FROM scored
	ORDER BY score + whole::int * 10 DESC, position, id
	LIMIT $3`
)

type serviceRow struct {
	ID              int            `db:"id"`
	Code            string         `db:"code"`
	Name            string         `db:"name"`
	Category        string         `db:"category"`
	Materials       pq.StringArray `db:"materials"`
	FeeFen          int64          `db:"fee_fen"`
	TimeLimitDays   int            `db:"time_limit_days"`
	Description     string         `db:"description"`
	Department      string         `db:"department"`
	DepartmentPhone string         `db:"department_phone"`
	Score           int            `db:"score"`
	Whole           bool           `db:"whole"`
}

type stationRow struct {
	ID           int    `db:"id"`
	Name         string `db:"name"`
	Address      string `db:"address"`
	Hours        string `db:"hours"`
	Phone        string `db:"phone"`
	DistrictCode string `db:"district_code"`
	DistrictName string `db:"district_name"`
	Score        int    `db:"score"`
	Whole        bool   `db:"whole"`
}

type ruleRow struct {
	ID    int    `db:"id"`
	Name  string `db:"name"`
	Body  string `db:"body"`
	Score int    `db:"score"`
	Whole bool   `db:"whole"`
}

// SearchKnowledge searches the knowledge base: the entries of q.Kind (every kind when "")
// that match q.Q, best first (see above), at most q.Limit. Without words it lists the
// entries in their own order: the service items by code, the stations by district, the rules
// as numbered. Entries of several kinds are merged by score, services before stations before
// rules on a tie.
func SearchKnowledge(ctx context.Context, db *sqlx.DB, q KnowledgeQuery) ([]KnowledgeHit, error) {
	if q.Limit <= 0 {
		q.Limit = 30
	}
	terms := SearchTerms(q.Q)
	if terms == nil {
		terms = []string{}
	}
	whole := strings.Join(strings.Fields(strings.ToLower(q.Q)), "")
	args := []any{pq.StringArray(terms), needed(len(terms)), q.Limit, whole, q.District}
	hits := make([]KnowledgeHit, 0, q.Limit)
	kinds := []string{KnowledgeService, KnowledgeStation, KnowledgeRule}
	if q.Kind != "" {
		kinds = []string{q.Kind}
	}
	for _, kind := range kinds {
		switch kind {
		case KnowledgeService:
			var rows []serviceRow
			if err := db.SelectContext(ctx, &rows, serviceSearch, args...); err != nil {
				return nil, fmt.Errorf("knowledge search of service items: %w", err)
			}
			for _, r := range rows {
				hits = append(hits, r.hit())
			}
		case KnowledgeStation:
			var rows []stationRow
			if err := db.SelectContext(ctx, &rows, stationSearch, args...); err != nil {
				return nil, fmt.Errorf("knowledge search of stations: %w", err)
			}
			for _, r := range rows {
				hits = append(hits, r.hit())
			}
		case KnowledgeRule:
			var rows []ruleRow
			if err := db.SelectContext(ctx, &rows, ruleSearch, args...); err != nil {
				return nil, fmt.Errorf("knowledge search of rules: %w", err)
			}
			for _, r := range rows {
				hits = append(hits, r.hit())
			}
		default:
			return nil, fmt.Errorf("knowledge search: kind %q: %w", kind, ErrBadInput)
		}
	}
	if len(kinds) > 1 {
		slices.SortStableFunc(hits, func(a, b KnowledgeHit) int { return b.Score - a.Score })
	}
	// A query of several words that found a good match drops the entries that share only a
	// common word with it (身份证丢了怎么补办: every item whose materials include 身份证).
	if len(terms) >= 3 && len(hits) > 0 {
		best := slices.MaxFunc(hits, func(a, b KnowledgeHit) int { return a.base - b.base }).base
		hits = slices.DeleteFunc(hits, func(h KnowledgeHit) bool { return h.base*3 < best })
	}
	if len(hits) > q.Limit {
		hits = hits[:q.Limit]
	}
	return hits, nil
}

func (r serviceRow) hit() KnowledgeHit {
	fee, days := r.FeeFen, r.TimeLimitDays
	h := KnowledgeHit{Kind: KnowledgeService, ID: r.ID, Title: r.Name, Code: r.Code, Category: r.Category,
		Department: r.Department, DepartmentPhone: r.DepartmentPhone, Materials: []string(r.Materials),
		FeeFen: &fee, TimeLimitDays: &days, Description: r.Description}.scored(r.Score, r.Whole)
	var b strings.Builder
	fmt.Fprintf(&b, "【%s】", r.Name)
	if r.Description != "" {
		b.WriteString(r.Description)
	}
	fmt.Fprintf(&b, "\n办理部门：%s", r.Department)
	if r.DepartmentPhone != "" {
		fmt.Fprintf(&b, "（咨询电话 %s）", r.DepartmentPhone)
	}
	b.WriteString("\n所需材料：")
	for i, m := range r.Materials {
		fmt.Fprintf(&b, "%s%d. %s", map[bool]string{true: "", false: "；"}[i == 0], i+1, m)
	}
	fmt.Fprintf(&b, "\n收费标准：%s\n办理时限：%d个工作日", feeText(r.FeeFen), r.TimeLimitDays)
	h.Text = b.String()
	return h
}

func (r stationRow) hit() KnowledgeHit {
	return KnowledgeHit{Kind: KnowledgeStation, ID: r.ID, Title: r.Name, DistrictCode: r.DistrictCode,
		DistrictName: r.DistrictName, Address: r.Address, Hours: r.Hours, Phone: r.Phone,
		Text: fmt.Sprintf("【%s】%s\n地址：%s\n办公时间：%s\n电话：%s", r.Name, r.DistrictName, r.Address, r.Hours, r.Phone),
	}.scored(r.Score, r.Whole)
}

func (r ruleRow) hit() KnowledgeHit {
	return KnowledgeHit{Kind: KnowledgeRule, ID: r.ID, Title: r.Name, Body: r.Body,
		Text: fmt.Sprintf("【%s】%s", r.Name, r.Body)}.scored(r.Score, r.Whole)
}

// feeText writes an amount in fen as a fee is told: 免费, 120元, 12元5角, 0.05元 as 5分.
func feeText(fen int64) string {
	if fen == 0 {
		return "免费"
	}
	s := ""
	if y := fen / 100; y > 0 {
		s = fmt.Sprintf("%d元", y)
	}
	if j := fen % 100 / 10; j > 0 {
		s += fmt.Sprintf("%d角", j)
	}
	if f := fen % 10; f > 0 {
		s += fmt.Sprintf("%d分", f)
	}
	return s
}
