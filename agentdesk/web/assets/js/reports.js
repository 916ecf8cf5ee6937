// reports.js: the supervisors' reports. The figures come from /api/reports/… for the chosen
// days; the page draws the trend of offered, answered and abandoned calls as an SVG chart and
// lists the figures in tables, with their definitions below.

import * as api from "./api.js";
import { h, now } from "./format.js";

const $ = (id) => document.getElementById(id);
const svgNS = "http://www.w3.org/2000/svg";

const stateNames = { available: "空闲", ringing: "振铃", talking: "通话", wrap_up: "话后", paused: "示忙", missed: "未接" };

function isoDay(d) {
  // the day in Asia/Shanghai
  const t = new Date(d.getTime() + 8 * 3600e3);
  return t.toISOString().slice(0, 10);
}

function pct(v) {
  return v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)}%`;
}

function secs(v) {
  if (v === null || v === undefined) return "—";
  const s = Math.round(v);
  return s < 60 ? `${s}秒` : `${Math.floor(s / 60)}分${String(s % 60).padStart(2, "0")}秒`;
}

function hours(v) {
  if (!v) return "—";
  return `${(v / 3600).toFixed(1)}时`;
}

function bucketLabel(iso, bucket) {
  const t = new Date(new Date(iso).getTime() + 8 * 3600e3).toISOString();
  if (bucket === "15m" || bucket === "hour") return `${t.slice(5, 10)} ${t.slice(11, 16)}`;
  return t.slice(5, 10);
}

function table(el, head, rows) {
  el.replaceChildren(
    h("thead", null, h("tr", null, head.map((c, i) => h("th", { class: i ? "num" : "" }, c)))),
    h("tbody", null, rows.length ? rows.map((r) => h("tr", null, r.map((c, i) => h("td", { class: i ? "num" : "" }, c))))
      : h("tr", null, h("td", { colspan: String(head.length), class: "empty" }, "所选日期内没有数据"))),
  );
}

// chart draws offered, answered and abandoned per bucket (all queues added up) as lines.
function chart(el, rows, bucket) {
  const by = new Map();
  for (const r of rows) {
    const k = r.bucket;
    const v = by.get(k) || { offered: 0, answered: 0, abandoned: 0 };
    v.offered += r.offered;
    v.answered += r.answered;
    v.abandoned += r.abandoned;
    by.set(k, v);
  }
  const keys = [...by.keys()].sort();
  const W = 960, H = 240, L = 44, B = 28, T = 12, R = 12;
  const svg = document.createElementNS(svgNS, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("role", "img");
  const el_ = (tag, attrs, txt) => {
    const e = document.createElementNS(svgNS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (txt !== undefined) e.textContent = txt;
    svg.append(e);
    return e;
  };
  if (!keys.length) {
    el_("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "rp-axis" }, "所选日期内没有来电");
    el.replaceChildren(svg);
    return;
  }
  const max = Math.max(1, ...keys.map((k) => by.get(k).offered));
  const x = (i) => L + (keys.length === 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (keys.length - 1));
  const y = (v) => T + (H - T - B) * (1 - v / max);
  for (let g = 0; g <= 4; g++) {
    const v = Math.round((max * g) / 4);
    el_("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "rp-grid" });
    el_("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", class: "rp-axis" }, String(v));
  }
  const every = Math.max(1, Math.ceil(keys.length / 12));
  keys.forEach((k, i) => {
    if (i % every === 0) el_("text", { x: x(i), y: H - 8, "text-anchor": "middle", class: "rp-axis" }, bucketLabel(k, bucket));
  });
  for (const [name, cls] of [["offered", "rp-offered"], ["answered", "rp-answered"], ["abandoned", "rp-abandoned"]]) {
    const pts = keys.map((k, i) => `${x(i).toFixed(1)},${y(by.get(k)[name]).toFixed(1)}`).join(" ");
    el_("polyline", { points: pts, class: `rp-line ${cls}` });
    // dots while they are few enough to tell apart: a single bucket has no line to draw
    if (keys.length <= 62) {
      keys.forEach((k, i) => el_("circle", { cx: x(i).toFixed(1), cy: y(by.get(k)[name]).toFixed(1), r: 3.5, class: `rp-dot ${cls}` }));
    }
  }
  const legend = h("p", { class: "rp-legend" },
    h("span", { class: "rp-key rp-offered" }, "呼入"), h("span", { class: "rp-key rp-answered" }, "接通"),
    h("span", { class: "rp-key rp-abandoned" }, "放弃"));
  el.replaceChildren(svg, legend);
}

async function load() {
  const from = $("rp-from").value;
  const to = $("rp-to").value;
  const bucket = $("rp-bucket").value;
  const queue = $("rp-queue").value.trim();
  const q = new URLSearchParams({ from, to, bucket });
  if (queue) q.set("queue", queue);
  const days = new URLSearchParams({ from, to });
  $("rp-csv-queues").href = `/api/reports/queues?${q}&format=csv`;
  $("rp-csv-agents").href = `/api/reports/agents?${days}&format=csv`;
  $("rp-error").hidden = true;
  try {
    const [queues, agents, ivr, sat, orders] = await Promise.all([
      api.get(`/api/reports/queues?${q}`),
      api.get(`/api/reports/agents?${days}`),
      api.get(`/api/reports/ivr?${days}`),
      api.get(`/api/reports/satisfaction?${days}`),
      api.get(`/api/reports/work-orders?${days}`),
    ]);
    chart($("rp-chart"), queues.rows, bucket);
    table($("rp-queues"),
      ["时段 · 队列", "呼入", "接通", "15秒内", "放弃", "5秒内放弃", "服务水平", "服务水平(接通+放弃)", "平均应答", "平均处理", "通话", "保持", "话后", "转接", "回拨 请求/完成"],
      queues.rows.map((r) => [`${bucketLabel(r.bucket, bucket)} · ${r.queue_id}`, r.offered, r.answered, r.answered_15s, r.abandoned,
        r.short_abandoned, pct(r.service_level), pct(r.service_level_answered_abandoned), secs(r.asa_seconds), secs(r.aht_seconds),
        secs(r.talk_seconds), secs(r.hold_seconds), secs(r.wrap_seconds), r.transfers, `${r.callbacks_requested}/${r.callbacks_completed}`]));
    table($("rp-agents"),
      ["坐席", "接听", "平均处理", "保持", "话后", "转接", "未接", "满意率", ...Object.values(stateNames)],
      agents.rows.map((r) => [r.display_name, r.answered, secs(r.aht_seconds), secs(r.hold_seconds), secs(r.wrap_seconds), r.transfers,
        r.missed, r.surveyed ? pct(r.satisfied / r.surveyed) : "—", ...Object.keys(stateNames).map((s) => hours(r.states[s]))]));
    table($("rp-ivr"), ["流程", "进入", "语音办结", "要求人工", "人工接通"],
      ivr.rows.map((r) => [r.flow, r.entered, `${r.self_served} (${pct(r.entered ? r.self_served / r.entered : null)})`, r.asked_agent, r.answered]));
    table($("rp-sat"), ["队列", "评价数", "满意", "满意率"],
      sat.rows.map((r) => [r.queue_id, r.surveyed, r.satisfied, r.surveyed ? pct(r.satisfied / r.surveyed) : "—"]));
    const categories = { consultation: "咨询", help: "求助", complaint: "投诉", suggestion: "建议", praise: "表扬", report: "举报" };
    table($("rp-orders"), ["类别 · 主办部门", "受理", "已办结", "按时办结", "超时未办结", "按时办结率"],
      orders.rows.map((r) => [`${categories[r.category] || r.category} · ${r.department || "未派单"}`, r.orders, r.resolved, r.on_time,
        r.overdue_open, r.resolved + r.overdue_open ? pct(r.on_time / (r.resolved + r.overdue_open)) : "—"]));
    document.body.dataset.ready = "true";
  } catch (e) {
    if (e.status === 401) {
      location.replace("/desk/login?why=session_expired");
      return;
    }
    $("rp-error").textContent = `报表读取失败：${e.message}`;
    $("rp-error").hidden = false;
  }
}

function main() {
  const today = new Date(now()); // the server's day, whatever the browser's clock says
  $("rp-to").value = isoDay(today);
  $("rp-from").value = isoDay(new Date(today.getTime() - 6 * 86400e3));
  $("rp-form").addEventListener("submit", (e) => {
    e.preventDefault();
    load();
  });
  load();
}

main();
