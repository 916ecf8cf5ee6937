// lists.js: the agent's own lists in the work area — recent calls (time, number, queue,
// talk time, how it went, the wrap-up's disposition) and callbacks (due, tries, status, with
// 立即回拨 to have a waiting one offered to this agent next).

import { dayTime, duration, h, now, text } from "./format.js";
import { copyText } from "./knowledge.js";

const $ = (id) => document.getElementById(id);

// How an offer to the agent went.
const offerStates = {
  accepted: ["已接听", "ok"],
  timeout: ["未接（振铃超时）", "bad"],
  rejected: ["已拒接", "bad"],
  cancelled: ["来电已挂断", "muted"],
};

// Outcomes of a call that say more than "answered".
const callOutcomes = {
  transferred: "已转接",
  abandoned: "来电挂断",
  callback: "预约回拨",
  message: "留言",
};

const callbackStatus = {
  pending: ["待回拨", "due"],
  assigned: ["回拨中", "ok"],
  done: ["已回拨", "ok"],
  failed: ["未接通，已结束", "bad"],
  cancelled: ["已取消", "muted"],
};

const attemptOutcomes = { answered: "接通", no_answer: "无人接听", busy: "占线", failed: "呼叫失败" };

/** inMinutes writes a span of whole minutes: 5分钟, 1小时20分. */
function inMinutes(m) {
  return m < 60 ? `${m}分钟` : `${Math.floor(m / 60)}小时${m % 60 ? `${m % 60}分` : ""}`;
}

/** numberButton shows a phone number that copies itself when clicked. */
function numberButton(number) {
  if (!number) return "—";
  return h("button", { type: "button", class: "wa-num mono", data: { number }, title: "复制号码" }, number);
}

/** copyNumbers makes the number buttons under root copy their number (clipboard and desk:copy). */
function copyNumbers(root, ctx, source) {
  root.addEventListener("click", async (e) => {
    const b = e.target.closest("button.wa-num");
    if (!b) return;
    const ok = await copyText(b.dataset.number, { title: b.dataset.number, kind: "number", source });
    ctx.notify(ok ? `已复制号码 ${b.dataset.number}` : `号码 ${b.dataset.number} 已放入工单（浏览器未允许写入剪贴板）`);
  });
}

function cell(content, cls) {
  return h("td", cls ? { class: cls } : null, content);
}

function empty(cols, message) {
  return h("tr", { class: "wa-empty" }, h("td", { colspan: String(cols) }, message));
}

/** createRecentCalls wires the recent calls tab; ctx has api. */
export function createRecentCalls(ctx) {
  const rows = $("calls-rows");
  const note = $("calls-note");
  let loading = false;

  let again = false; // asked to load while a load was under way

  async function load() {
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    text(note, "正在读取…");
    try {
      const r = await ctx.api.get("/api/agent/calls?limit=50");
      const calls = r.calls || [];
      text(note, calls.length ? `最近 ${calls.length} 通（含未接）` : "");
      rows.replaceChildren(...(calls.length ? calls.map(row) : [empty(5, "今天还没有来电")]));
    } catch (e) {
      note.dataset.kind = "error";
      text(note, `读取未成功：${e.message}`);
      return;
    } finally {
      loading = false;
      if (again) {
        again = false;
        load();
      }
    }
    note.dataset.kind = "";
  }

  function row(c) {
    const [state, tone] = offerStates[c.state] || [c.state, ""];
    let result = state;
    if (c.state === "accepted" && !c.talk_ended_at) result = "通话中";
    else if (c.state === "accepted" && callOutcomes[c.outcome]) result = callOutcomes[c.outcome];
    return h("tr", { data: { tone, offer: String(c.offer_id) } },
      cell(dayTime(c.offered_at), "nowrap"),
      cell(numberButton(c.number), "nowrap"),
      cell(c.callback_id ? `${c.queue_name} · 回拨` : c.queue_name, "wa-col-queue"),
      cell(c.talk_seconds ? duration(c.talk_seconds * 1000) : "—", "num"),
      cell([h("span", { class: "wa-result" }, result), c.disposition_name ? h("span", { class: "wa-sub" }, c.disposition_name) : null]));
  }

  $("calls-refresh").addEventListener("click", load);
  copyNumbers(rows, ctx, "calls");
  return { load };
}

