// card.js: the caller's card. The number and the queue show at once from the snapshot; the
// rest — the matched citizen (masked ID), this call's IVR journey, the citizen's accounts
// with their latest bills, applications, social insurance and housing fund (or why they are
// hidden) and the last 90 days — comes from GET /api/calls/{id}/card, read once per call.
// The server writes the audit row for each read; the card keeps nothing after the call.

import * as api from "./api.js";
import { date, dayTime, h, now, period, spoken, yuan } from "./format.js";

const levels = { real_name: "实名注册用户", ordinary: "普通注册用户" };
const citizenStatus = { suspended: "账户已暂停", cancelled: "账户已注销" };
const utilityKinds = { water: "水费", electricity: "电费", gas: "燃气费", telecom: "通信费" };
const applicationStatus = { accepted: "已受理", reviewing: "审核中", correction: "待补正", completed: "已办结", rejected: "不予受理" };
const accountStatus = { active: "正常", suspended: "暂停", closed: "已关闭" };
const outcomes = {
  self_served: "自助办结", agent: "人工接听", abandoned: "放弃", message: "留言", callback: "预约回拨",
  transferred: "已转接", overflow: "溢出", error: "系统出错", hangup: "挂机", node_lost: "通话中断",
  overload: "线路忙未接入",
};
const languages = { zh: "普通话", yue: "粤语", en: "English" };

// pick returns the first of o's fields that is set.
function pick(o, ...names) {
  if (!o) return undefined;
  for (const n of names) if (o[n] !== undefined && o[n] !== null && o[n] !== "") return o[n];
  return undefined;
}

function list(v) {
  return Array.isArray(v) ? v : [];
}

function section(title, ...content) {
  return h("section", { class: "card-section" }, h("h3", null, title), ...content);
}

function empty(msg) {
  return h("p", { class: "empty" }, msg);
}

