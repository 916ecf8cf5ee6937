// calendar.js: supervisors edit the business-hours calendar — weekly hours, public holidays
// and make-up workdays (调休) — and see what the next two months will be. Saving sends the
// version it was made on: a calendar someone else saved meanwhile is refused, to be reloaded.

import * as api from "./api.js";
import { h, text } from "./format.js";

const $ = (id) => document.getElementById(id);
const days = [["mon", "周一"], ["tue", "周二"], ["wed", "周三"], ["thu", "周四"], ["fri", "周五"], ["sat", "周六"], ["sun", "周日"]];
const weekdayNames = ["日", "一", "二", "三", "四", "五", "六"];

let calendars = [];
let current = null;

function lines(s) {
  return s.split("\n").map((l) => l.trim()).filter(Boolean);
}

function spans(s) {
  return s.split(/[,，、\s]+/).map((x) => x.trim()).filter(Boolean);
}

function showError(msg) {
  $("cal-error").textContent = msg;
  $("cal-error").hidden = !msg;
}

function fill(c) {
  current = c;
  const spec = c.spec || {};
  const weekly = spec.weekly || {};
  $("cal-weekly").replaceChildren(...days.map(([k, name]) =>
    h("label", { class: "cal-row" }, name, h("input", { id: `cal-day-${k}`, autocomplete: "off", value: (weekly[k] || []).join(", ") }))));
  $("cal-workday-hours").value = (spec.workday_hours || []).join(", ");
  $("cal-holidays").value = (spec.holidays || []).join("\n");
  $("cal-workdays").value = (spec.workdays || []).join("\n");
  const when = c.updated_at ? new Date(c.updated_at).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false }) : "";
  text($("cal-version"), `版本 ${c.version}${c.updated_by ? ` · ${c.updated_by} 于 ${when} 修改` : ""}`);
}

function specOf() {
  const weekly = {};
  for (const [k] of days) {
    const v = spans($(`cal-day-${k}`).value);
    if (v.length) weekly[k] = v;
  }
  const spec = { timezone: (current.spec && current.spec.timezone) || "Asia/Shanghai", weekly,
    holidays: lines($("cal-holidays").value), workdays: lines($("cal-workdays").value) };
  const wh = spans($("cal-workday-hours").value);
  if (wh.length) spec.workday_hours = wh;
  return spec;
}

async function months() {
  const r = await api.get(`/api/calendars/${encodeURIComponent(current.name)}/days?days=62`);
  const byMonth = new Map();
  for (const d of r.days) {
    const m = d.date.slice(0, 7);
    if (!byMonth.has(m)) byMonth.set(m, []);
    byMonth.get(m).push(d);
  }
  $("cal-months").replaceChildren(...[...byMonth].map(([m, list]) => {
    const blanks = (list[0].weekday + 6) % 7; // weeks start on Monday
    const cells = [...Array(blanks)].map(() => h("span", { class: "cal-day blank" }));
    for (const d of list) {
      cells.push(h("span", { class: `cal-day ${d.working ? "working" : "rest"}`, data: { date: d.date },
        title: `${d.date} 周${weekdayNames[d.weekday]} ${d.working ? "工作日" : "休息日"} ${d.hours || "无人工服务"}` },
        h("b", null, String(Number(d.date.slice(8)))), h("small", null, d.hours || "—")));
    }
    return h("div", { class: "cal-month" }, h("h3", null, `${m.slice(0, 4)}年${Number(m.slice(5))}月`),
      h("div", { class: "cal-grid" }, ["一", "二", "三", "四", "五", "六", "日"].map((w) => h("span", { class: "cal-head" }, w)), cells));
  }));
}

async function load(name) {
  const r = await api.get("/api/calendars");
  calendars = r.calendars;
  $("cal-name").replaceChildren(...calendars.map((c) => h("option", { value: c.name }, c.name)));
  const c = calendars.find((x) => x.name === name) || calendars[0];
  if (!c) {
    showError("没有日历");
    return;
  }
  $("cal-name").value = c.name;
  fill(c);
  await months();
  document.body.dataset.ready = "true";
}

async function save() {
  showError("");
  try {
    const res = await api.post(`/api/calendars/${encodeURIComponent(current.name)}`, { spec: specOf(), version: current.version });
    fill(res);
    await months();
    document.body.dataset.saved = String(res.version);
  } catch (e) {
    if (e.status === 409) showError(`保存未成功：${e.message}（其他人已修改此日历，请刷新页面后重新编辑）`);
    else showError(`保存未成功：${e.message}`);
  }
}

async function main() {
  try {
    const me = await api.get("/api/me");
    api.setCsrfToken(me.csrf_token);
    await load("hotline");
  } catch (e) {
    if (e.status === 401) return location.replace("/desk/login?why=session_expired");
    showError(`日历读取失败：${e.message}`);
  }
  $("cal-form").addEventListener("submit", (e) => {
    e.preventDefault();
    save();
  });
  $("cal-name").addEventListener("change", () => fill(calendars.find((c) => c.name === $("cal-name").value)));
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey && e.key === "s") {
      e.preventDefault();
      save();
    }
  });
}

main();
