// workorders.js: work orders (工单) — the list with its filters (status, due, category,
// department, number or caller), overdue orders first and flagged, each with its deadline and
// the time left, and a CSV export; an order's detail with its history and the actions this user
// may take now (allowed_actions), each with the fields it needs. A refusal shows the server's
// reason. The desk mounts it in its work area (mount(root, ctx)); the department page mounts
// it alone, for a department user's own orders.
//
// Text copied from the knowledge base (a desk:copy event) goes into the reply, note or
// description field the agent last typed in.

import { h, now, text } from "./format.js";

/** Names of the codes of agentdesk/workorder, in Chinese. */
export const categories = {
  consultation: "咨询",
  help: "求助",
  complaint: "投诉",
  suggestion: "建议",
  praise: "表扬",
  report: "举报",
};
export const urgencies = { normal: "普通", urgent: "紧急", emergency: "应急" };
export const statuses = {
  accepted: "已受理",
  dispatched: "已派单",
  signed: "已签收",
  in_progress: "办理中",
  resolved: "已办结",
  followed_up: "已回访",
  archived: "已归档",
};
export const actionNames = {
  create: "受理",
  dispatch: "派单",
  sign: "签收",
  start: "开始办理",
  resolve: "办结回复",
  return: "退单",
  request_extension: "申请延期",
  approve_extension: "同意延期",
  reject_extension: "不同意延期",
  follow_up: "回访",
  follow_up_call: "回访来电",
  reopen: "重新办理",
  archive: "归档",
  merge: "并单",
  urge: "催办",
};
const satisfactionNames = { 1: "很不满意", 2: "不满意", 3: "基本满意", 4: "满意", 5: "很满意" };
const extensionStates = { requested: "待审批", approved: "已同意", rejected: "未同意" };

