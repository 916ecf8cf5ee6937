// format.js: the server's clock, times in Asia/Shanghai, durations, amounts in 元, and a
// small helper to build DOM nodes (text only: nothing is ever parsed as HTML).

const zone = "Asia/Shanghai";
let offsetMs = 0; // server time minus the browser's

/** setServerTime aligns the desk's clock with the time a server message carries. */
export function setServerTime(iso) {
  const t = Date.parse(iso);
  if (!Number.isNaN(t)) offsetMs = t - Date.now();
}

// A page starts with the server's clock at the time it was made (head.html); messages that
// carry the time later keep it aligned.
setServerTime(document.querySelector('meta[name="server-time"]')?.content);

/** now is the server's time in milliseconds, as well as the desk knows it. */
export function now() {
  return Date.now() + offsetMs;
}

/** since returns the milliseconds from an ISO time to now (0 when unknown or ahead). */
export function since(iso) {
  if (!iso) return 0;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? 0 : Math.max(0, now() - t);
}

/** duration formats milliseconds as m:ss, or h:mm:ss from an hour. */
export function duration(ms) {
  const s = Math.floor(Math.max(0, ms) / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${String(m).padStart(2, "0")}:${ss}`;
}

/** spoken formats seconds in words: 1分05秒, 42秒. */
export function spoken(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}秒`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}分${String(s % 60).padStart(2, "0")}秒`;
  return `${Math.floor(m / 60)}小时${m % 60}分`;
}

const timeFmt = new Intl.DateTimeFormat("zh-CN", { timeZone: zone, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
const shortTimeFmt = new Intl.DateTimeFormat("zh-CN", { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const dateFmt = new Intl.DateTimeFormat("zh-CN", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" });
const dayFmt = new Intl.DateTimeFormat("zh-CN", { timeZone: zone, month: "long", day: "numeric" });
const weekdayFmt = new Intl.DateTimeFormat("zh-CN", { timeZone: zone, weekday: "short" });

function parse(v) {
  if (v === null || v === undefined || v === "") return null;
  const d = typeof v === "number" ? new Date(v) : new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** clock formats a time as 14:05:09 in Asia/Shanghai. */
export function clock(v) {
  const d = parse(v);
  return d ? timeFmt.format(d) : "—";
}

/** hm formats a time as 14:05 in Asia/Shanghai. */
export function hm(v) {
  const d = parse(v);
  return d ? shortTimeFmt.format(d) : "—";
}

/** date formats a day as 2026/03/10 in Asia/Shanghai; a bare YYYY-MM-DD stays that day. */
export function date(v) {
  if (typeof v === "string" && /^\d{4}-\d{2}-\d{2}$/.test(v)) return v.replaceAll("-", "/");
  const d = parse(v);
  return d ? dateFmt.format(d) : "—";
}

/** dayTime formats a time as 3月10日 14:05, or 今天 14:05. */
export function dayTime(v) {
  const d = parse(v);
  if (!d) return "—";
  const today = dayFmt.format(new Date(now()));
  const day = dayFmt.format(d);
  return `${day === today ? "今天" : day} ${shortTimeFmt.format(d)}`;
}

/** today formats the server's date with its weekday: 3月10日 周二. */
export function today() {
  const d = new Date(now());
  return `${dayFmt.format(d)} ${weekdayFmt.format(d)}`;
}

const yuanFmt = new Intl.NumberFormat("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** yuan formats an amount in fen as 1,005.30 元. */
export function yuan(fen) {
  if (fen === null || fen === undefined || Number.isNaN(Number(fen))) return "—";
  return `${yuanFmt.format(Number(fen) / 100)} 元`;
}

/** period formats a billing period (2026-11 or 2026-11-01) as 2026年11月. */
export function period(v) {
  const m = /^(\d{4})-(\d{2})/.exec(String(v || ""));
  return m ? `${m[1]}年${Number(m[2])}月` : String(v || "—");
}

/**
 * h builds an element: h("p", {class: "x", data: {id: 1}}, "text", child…). Attribute values
 * and children are set as properties and text, never parsed as HTML; null children are skipped.
 */
export function h(tag, attrs, ...children) {
  const e = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "data") for (const [dk, dv] of Object.entries(v)) e.dataset[dk] = dv;
      else if (k === "text") e.textContent = v;
      else if (v === true) e.setAttribute(k, "");
      else e.setAttribute(k, v);
    }
  }
  append(e, children);
  return e;
}

function append(e, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(e, c);
    else e.append(c instanceof Node ? c : String(c));
  }
}

/** show sets whether an element is displayed. */
export function show(e, visible) {
  e.hidden = !visible;
}

/** text sets an element's text when it changed (no needless layout work every second). */
export function text(e, s) {
  s = String(s);
  if (e.textContent !== s) e.textContent = s;
}

/** States of an agent, in Chinese. */
export const stateNames = {
  offline: "未登录",
  available: "空闲",
  ringing: "振铃",
  talking: "通话中",
  wrap_up: "话后处理",
  paused: "示忙",
  missed: "未接",
};

/** Why an offer ended unanswered, in Chinese. */
export const missedReasons = {
  timeout: "振铃超时未接",
  rejected: "已拒接",
  failed: "呼叫话机失败",
};