/** createCallbacks wires the callbacks tab; ctx has api, notify and takesCalls(). */
export function createCallbacks(ctx) {
  const rows = $("callbacks-rows");
  const note = $("callbacks-note");
  const badge = $("callbacks-due");
  let callbacks = [];
  let loading = false;
  let canCall = null; // whether the agent has a phone, as last rendered
  let shown = ""; // the callbacks as last rendered, in JSON

  function dueText(c) {
    if (c.status !== "pending") return c.done_at ? dayTime(c.done_at) : dayTime(c.requested_at);
    const left = Date.parse(c.due_at) - now();
    const minutes = Math.floor(Math.abs(left) / 60e3);
    if (left <= 0) return minutes < 1 ? "刚到期" : `已到期 ${inMinutes(minutes)}`;
    if (left >= 3600e3) return dayTime(c.due_at);
    return minutes < 1 ? "1分钟内" : `${minutes}分钟后`;
  }

  function countDue() {
    const due = callbacks.filter((c) => c.status === "pending" && Date.parse(c.due_at) <= now()).length;
    badge.hidden = due === 0;
    text(badge, String(due));
    badge.title = `${due} 个回拨已到期`;
    return due;
  }

  function render() {
    const waiting = callbacks.filter((c) => c.status === "pending" || c.status === "assigned").length;
    const due = countDue();
    text(note, callbacks.length ? `待回拨 ${waiting} 个，其中已到期 ${due} 个` : "");
    canCall = ctx.takesCalls();
    rows.replaceChildren(
      ...(callbacks.length
        ? callbacks.map((c) => {
            const [status, tone] = callbackStatus[c.status] || [c.status, ""];
            const overdue = c.status === "pending" && Date.parse(c.due_at) <= now();
            const last = c.last_outcome ? attemptOutcomes[c.last_outcome] || c.last_outcome : "";
            return h("tr", { data: { tone: overdue ? "late" : tone, id: String(c.id) } },
              cell(h("span", { class: "wa-due", data: { id: String(c.id) } }, dueText(c)), "nowrap"),
              cell(numberButton(c.number), "nowrap"),
              cell(c.queue_name || "—", "wa-col-queue"),
              cell(`${c.attempts}/${c.max_attempts}`, "num"),
              cell([h("span", { class: "wa-result" }, c.preferred && c.status === "pending" ? "已安排，优先给我" : status),
                last ? h("span", { class: "wa-sub" }, `上次：${last}`) : null]),
              cell(c.status === "pending" && !(c.preferred && overdue)
                ? h("button", { type: "button", class: "btn small primary", data: { id: String(c.id) }, disabled: !canCall,
                    title: canCall ? "立即把这个回拨分给我" : "此账号未配置话机" }, "立即回拨")
                : null, "wa-act"));
          })
        : [empty(6, "没有待回拨的来电")]),
    );
  }

  let again = false; // asked to load while a load was under way

  async function load() {
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    try {
      const r = await ctx.api.get("/api/agent/callbacks");
      const got = JSON.stringify(r.callbacks || []);
      // Unchanged, the rows stay as they are: a button the agent is on keeps its focus.
      if (got === shown && canCall === ctx.takesCalls() && note.dataset.kind !== "error") return;
      shown = got;
      callbacks = r.callbacks || [];
      note.dataset.kind = "";
      render();
    } catch (e) {
      note.dataset.kind = "error";
      text(note, `读取未成功：${e.message}`);
    } finally {
      loading = false;
      if (again) {
        again = false;
        load();
      }
    }
  }

  rows.addEventListener("click", async (e) => {
    const b = e.target.closest("button[data-id]");
    if (!b) return;
    b.disabled = true;
    try {
      await ctx.api.post(`/api/agent/callbacks/${encodeURIComponent(b.dataset.id)}/now`);
      ctx.notify("已安排立即回拨：这个回拨已到期，并优先分给您");
    } catch (err) {
      const why = { 404: "这个回拨不在您的队列中", 409: "这个回拨已在处理或已结束" }[err.status];
      ctx.notify(`立即回拨未成功：${why || err.message}`, "error");
    }
    load();
  });
  $("callbacks-refresh").addEventListener("click", load);
  copyNumbers(rows, ctx, "callbacks");

  return {
    load,
    /** update renders again when the snapshot tells whether the agent has a phone. */
    update() {
      if (callbacks.length && canCall !== ctx.takesCalls()) render();
    },
    /** tick moves the due times and the badge on. */
    tick() {
      if (!callbacks.length) return;
      countDue();
      for (const span of rows.querySelectorAll(".wa-due")) {
        const c = callbacks.find((x) => String(x.id) === span.dataset.id);
        if (c) text(span, dueText(c));
      }
    },
  };
}
