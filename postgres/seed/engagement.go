package seed

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/foshan-hotline/hotline"
)

// subscription is a citizen's wish to be notified of a topic on a channel.
type subscription struct {
	topic, channel string
	created        time.Time
}

// message is a mailbox message (市民信箱).
type message struct {
	subject, body string
	sent, read    time.Time // read is zero when unread
}

var (
	topics       = []string{"bill_due", "application_progress", "policy_news", "social_insurance", "housing_fund"}
	channels     = []string{"sms", "app", "wechat"}
	billNames    = map[hotline.AccountKind]string{hotline.Water: "水费", hotline.Electricity: "电费", hotline.Gas: "燃气费", hotline.Telecom: "通信费"}
	policyNotice = [][2]string{
		{"关于城乡居民医疗保险缴费的通知", "城乡居民医疗保险集中缴费期为每年9月至12月，可通过粤省事、微信或银行网点缴费。"},
		{"积分入学申请开始啦", "佛山市义务教育阶段积分入学网上申请将于4月开放，请提前准备居住证及社保缴费证明。"},
		{"夏季用电高峰安全提示", "夏季空调用电量大，请注意用电安全，避免多个大功率电器同时使用同一插座。"},
		{"住房公积金年度基数调整", "住房公积金缴存基数每年7月调整一次，详情请咨询缴存单位或拨打服务热线。"},
		{"居住证签注提醒", "居住证需每年签注一次，可通过“佛山公安”服务平台或就近服务网点办理。"},
		{"防范电信网络诈骗提示", "政府部门不会通过电话要求转账或索要验证码，如遇可疑来电请拨打110。"},
	}
)

// subscriptions draws citizen p's subscriptions from r: a quarter of citizens have some.
func (g *generator) subscriptions(r *rand.Rand, p *person) []subscription {
	if !chance(r, 0.25) {
		return nil
	}
	n := between(r, 1, 3)
	seen := map[[2]int]bool{}
	var subs []subscription
	for len(subs) < n {
		t, c := r.IntN(len(topics)), r.IntN(len(channels))
		if t >= 3 && !p.realName() { // insurance news is for real-name users only
			t = r.IntN(3)
		}
		if seen[[2]int{t, c}] {
			continue
		}
		seen[[2]int{t, c}] = true
		subs = append(subs, subscription{topics[t], channels[c], randomTime(r, p.registered, g.now)})
	}
	return subs
}

// messages draws citizen p's mailbox messages from r: bill reminders and application
// notices drawn from p's own accounts and applications, and city notices.
func (g *generator) messages(r *rand.Rand, src *sources, p *person, pick weighted[int]) []message {
	if !chance(r, 0.35) {
		return nil
	}
	var msgs []message
	for k := between(r, 1, 4); k > 0; k-- {
		var m message
		switch x := r.IntN(10); {
		case x < 5:
			m = g.billMessage(r, src, p)
		case x < 7:
			m = g.applicationMessage(r, src, p, pick)
		}
		if m.subject == "" {
			n := policyNotice[r.IntN(len(policyNotice))]
			m = message{subject: n[0], body: n[1], sent: randomTime(r, p.registered, g.now)}
		}
		if m.sent.Before(p.registered) || m.sent.After(g.now) {
			continue
		}
		if chance(r, 0.6) {
			if read := m.sent.Add(time.Duration(r.IntN(72*3600)) * time.Second); !read.After(g.now) {
				m.read = read
			}
		}
		msgs = append(msgs, m)
	}
	return msgs
}

func (g *generator) billMessage(r *rand.Rand, src *sources, p *person) message {
	ar := src.accounts.at(p.index)
	accs := g.accounts(ar, p)
	k := r.IntN(len(accs))
	var bs []bill
	for j := 0; j <= k; j++ {
		bs = g.bills(ar, &accs[j])
	}
	b := bs[r.IntN(len(bs))]
	a := accs[k]
	name := billNames[a.kind]
	return message{
		subject: name + "账单提醒",
		body: fmt.Sprintf("您尾号%s的%s账户%d年%d月账单金额为%s元，请于%d年%d月%d日前缴纳。", a.number[len(a.number)-4:], name,
			b.period.Year(), b.period.Month(), yuan(b.amountFen), b.due.Year(), b.due.Month(), b.due.Day()),
		sent: b.period.AddDate(0, 1, 2).Add(9 * time.Hour),
	}
}

func (g *generator) applicationMessage(r *rand.Rand, src *sources, p *person, pick weighted[int]) message {
	apps := g.applications(src.applications.at(p.index), p, pick)
	if len(apps) == 0 {
		return message{}
	}
	a := apps[r.IntN(len(apps))]
	e := a.events[r.IntN(len(a.events))]
	state := e.status.Label()
	switch e.status {
	case hotline.StatusCorrection:
		state += "。" + e.note // what to bring
	case hotline.StatusCompleted, hotline.StatusRejected:
		state = e.note // starts with the label: where to collect, or why not
	}
	body := fmt.Sprintf("您申请的“%s”（受理编号%s）状态更新为：%s。", a.item.name, a.caseNumber, state)
	return message{
		subject: "办件进度通知",
		body:    body,
		sent:    e.at.Add(time.Duration(between(r, 60, 600)) * time.Second),
	}
}

func yuan(fen int64) string { return fmt.Sprintf("%d.%02d", fen/100, fen%100) }

func (g *generator) fillSubscriptions(put put) error {
	src := newSources(g.seed)
	var id int64
	for i := 0; i < g.n; i++ {
		p := g.person(src.core, i)
		for _, s := range g.subscriptions(src.engagement.at(i), &p) {
			id++
			if err := put(id, p.id, s.topic, s.channel, timestamp(s.created)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (g *generator) fillMessages(put put) error {
	src := newSources(g.seed)
	pick := itemPicker(g.items)
	var id int64
	for i := 0; i < g.n; i++ {
		p := g.person(src.core, i)
		r := src.engagement.at(i)
		g.subscriptions(r, &p) // the messages follow the subscriptions in the stream
		for _, m := range g.messages(r, src, &p, pick) {
			id++
			var read any
			if !m.read.IsZero() {
				read = timestamp(m.read)
			}
			if err := put(id, p.id, m.subject, m.body, timestamp(m.sent), read); err != nil {
				return err
			}
		}
	}
	return nil
}