const zone = "Asia/Shanghai";
const dayFmt = new Intl.DateTimeFormat("zh-CN", { timeZone: zone, year: "numeric", month: "long", day: "numeric" });
const weekdayFmt = new Intl.DateTimeFormat("zh-CN", { timeZone: zone, weekday: "long" });
const shortFmt = new Intl.DateTimeFormat("zh-CN", { timeZone: zone, month: "long", day: "numeric" });
const hmFmt = new Intl.DateTimeFormat("zh-CN", { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const isoDayFmt = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" });

function parse(v) {
  const d = v ? new Date(v) : null;
  return d && !Number.isNaN(d.getTime()) ? d : null;
}

// A deadline at midnight in Asia/Shanghai (UTC+8, no summer time) is the end of the day before.
function dueDay(v) {
  const d = parse(v);
  if (d && (d.getTime() + 8 * 3600000) % 86400000 === 0) return new Date(d.getTime() - 1000);
  return d;
}

/** longDay formats a time's day as 2026年12月22日 星期二 (Asia/Shanghai). */
export function longDay(v) {
  const d = parse(v);
  return d ? `${dayFmt.format(d)} ${weekdayFmt.format(d)}` : "—";
}

/** stamp formats a time as 12月5日 14:05 (Asia/Shanghai). */
export function stamp(v) {
  const d = parse(v);
  return d ? `${shortFmt.format(d)} ${hmFmt.format(d)}` : "—";
}

/** isoDay is a time's day as 2026-12-22 in Asia/Shanghai (for a date input). */
export function isoDay(v) {
  const d = parse(v);
  return d ? isoDayFmt.format(d) : "";
}

/** left says how long until a deadline: 剩5天, 剩3小时, 超期2天. */
export function left(due) {
  const d = parse(due);
  if (!d) return "";
  const ms = d.getTime() - now();
  const a = Math.abs(ms);
  const hours = Math.floor(a / 3600000);
  const span = hours >= 48 ? `${Math.floor(hours / 24)}天` : hours >= 1 ? `${hours}小时` : `${Math.max(1, Math.floor(a / 60000))}分钟`;
  return ms >= 0 ? `剩${span}` : `超期${span}`;
}

/** dueLine is the deadline the due endpoint answers, in words: 2026年12月22日 星期二 截止，剩13个工作日. */
export function dueLine(r) {
  if (!r || !r.due_at) return "";
  if (r.working_days) return `${longDay(dueDay(r.due_at))} 截止，剩${r.working_days}个工作日`;
  if (r.hours) return `${longDay(r.due_at)} ${hmFmt.format(parse(r.due_at))} 截止，限${r.hours}小时内`;
  return `${longDay(dueDay(r.due_at))} 截止`;
}

/** options returns <option>s of a name map, after a first option when given. */
export function options(names, first, selected) {
  const out = first ? [h("option", { value: "" }, first)] : [];
  for (const [v, n] of Object.entries(names)) out.push(h("option", { value: v, selected: v === selected }, n));
  return out;
}

// The departments, read once per page.
let departmentsPromise = null;

/** departments resolves to the departments [{id, name, phone}] ([] when unavailable). */
export function departments(api) {
  if (!departmentsPromise) {
    departmentsPromise = api.get("/api/departments").then(
      (r) => r.departments || [],
      (e) => {
        departmentsPromise = null;
        throw e;
      },
    );
  }
  return departmentsPromise;
}

/**
 * pasteTarget keeps the text field an agent last typed in, within root, so that a desk:copy
 * event (text copied from the knowledge base) is put into it. It returns a function to stop.
 */
export function pasteTarget(root, notify, active) {
  let last = null;
  const focus = (e) => {
    if (e.target.matches && e.target.matches("textarea[data-paste]")) last = e.target;
  };
  const copy = (e) => {
    if (!active() || !last || !last.isConnected || last.disabled || !e.detail || !e.detail.text) return;
    const t = String(e.detail.text);
    const start = last.selectionStart ?? last.value.length;
    const end = last.selectionEnd ?? last.value.length;
    const before = last.value.slice(0, start);
    const sep = before && !before.endsWith("\n") ? "\n" : "";
    last.setRangeText(sep + t, start, end, "end");
    last.dispatchEvent(new Event("input", { bubbles: true }));
    last.dataset.pasted = "true";
    if (notify) notify(`已粘贴到“${last.dataset.paste}”`);
  };
  root.addEventListener("focusin", focus);
  window.addEventListener("desk:copy", copy);
  return () => {
    root.removeEventListener("focusin", focus);
    window.removeEventListener("desk:copy", copy);
  };
}

// The order the desk is asked to open (a voice message's link), before or after mounting.
let instance = null;
let pendingOpen = null;

/** openWorkOrder opens order id in the mounted list, or once it is mounted. */
export function openWorkOrder(id) {
  if (instance) instance.open(id);
  else pendingOpen = id;
}

function statusPill(o) {
  return h("span", { class: "wo-status", data: { status: o.status } }, statuses[o.status] || o.status);
}

function flags(o) {
  return [
    o.overdue ? h("span", { class: "wo-flag bad", title: "已超过办理期限" }, "超期") : null,
    o.urged ? h("span", { class: "wo-flag bad" }, "已催办") : null,
    o.urgency && o.urgency !== "normal" ? h("span", { class: "wo-flag warn" }, urgencies[o.urgency]) : null,
    o.confidential ? h("span", { class: "wo-flag secret" }, "保密") : null,
    o.extension && o.extension.state === "requested" ? h("span", { class: "wo-flag warn" }, "延期待批") : null,
    o.merged_into ? h("span", { class: "wo-flag muted" }, "已并单") : null,
  ];
}

function dueCell(o) {
  const done = ["resolved", "followed_up", "archived"].includes(o.status);
  return h("span", { class: "wo-due", data: { tone: o.overdue ? "late" : "" } },
    h("span", { class: "wo-due-day" }, o.due_at ? `${shortFmt.format(dueDay(o.due_at))}截止` : "无期限"),
    o.due_at && !done ? h("span", { class: "wo-left" }, left(o.due_at)) : null);
}

/**
 * mount renders the work orders into root. ctx = {api, notify, snapshot, role?}; role
 * "department" hides what a department does not choose (the department filter, 我的).
 */
export function mount(root, ctx) {
  const api = ctx.api;
  const notify = ctx.notify || (() => {});
  const dept = ctx.role === "department";
  const limit = 50;
  let view = "list";
  let offset = 0;
  let total = 0;
  let orders = [];
  let current = null; // the open order
  let listFocus = null; // the order whose row had the focus before opening it
  let loading = 0;

  root.classList.add("wo-root");

  // ---- The list
  const q = h("input", { type: "search", class: "wo-q", maxlength: "40", autocomplete: "off", spellcheck: "false",
    placeholder: dept ? "工单编号" : "工单编号或来电号码", "aria-label": "按编号搜索" });
  const status = h("select", { "aria-label": "状态" }, options(statuses, "全部状态"));
  const due = h("select", { "aria-label": "期限" },
    options({ overdue: "已超期", today: "今天到期", week: "本周到期" }, "全部期限"));
  const category = h("select", { "aria-label": "分类" }, options(categories, "全部分类"));
  const department = h("select", { "aria-label": "承办部门", hidden: dept }, h("option", { value: "" }, "全部部门"));
  const mine = h("input", { type: "checkbox", class: "wo-mine" });
  const mineLabel = h("label", { class: "wo-check", hidden: dept }, mine, "我受理的");
  const csv = h("a", { class: "btn quiet small wo-csv", download: "工单.csv", href: "/api/work-orders.csv" }, "导出 CSV");
  const refresh = h("button", { type: "button", class: "btn quiet small" }, "刷新");
  const form = h("form", { class: "wo-filters", role: "search", "aria-label": "筛选工单" },
    q, status, due, category, department, mineLabel);
  const note = h("p", { class: "wa-note wo-note", "aria-live": "polite" });
  const list = h("ol", { class: "wo-list", "aria-label": "工单" });
  const more = h("button", { type: "button", class: "btn small wo-more", hidden: true }, "显示更多");
  const listView = h("div", { class: "wo-list-view" },
    form, h("div", { class: "wa-head wo-head" }, note, h("span", { class: "wo-tools" }, csv, refresh)), list, more);

  // ---- The detail
  const detailView = h("div", { class: "wo-detail-view", hidden: true });

  root.replaceChildren(listView, detailView);

  const stopPaste = pasteTarget(root, notify, () => !root.hidden && !document.querySelector(".wo-create"));

  if (!dept) {
    departments(api).then(
      (ds) => department.append(...ds.map((d) => h("option", { value: String(d.id) }, d.name))),
      () => {}, // the filter stays with 全部部门
    );
  }

  function query(extra) {
    const p = new URLSearchParams();
    const s = q.value.trim();
    if (s) p.set("q", s);
    if (status.value) p.set("status", status.value);
    if (due.value) p.set("due", due.value);
    if (category.value) p.set("category", category.value);
    if (!dept && department.value) p.set("department_id", department.value);
    if (!dept && mine.checked) p.set("mine", "1");
    for (const [k, v] of Object.entries(extra || {})) p.set(k, v);
    return p;
  }

  async function load(append) {
    const mine = ++loading;
    const p = query({ limit: String(limit), offset: String(append ? offset : 0) });
    csv.href = "/api/work-orders.csv?" + query().toString();
    note.dataset.kind = "";
    if (!append) text(note, "正在读取…");
    try {
      const r = await api.get("/api/work-orders?" + p.toString());
      if (mine !== loading) return;
      const got = r.work_orders || [];
      orders = append ? orders.concat(got) : got;
      offset = orders.length;
      total = r.total ?? orders.length;
      render();
    } catch (e) {
      if (mine !== loading) return;
      note.dataset.kind = "error";
      text(note, `读取未成功：${e.message}`);
    }
  }

  function render() {
    const overdue = orders.filter((o) => o.overdue).length;
    text(note, total ? `共 ${total} 件${overdue ? `，其中超期 ${overdue} 件` : ""}` : "");
    list.replaceChildren(...(orders.length ? orders.map(row) : [h("li", { class: "wo-empty" }, "没有符合条件的工单")]));
    more.hidden = orders.length >= total;
    text(more, `显示更多（还有 ${Math.max(0, total - orders.length)} 件）`);
  }

  function row(o) {
    const who = o.department ? o.department.name : "未派单";
    return h("li", { data: { tone: o.overdue ? "late" : "", id: String(o.id) } },
      h("button", { type: "button", class: "wo-row", data: { id: String(o.id) } },
        h("span", { class: "wo-line" },
          h("span", { class: "wo-number mono" }, o.number),
          statusPill(o),
          h("span", { class: "wo-cat" }, categories[o.category] || o.category),
          flags(o),
          dueCell(o)),
        h("span", { class: "wo-line wo-sub" },
          h("span", { class: "wo-title" }, o.title || "（无标题）"),
          h("span", { class: "wo-dept" }, who + (o.co_departments && o.co_departments.length ? ` 等${o.co_departments.length + 1}家` : "")))));
  }

  let typing = 0;
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    load(false);
  });
  q.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => load(false), 300);
  });
  form.addEventListener("change", (e) => {
    if (e.target !== q) load(false);
  });
  refresh.addEventListener("click", () => load(false));
  more.addEventListener("click", () => load(true));
  list.addEventListener("click", (e) => {
    const b = e.target.closest(".wo-row");
    if (b) open(Number(b.dataset.id));
  });
  list.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
    const rows = [...list.querySelectorAll(".wo-row")];
    const i = rows.indexOf(document.activeElement);
    if (i < 0) return;
    e.preventDefault();
    const next = rows[Math.min(rows.length - 1, Math.max(0, i + (e.key === "ArrowDown" ? 1 : -1)))];
    next.focus();
  });

  // ---- Opening an order
  async function open(id) {
    listFocus = id;
    view = "detail";
    listView.hidden = true;
    detailView.hidden = false;
    detailView.replaceChildren(h("p", { class: "wa-note" }, "正在打开…"));
    try {
      current = await api.get(`/api/work-orders/${id}`);
      renderDetail(null);
    } catch (e) {
      detailView.replaceChildren(backButton(), h("p", { class: "refusal", role: "alert" }, `打开未成功：${e.message}`));
    }
  }

  function back() {
    view = "list";
    current = null;
    detailView.hidden = true;
    detailView.replaceChildren();
    listView.hidden = false;
    load(false).then(() => {
      const b = list.querySelector(`.wo-row[data-id="${listFocus}"]`);
      if (b) b.focus({ preventScroll: false });
    });
  }

  function backButton() {
    const b = h("button", { type: "button", class: "btn quiet small wo-back" }, "← 返回列表", h("kbd", null, "Esc"));
    b.addEventListener("click", back);
    return b;
  }

  root.addEventListener("keydown", (e) => {
    if (e.key !== "Escape" || view !== "detail") return;
    const actionForm = detailView.querySelector(".wo-action-form");
    if (actionForm) {
      actionForm.remove();
      const b = detailView.querySelector(".wo-actions .btn[aria-expanded=true]");
      if (b) {
        b.setAttribute("aria-expanded", "false");
        b.focus();
      }
    } else back();
    e.preventDefault();
    e.stopPropagation();
  });

  function fact(label, ...value) {
    return h("div", null, h("dt", null, label), h("dd", null, ...value));
  }

  function orderLink(ref) {
    const b = h("button", { type: "button", class: "link mono" }, ref.number);
    b.addEventListener("click", () => open(ref.id));
    return b;
  }

  function renderDetail(refusal) {
    const o = current;
    const deptNames = o.department ? o.department.name : "未派单";
    const co = (o.co_departments || []).map((d) => d.name).join("、");
    const caller = o.caller_number ? h("span", { class: "mono" }, o.caller_number) : h("span", { class: "muted" }, o.confidential ? "保密（不向承办部门显示）" : "—");
    const citizen = o.citizen
      ? [o.citizen.name, o.citizen.id_number_mask ? h("span", { class: "mono wo-mask" }, o.citizen.id_number_mask) : null]
      : [h("span", { class: "muted" }, o.confidential && dept ? "保密" : "未关联")];
    const done = ["resolved", "followed_up", "archived"].includes(o.status);
    const ext = o.extension;
    const facts = h("dl", { class: "wo-facts" },
      fact("分类", `${categories[o.category] || o.category} · ${urgencies[o.urgency] || o.urgency}`),
      fact("截止", h("span", { class: "wo-due", data: { tone: o.overdue ? "late" : "" } }, longDay(dueDay(o.due_at)),
        !done && o.due_at ? h("b", { class: "wo-left" }, left(o.due_at)) : null)),
      fact("来电号码", caller),
      fact("市民", ...citizen),
      fact("主办部门", deptNames),
      co ? fact("协办部门", co) : null,
      ext ? fact("延期", `${extensionStates[ext.state] || ext.state} · 至 ${longDay(dueDay(ext.requested_due_at))}${ext.reason ? "（" + ext.reason + "）" : ""}`) : null,
      o.satisfaction ? fact("满意度", `${o.satisfaction} 分 · ${satisfactionNames[o.satisfaction] || ""}`) : null,
      o.merged_into ? fact("已并入", orderLink(o.merged_into)) : null,
      o.merged && o.merged.length ? fact("并入本单", ...o.merged.map(orderLink)) : null,
      fact("受理", `${stamp(o.created_at)}${o.created_by ? " · " + o.created_by.display_name : ""}`));

    const body = [
      h("h3", { class: "wo-d-title" }, o.title || "（无标题）"),
      o.description ? h("p", { class: "wo-text" }, o.description) : null,
      o.journey_summary ? h("p", { class: "wo-journey" }, h("span", { class: "wo-k" }, "自助语音"), o.journey_summary) : null,
      o.recording ? h("div", { class: "wo-audio" }, h("span", { class: "wo-k" }, "录音"),
        h("audio", { controls: true, preload: "none", src: o.recording.url })) : null,
      o.reply ? h("div", { class: "wo-reply" }, h("span", { class: "wo-k" }, "办理结果"), h("p", { class: "wo-text" }, o.reply)) : null,
    ];

    const actions = h("div", { class: "wo-actions", role: "group", "aria-label": "可执行的操作" },
      ...(o.allowed_actions || []).map((a) => {
        const b = h("button", { type: "button", class: "btn small", data: { action: a }, "aria-expanded": "false" }, actionNames[a] || a);
        b.addEventListener("click", () => openAction(a, b));
        return b;
      }));
    const refused = h("p", { class: "refusal wo-refusal", role: "alert", hidden: !refusal, data: { reason: refusal ? refusal.reason || "" : "" } },
      refusal ? refusal.message : "");

    const history = h("ol", { class: "wo-history", "aria-label": "办理记录" },
      ...(o.history || []).slice().reverse().map((x) => h("li", null,
        h("span", { class: "wo-h-when" }, stamp(x.at)),
        h("span", { class: "wo-h-what" }, h("b", null, actionNames[x.action] || x.action),
          x.actor ? ` · ${x.actor}` : "",
          x.to_status && x.to_status !== x.from_status ? h("span", { class: "wo-h-status" }, ` → ${statuses[x.to_status] || x.to_status}`) : null),
        x.note ? h("span", { class: "wo-h-note" }, x.note) : null)));

    detailView.replaceChildren(
      h("div", { class: "wo-d-head" }, backButton(),
        h("span", { class: "wo-number mono" }, o.number), statusPill(o), flags(o)),
      h("div", { class: "wo-d-body", data: { id: String(o.id) } },
        body, facts,
        (o.allowed_actions || []).length ? h("h4", { class: "wo-h4" }, "办理") : null,
        actions, refused,
        h("h4", { class: "wo-h4" }, "办理记录"), history));
  }

  // ---- Actions
  const noFields = new Set(["sign", "start", "archive", "follow_up_call"]);

  async function act(body, form) {
    const buttons = form ? form.querySelectorAll("button") : [];
    buttons.forEach((b) => (b.disabled = true));
    try {
      current = await api.post(`/api/work-orders/${current.id}/action`, body);
      renderDetail(null);
      // A follow-up call is only queued: the ACD rings an agent of the queue when one is free.
      notify(body.action === "follow_up_call" ? "回访来电已排队：有空闲坐席时将先振铃坐席话机，接听后自动呼叫市民"
        : `${actionNames[body.action] || body.action}：已完成`);
      const first = detailView.querySelector(".wo-actions .btn");
      (first || detailView.querySelector(".wo-back")).focus();
    } catch (e) {
      if (form && form.isConnected) {
        const r = form.querySelector(".refusal");
        r.hidden = false;
        r.textContent = e.message;
        r.dataset.reason = e.reason || "";
        buttons.forEach((b) => (b.disabled = false));
      } else {
        renderDetail(e);
      }
    }
  }

  function textarea(label, name, opts) {
    const t = h("textarea", { name, rows: String((opts && opts.rows) || 2), maxlength: "2000", data: { paste: label },
      required: !!(opts && opts.required), placeholder: (opts && opts.placeholder) || "" });
    return h("label", { class: "wo-field" }, h("span", null, label, opts && opts.required ? h("em", null, "（必填）") : null), t);
  }

  async function fieldsFor(a) {
    switch (a) {
      case "dispatch": {
        const ds = await departments(api).catch(() => []);
        const cur = current.department ? current.department.id : 0;
        const lead = h("select", { name: "department_id", required: true },
          h("option", { value: "" }, "选择主办部门"),
          ...ds.map((d) => h("option", { value: String(d.id), selected: d.id === cur }, d.name)));
        const coIDs = new Set((current.co_departments || []).map((d) => d.id));
        const co = h("div", { class: "wo-co" }, ...ds.map((d) =>
          h("label", { class: "wo-check" }, h("input", { type: "checkbox", name: "co", value: String(d.id), checked: coIDs.has(d.id) }), d.name)));
        return [h("label", { class: "wo-field" }, h("span", null, "主办部门", h("em", null, "（必填）")), lead),
          h("fieldset", { class: "wo-field" }, h("legend", null, "协办部门（可多选）"), co),
          textarea("派单说明", "note")];
      }
      case "merge":
        return [h("label", { class: "wo-field" }, h("span", null, "并入工单编号", h("em", null, "（必填）")),
          h("input", { name: "into", required: true, maxlength: "40", autocomplete: "off", class: "mono", placeholder: "如 FS20261205-0017" })),
        textarea("并单说明", "note")];
      case "follow_up":
        return [h("fieldset", { class: "wo-field wo-stars" }, h("legend", null, "满意度", h("em", null, "（必填，1–2 分为不满意，工单将退回重办）")),
          ...[5, 4, 3, 2, 1].map((n) => h("label", { class: "wo-star" },
            h("input", { type: "radio", name: "satisfaction", value: String(n), required: true }), `${n} 分 ${satisfactionNames[n]}`))),
        textarea("回访记录", "note")];
      case "resolve":
        return [textarea("办理结果", "reply", { required: true, rows: 5, placeholder: "向市民答复的办理结果；可从知识库复制" })];
      case "return":
        return [textarea("退单理由", "note", { required: true, rows: 3, placeholder: "如：不属本部门职责，建议转交…" })];
      case "request_extension": {
        const base = current.due_at ? new Date(Date.parse(current.due_at) + 86400000) : new Date(now() + 86400000);
        return [h("label", { class: "wo-field" }, h("span", null, "延至", h("em", null, "（必填）")),
          h("input", { type: "date", name: "due", required: true, min: isoDay(new Date(now())), value: isoDay(base) })),
        textarea("延期理由", "note", { required: true })];
      }
      case "urge":
        return [textarea("催办说明", "note", { placeholder: "如：已超期，请尽快办理并回复" })];
      case "reopen":
        return [textarea("重新办理的理由", "note", { required: true })];
      default:
        return [textarea("说明", "note")];
    }
  }

  async function openAction(a, button) {
    const old = detailView.querySelector(".wo-action-form");
    const same = old && old.dataset.action === a;
    if (old) old.remove();
    detailView.querySelectorAll(".wo-actions .btn").forEach((b) => b.setAttribute("aria-expanded", "false"));
    const refused = detailView.querySelector(".wo-refusal");
    if (refused) refused.hidden = true;
    if (same) return;
    if (noFields.has(a)) {
      await act({ action: a }, null);
      return;
    }
    button.setAttribute("aria-expanded", "true");
    const submit = h("button", { type: "submit", class: "btn primary small" }, `确认${actionNames[a] || a}`, h("kbd", null, "Ctrl+Enter"));
    const cancel = h("button", { type: "button", class: "btn quiet small" }, "取消", h("kbd", null, "Esc"));
    const f = h("form", { class: "wo-action-form", data: { action: a }, novalidate: true },
      ...(await fieldsFor(a)),
      h("p", { class: "refusal", role: "alert", hidden: true }),
      h("div", { class: "form-buttons" }, submit, cancel));
    cancel.addEventListener("click", () => {
      f.remove();
      button.setAttribute("aria-expanded", "false");
      button.focus();
    });
    f.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        e.stopPropagation();
        f.requestSubmit();
      }
    });
    f.addEventListener("submit", (e) => {
      e.preventDefault();
      submitAction(a, f);
    });
    detailView.querySelector(".wo-actions").after(f);
    const first = f.querySelector("select, input, textarea");
    if (first) first.focus();
  }

  function fail(f, message) {
    const r = f.querySelector(".refusal");
    r.hidden = false;
    r.textContent = message;
    r.dataset.reason = "";
  }

  async function submitAction(a, f) {
    const val = (n) => (f.elements[n] ? f.elements[n].value.trim() : "");
    const body = { action: a };
    const note = val("note");
    if (note) body.note = note;
    for (const el of f.querySelectorAll("[required]")) {
      if (el.type === "radio" ? !f.querySelector(`input[name=${el.name}]:checked`) : !el.value.trim()) {
        fail(f, "请填写必填项");
        el.focus();
        return;
      }
    }
    switch (a) {
      case "dispatch":
        body.department_id = Number(val("department_id"));
        body.co_department_ids = [...f.querySelectorAll("input[name=co]:checked")].map((c) => Number(c.value)).filter((id) => id !== body.department_id);
        break;
      case "merge": {
        const number = val("into");
        try {
          const r = await api.get("/api/work-orders?" + new URLSearchParams({ q: number, limit: "5" }).toString());
          const hit = (r.work_orders || []).find((x) => x.number.toUpperCase() === number.toUpperCase());
          if (!hit) return fail(f, `没有编号为 ${number} 的工单`);
          if (hit.id === current.id) return fail(f, "不能并入本工单");
          body.into_id = hit.id;
        } catch (e) {
          return fail(f, `查找工单未成功：${e.message}`);
        }
        break;
      }
      case "follow_up":
        body.satisfaction = Number(f.querySelector("input[name=satisfaction]:checked").value);
        break;
      case "resolve":
        body.reply = val("reply");
        break;
      case "request_extension":
        body.due_at = `${val("due")}T23:59:59+08:00`;
        break;
    }
    await act(body, f);
  }

  const handle = {
    open(id) {
      open(id);
    },
    /** update follows the desk's snapshot: nothing to do, the list is read on demand. */
    update() {},
    unmount() {
      stopPaste();
      if (instance === handle) instance = null;
    },
    reload: () => load(false),
  };
  instance = handle;
  // The list is read again every minute while it is on screen and not being worked in.
  setInterval(() => {
    if (view === "list" && !document.hidden && root.offsetParent !== null && !root.contains(document.activeElement)) load(false);
  }, 60000);
  if (pendingOpen) {
    const id = pendingOpen;
    pendingOpen = null;
    load(false);
    open(id);
  } else {
    load(false);
  }
  return handle;
}