/** createCard wires the card in the stage. */
export function createCard() {
  const root = document.getElementById("card");
  let callId = "";
  let base = null; // what the snapshot says of the call
  let card = null; // the server's card, once read
  let failure = null; // why it could not be read
  let seq = 0;

  // How long each card took from the snapshot that named the call to the card on screen,
  // for the support desk's console and the screen-pop measurements.
  window.deskPops = window.deskPops || [];

  async function load(id) {
    const mine = ++seq;
    const t0 = performance.now();
    try {
      // A ringing callback has no call yet: its card is read by its offer ("offer:<id>").
      const c = id.startsWith("offer:")
        ? await api.get(`/api/offers/${encodeURIComponent(id.slice(6))}/card`)
        : await api.get(`/api/calls/${encodeURIComponent(id)}/card`);
      if (mine !== seq) return;
      card = c || {};
      failure = null;
    } catch (e) {
      if (mine !== seq) return;
      failure = e;
    }
    render();
    window.deskPops.push({ call: id, ms: Math.round(performance.now() - t0), ok: !!card });
  }

  function render() {
    root.dataset.call = callId;
    root.dataset.loaded = card ? "card" : failure ? "failed" : "loading";
    root.replaceChildren(header(), ...body());
  }

  function header() {
    const c = card && card.citizen;
    const number = pick(card, "caller_number") || base.caller_number || "未显示号码";
    const lang = languages[pick(card && card.call, "language") || base.language];
    const who = c
      ? h("div", { class: "who-line" },
          h("span", { class: "citizen-name" }, c.name),
          h("span", { class: "badge" + (c.level === "real_name" ? " real" : "") }, levels[c.level] || c.level || ""),
          citizenStatus[c.status] ? h("span", { class: "badge warn" }, citizenStatus[c.status]) : null)
      : card
        ? h("div", { class: "who-line" }, h("span", { class: "citizen-name unknown" }, "未注册号码"),
            h("span", { class: "muted" }, "未匹配到平台用户，可请市民提供手机号或受理编号"))
        : h("div", { class: "who-line" }, h("span", { class: "citizen-name muted" }, failure ? "来电详情暂不可用" : "正在读取来电信息…"));
    const facts = c
      ? h("dl", { class: "facts" },
          fact("身份证号", pick(c, "id_number_mask", "id_number_masked", "id_number") || "—", "mono"),
          fact("所属区", pick(c, "district_name", "district") || "—"),
          c.mobile && c.mobile !== number ? fact("登记手机", c.mobile, "mono") : null,
          c.verified_at ? fact("实名认证", date(c.verified_at)) : null)
      : null;
    return h("header", { class: "card-head" },
      h("div", { class: "card-number" },
        h("span", { class: "number mono" }, number),
        h("span", { class: "queue-tag" }, base.queue_name || base.queue_id || ""),
        lang && lang !== "普通话" ? h("span", { class: "badge" }, lang) : null),
      who, facts);
  }

  function body() {
    if (failure) {
      const gone = failure.status === 404 && /no such endpoint/.test(failure.reason);
      return [h("p", { class: "card-failure", data: { status: String(failure.status) } },
        gone ? "来电详情服务尚未开通：请按来电号码询问市民。" : `来电详情读取失败：${failure.message}`)];
    }
    if (!card) return [h("p", { class: "card-loading" }, "正在读取…")];
    return [h("div", { class: "card-grid" },
      h("div", { class: "card-col" }, journey(), history()),
      h("div", { class: "card-col" }, accounts(), applications(), insurance()))];
  }

  // exitOf names how a step was left: its label, or the exit itself when it is words for
  // people (未找到), never a flow's internal name (next, case_2, agent:1).
  const exitOf = (s) => pick(s, "exit_label") || (/[^\x00-\x7f]/.test(s.exit || "") ? s.exit : "");

  // inputOf is what the caller keyed, unless the way the step was left says it already (a
  // menu left with 按1 after the caller pressed 1).
  const inputOf = (s) => (s.input && exitOf(s) !== `按${s.input}` ? s.input : "");

  function journey() {
    const j = card.journey || card.ivr || {};
    const steps = list(Array.isArray(j) ? j : pick(j, "steps"));
    const verified = pick(j, "verified") ?? pick(card, "verified");
    const ivrSeconds = pick(j, "ivr_seconds") ?? pick(card, "ivr_seconds");
    const queueSeconds = pick(j, "queue_seconds") ?? pick(card, "queue_seconds");
    if (callId.startsWith("offer:")) {
      // A callback's card: the journey of the earlier call that asked for it (or whose work
      // order is followed up); nobody is verified on a call the hotline places.
      const items = steps.map((s) =>
        h("li", { class: "step" },
          h("span", { class: "step-what" }, pick(s, "summary") || `${s.flow || ""} · ${s.node || ""}`),
          s.detail ? h("span", { class: "step-detail" }, s.detail) : null,
          inputOf(s) ? h("span", { class: "step-input mono" }, `输入 ${inputOf(s)}`) : null,
          exitOf(s) ? h("span", { class: "step-exit" }, `→ ${exitOf(s)}`) : null));
      return section("原来电的自助语音经过",
        h("p", { class: "journey-meta" }, h("span", { class: "badge" }, "回拨电话不做身份验证")),
        items.length ? h("ol", { class: "journey" }, items) : empty("无原来电记录"));
    }
    const meta = h("p", { class: "journey-meta" },
      verified === true ? h("span", { class: "badge ok" }, "本次来电已验证身份") : null,
      verified === false ? h("span", { class: "badge warn" }, "身份验证未通过") : null,
      verified === undefined || verified === null ? h("span", { class: "badge" }, "本次来电未验证身份") : null,
      ivrSeconds !== undefined ? h("span", null, `自助语音 ${spoken(ivrSeconds)}`) : null,
      queueSeconds !== undefined ? h("span", null, `排队 ${spoken(queueSeconds)}`) : null);
    const items = steps.map((s) =>
      h("li", { class: "step" + (s.sensitive ? " sensitive" : "") },
        h("span", { class: "step-what" }, pick(s, "summary", "text", "label") || `${s.flow || ""} · ${s.node || ""}`),
        pick(s, "detail", "heard") ? h("span", { class: "step-detail" }, pick(s, "detail", "heard")) : null,
        inputOf(s) ? h("span", { class: "step-input mono" }, `输入 ${inputOf(s)}`) : null,
        exitOf(s) ? h("span", { class: "step-exit" }, `→ ${exitOf(s)}`) : null,
      ));
    return section("本次来电的自助语音经过", meta,
      items.length ? h("ol", { class: "journey" }, items) : empty("来电直接进入人工队列"));
  }

  function accounts() {
    const rows = list(card.accounts).map((a) => {
      const b = pick(a, "latest_bill", "bill");
      let status = "—";
      let cls = "";
      if (b) {
        if (b.paid_at || b.paid === true) status = "已缴";
        else if (overdue(b)) ((status = "逾期未缴"), (cls = "overdue"));
        else status = "未缴";
      }
      return h("tr", { class: cls },
        h("td", { title: a.provider || "" }, h("b", null, utilityKinds[a.kind] || a.kind), " ",
          h("span", { class: "mono" }, a.account_number || ""), h("span", { class: "sub" }, a.provider || "")),
        h("td", { class: "nowrap" }, b ? period(b.period) : "—"),
        h("td", { class: "num" }, b ? yuan(b.amount_fen) : "—"),
        h("td", { class: "nowrap" }, b && b.due_date ? date(b.due_date) : "—"),
        h("td", { class: "status nowrap" }, status));
    });
    return section("公用事业账户",
      rows.length
        ? h("table", { class: "grid" },
            h("thead", null, h("tr", null, ...["账户 · 户号", "最近账单", "金额", "缴费期限", "状态"].map((t) => h("th", null, t)))),
            h("tbody", null, rows))
        : empty(card.citizen ? "无公用事业账户" : "—"));
  }

  function applications() {
    const rows = list(card.applications).map((a) =>
      h("tr", { class: a.status === "correction" ? "attention" : "" },
        h("td", null, h("b", null, pick(a, "item_name", "item") || "—"), h("span", { class: "sub mono" }, a.case_number)),
        h("td", null, pick(a, "department_name", "department") || "—"),
        h("td", { class: "status nowrap" }, applicationStatus[a.status] || a.status),
        h("td", { class: "nowrap" }, dayTime(pick(a, "updated_at", "submitted_at")))));
    return section("办件",
      rows.length
        ? h("table", { class: "grid" },
            h("thead", null, h("tr", null, ...["事项 · 受理编号", "部门", "状态", "更新"].map((t) => h("th", null, t)))),
            h("tbody", null, rows))
        : empty(card.citizen ? "无在办办件" : "—"));
  }

  function insurance() {
    const ins = card.insurance;
    const hidden = pick(card, "insurance_hidden_reason", "hidden_reason") || pick(ins, "hidden_reason");
    if (hidden || !ins) {
      return section("社保 · 公积金", h("p", { class: "hidden-note" }, hidden || (card.citizen ? "不显示" : "—")));
    }
    const si = pick(ins, "social_insurance", "social");
    const hf = pick(ins, "housing_fund", "fund");
    const row = (name, a, months, last, extra) =>
      a
        ? h("tr", null, h("td", null, h("b", null, name), extra ? h("span", { class: "sub" }, extra) : null),
            h("td", { class: "nowrap" }, accountStatus[a.status] || a.status || "—"),
            h("td", { class: "num" }, yuan(a.balance_fen)),
            h("td", { class: "nowrap" }, months !== undefined && months !== null ? `${months} 个月` : "—"),
            h("td", { class: "nowrap" }, last ? period(last) : "—"))
        : h("tr", null, h("td", null, h("b", null, name)), h("td", { colspan: "4", class: "empty" }, "无账户"));
    return section("社保 · 公积金",
      h("table", { class: "grid" },
        h("thead", null, h("tr", null, ...["账户", "状态", "余额", "已缴", "最近缴存"].map((t) => h("th", null, t)))),
        h("tbody", null,
          row("社保", si, si && si.months_paid, si && si.last_paid_period),
          row("公积金", hf, hf && hf.months_paid, hf && hf.last_deposit_period, hf && hf.employer))));
  }

  function history() {
    const hist = card.history || {};
    const calls = list(pick(hist, "calls") || card.recent_calls).map((c) =>
      h("li", null, h("span", { class: "when" }, dayTime(c.started_at)),
        h("span", null, outcomes[c.outcome] || c.outcome || "进行中",
          pick(c, "queue_name", "queue") ? h("span", { class: "sub" }, pick(c, "queue_name", "queue")) : null)));
    const orders = list(pick(hist, "work_orders") || card.work_orders).map((o) =>
      h("li", null, h("span", { class: "when" }, dayTime(o.created_at)),
        h("span", null, [orderCategories[o.category] || o.category, orderStatuses[o.status] || o.status].filter(Boolean).join(" · "),
          h("span", { class: "sub" }, [pick(o, "number", "id"), o.title || o.summary].filter(Boolean).join(" "))))); 
    return section("近 90 天",
      h("h4", null, `来电 ${calls.length} 次`), calls.length ? h("ul", { class: "plain" }, calls) : empty("无"),
      h("h4", { class: "next" }, `工单 ${orders.length} 件`), orders.length ? h("ul", { class: "plain" }, orders) : empty("无"));
  }

  return {
    update(s) {
      const call = s.call || (s.offer && { id: s.offer.call_id, ...s.offer }) || null;
      const id = (s.offer && (s.offer.call_id || (s.offer.kind === "callback" && `offer:${s.offer.id}`))) || (s.call && s.call.id) || (s.wrap_up && s.wrap_up.call_id) || "";
      // A callback's card stays while the citizen is dialled, while they talk and in the
      // wrap-up: it is the one read for the offer, with the journey of the call that asked
      // for the callback (after a refresh the call to the citizen has the same card).
      const st = s.status && s.status.state;
      if (callId.startsWith("offer:") && !s.offer && ((st === "talking" && (!id || (s.call && s.call.callback))) || st === "wrap_up")) return;
      if (!id) {
        if (callId) {
          callId = "";
          card = failure = base = null;
          seq++;
          root.replaceChildren();
          root.hidden = true;
        }
        return;
      }
      base = { ...(base && id === callId ? base : {}), ...(call || {}), ...(s.wrap_up && !call ? { queue_name: s.wrap_up.queue_name } : {}) };
      if (id !== callId) {
        callId = id;
        card = failure = null;
        root.hidden = false;
        render();
        load(id);
      }
    },
    /** retry reads the card again (after a failure). */
    retry() {
      if (callId) load(callId);
    },
  };
}

// The work orders' categories and statuses as the history names them.
const orderCategories = { consultation: "咨询", help: "求助", complaint: "投诉", suggestion: "建议", praise: "表扬", report: "举报" };
const orderStatuses = {
  accepted: "已受理", dispatched: "已派单", signed: "已签收", in_progress: "办理中", resolved: "已办结", followed_up: "已回访",
  archived: "已归档",
};

function fact(term, value, cls) {
  return h("div", null, h("dt", null, term), h("dd", { class: cls || null }, value));
}

/** overdue tells an unpaid bill overdue as the server does (the IVR says the same); a bill
 *  without its flag is overdue after its due date, by the server's day in Foshan. */
function overdue(b) {
  if (typeof b.overdue === "boolean") return b.overdue;
  return Boolean(b.due_date) && String(b.due_date).slice(0, 10) < todayISO();
}

/** todayISO is the server's day in Foshan as 2026-12-05. */
function todayISO() {
  return new Date(now()).toLocaleDateString("sv-SE", { timeZone: "Asia/Shanghai" });
}
