// wallboard.js: the live board. The websocket /api/wallboard/events sends the whole board
// whenever it changes; times in a state, waits and call durations are sent as the moments
// they started and counted here every second. The socket reconnects with a growing pause.

import { duration, h, now, setServerTime, since, stateNames, text } from "./format.js";
import { drawIntraday } from "./chart.js";
import { monitorControls, startMonitoring } from "./monitor.js";

const $ = (id) => document.getElementById(id);

/** pauseNames are the pause reasons' names by code (agent management fills them in). */
export const pauseNames = { login: "刚登录" };

let board = null;
let chartKey = "";

function pct(v) {
  return v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)}%`;
}

function secs(v) {
  if (v === null || v === undefined) return "—";
  return `${Math.round(v)}秒`;
}

// slClass colours a service level: at or above 80% good, under 60% bad.
function slClass(v) {
  if (v === null || v === undefined) return "";
  return v >= 0.8 ? "good" : v < 0.6 ? "bad" : "warn";
}

function renderQueues(queues) {
  const rows = queues.map((q) =>
    h("tr", { data: { queue: q.id }, class: q.waiting > 0 ? "waiting" : "" },
      h("th", { scope: "row" }, q.name),
      h("td", { class: "num big", data: { field: "waiting" } }, String(q.waiting)),
      h("td", { class: "num", data: { field: "oldest", since: q.oldest_since || "" } }, q.oldest_since ? duration(since(q.oldest_since)) : "—"),
      h("td", { class: "num" }, `${q.agents_logged_in} / ${q.agents_available}`),
      h("td", { class: "num" }, String(q.offered)),
      h("td", { class: "num" }, String(q.answered)),
      h("td", { class: "num" }, String(q.abandoned)),
      h("td", { class: `num sl ${slClass(q.service_level)}`, title: `${q.answered_15s} / ${q.offered}` }, pct(q.service_level)),
      h("td", { class: "num" }, secs(q.asa_seconds)),
    ));
  if (!rows.length) rows.push(h("tr", null, h("td", { colspan: "9", class: "empty" }, "没有队列")));
  $("sv-queue-rows").replaceChildren(...rows);
}

function agentTitle(a) {
  let s = stateNames[a.state] || a.state;
  if (a.state === "paused" && a.reason) s += `（${pauseNames[a.reason] || a.reason}）`;
  return s;
}

function renderAgents(agents, queues) {
  const queueName = new Map(queues.map((q) => [q.id, q.name]));
  const counts = {};
  for (const a of agents) counts[a.state] = (counts[a.state] || 0) + 1;
  text($("sv-agent-counts"), ["available", "talking", "wrap_up", "paused", "missed"]
    .filter((s) => counts[s]).map((s) => `${stateNames[s]} ${counts[s]}`).join(" · "));
  const items = agents.map((a) =>
    h("li", { class: `sv-agent${a.stuck ? " stuck" : ""}`, data: { state: a.state, agent: String(a.id) } },
      h("span", { class: "name" }, a.display_name),
      h("span", { class: "state" }, agentTitle(a), a.stuck ? h("b", { class: "flag" }, " 需关注") : null),
      h("span", { class: "time", data: { since: a.since }, title: "当前状态持续时间" }, duration(since(a.since))),
      a.call_since ? h("span", { class: "call", data: { since: a.call_since }, title: "本次通话时长" }, `通话 ${duration(since(a.call_since))}`) : null,
      a.queue ? h("span", { class: "queue" }, queueName.get(a.queue) || a.queue) : null,
      monitorControls(a),
    ));
  if (!items.length) items.push(h("li", { class: "empty" }, "没有坐席"));
  $("sv-agent-grid").replaceChildren(...items);
}

function render(b) {
  board = b;
  renderQueues(b.queues);
  renderAgents(b.agents, b.queues);
  const key = JSON.stringify(b.intraday);
  if (key !== chartKey) {
    chartKey = key;
    drawIntraday($("sv-chart"), b.intraday);
  }
}

// tick counts the durations on the board without waiting for the server.
function tick() {
  if (!board) return;
  for (const e of document.querySelectorAll("[data-since]")) {
    if (!e.dataset.since) continue;
    const d = duration(since(e.dataset.since));
    text(e, e.classList.contains("call") ? `通话 ${d}` : d);
  }
}

/** startWallboard opens the websocket and keeps the board current; onBoard gets every board. */
export function startWallboard({ onBoard }) {
  startMonitoring();
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/wallboard/events";
  let pause = 500;
  let alive = null;
  const conn = $("sv-conn");
  function setConn(state, label) {
    document.body.dataset.conn = state;
    text(conn, label);
  }
  function connect() {
    setConn("connecting", "连接中");
    const sock = new WebSocket(url);
    sock.addEventListener("open", () => {
      pause = 500;
      setConn("open", "实时");
    });
    sock.addEventListener("message", (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (msg.server_time) setServerTime(msg.server_time);
      if (msg.type === "board") {
        clearTimeout(alive);
        // The server sends at least every 15 s; silence for longer means a dead connection.
        alive = setTimeout(() => sock.close(), 40000);
        render(msg.board);
        onBoard(msg.board);
        document.body.dataset.board = msg.board.at;
      } else if (msg.type === "session_expired" || msg.type === "logged_out") {
        location.replace("/desk/login?why=" + msg.type);
      }
    });
    sock.addEventListener("close", () => {
      clearTimeout(alive);
      setConn("closed", "已断开，重连中");
      setTimeout(connect, pause);
      pause = Math.min(pause * 2, 10000);
    });
  }
  connect();
  setInterval(tick, 1000);
  return { now };
}
