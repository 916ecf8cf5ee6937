// desk.js: the desk page. It asks who is logged in, opens the events websocket and renders
// every snapshot, whole, into the state bar, the ringing banner, the card, the call controls,
// the wrap-up and the work area (knowledge base, lists); a one-second tick moves the timers.
// The view depends on the latest snapshot alone, so a refresh, a second tab or a reconnect
// shows the same desk.

import * as api from "./api.js";
import { connect } from "./events.js";
import { setServerTime, text, today } from "./format.js";
import { createStateBar } from "./statebar.js";
import { createOffer } from "./offer.js";
import { createCard } from "./card.js";
import { createControls } from "./controls.js";
import { createWrapUp } from "./wrapup.js";
import { createSearch } from "./search.js";
import { createSoftphone } from "./softphone.js";
import { createWorkArea } from "./workarea.js";

const $ = (id) => document.getElementById(id);
const notice = $("notice");

/** notify shows a message under the state bar ("" hides it); errors stay until replaced. */
function notify(message, kind, reason) {
  clearTimeout(notify.timer);
  if (!message) {
    notice.hidden = true;
    return;
  }
  notice.textContent = message;
  notice.dataset.kind = kind || "info";
  notice.dataset.reason = reason || "";
  notice.hidden = false;
  if (kind !== "error" && kind !== "fatal") notify.timer = setTimeout(() => (notice.hidden = true), 6000);
}

const endings = {
  session_replaced: "此账号已在其他地方登录，本页已退出。",
  logged_out: "已签出。",
  session_expired: "登录已过期，请重新登录。",
};

// leaving is the reason the desk is going to the login page; the first reason is the one
// the agent is told (a session replaced is also, a moment later, a session unknown).
let leaving = "";

function toLogin(why) {
  if (leaving) return;
  leaving = why || "unknown";
  const q = why ? "?why=" + encodeURIComponent(why) : "";
  location.replace("/desk/login" + q);
}

function renderIdle(s, bar) {
  const st = s.status.state;
  let title = "等待来电";
  let hint = "";
  if (!s.agent.takes_calls) {
    title = "此账号未配置话机";
    hint = "可以查看队列情况，但不接听来电。";
  } else if (st === "available") {
    title = "空闲，等待来电";
    hint = "来电时会响铃并在此显示市民信息。按 F4 示忙。";
  } else if (st === "paused") {
    title = `示忙中 · ${bar.reasonName(s.status.reason)}`;
    hint = "按 F2 示闲开始接听来电。";
  } else if (st === "missed") {
    title = "有一通来电未接";
    hint = "按 F2 示闲继续接听，或按 F4 示忙。";
  } else if (st === "offline") {
    title = "未登录呼叫中心";
    hint = "请重新登录。";
  }
  text($("idle-state"), title);
  text($("idle-hint"), `${today()} · ${hint}`);
  const rows = $("queue-rows");
  const queues = s.queues || [];
  $("queue-table").hidden = queues.length === 0;
  rows.replaceChildren(
    ...queues.map((q) => {
      const tr = document.createElement("tr");
      tr.dataset.waiting = q.waiting > 0 ? "yes" : "no";
      const cells = [q.name, `${q.level} 级`, String(q.waiting), String(q.offered), "", String(q.agents_available)];
      cells.forEach((c, i) => {
        const td = document.createElement("td");
        td.textContent = c;
        if (i === 4) {
          td.className = "q-oldest";
          td.dataset.since = q.oldest_entered_at || "";
          td.dataset.none = "—";
        }
        if (i >= 2) td.classList.add("num");
        tr.append(td);
      });
      return tr;
    }),
  );
}

// supervisorLinks gives supervisors and admins the way to their pages, in the state bar.
function supervisorLinks(role) {
  if (role !== "supervisor" && role !== "admin") return;
  const pages = [["/desk/supervisor", "班长台"], ["/desk/reports", "报表"], ["/desk/flows", "流程"], ["/desk/calendar", "日历"], ["/desk/prompts", "提示音"], ["/desk/recordings", "录音"]];
  const nav = document.createElement("nav");
  nav.className = "sb-links";
  nav.setAttribute("aria-label", "班长页面");
  for (const [href, name] of pages) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = name;
    nav.append(a);
  }
  $("who").before(nav);
}

async function main() {
  let me;
  try {
    me = await api.get("/api/me");
  } catch (e) {
    if (e.status === 401) return toLogin();
    notify(`无法打开工作台：${e.message}`, "fatal", e.reason);
    return;
  }
  api.setCsrfToken(me.csrf_token);
  const unauthorized = () => toLogin("session_expired");
  window.addEventListener("desk:unauthorized", unauthorized);

  const bar = createStateBar({ notify });
  bar.setUser(me.user);
  supervisorLinks(me.user.role);
  const offer = createOffer();
  const card = createCard();
  const controls = createControls({ notify });
  const wrapup = createWrapUp({ reasonName: bar.reasonName });
  const search = createSearch({ reload: () => card.retry() });
  createSoftphone({ notify })
    .start(me)
    .catch((e) => notify(`软电话无法启动：${e.message}`, "error"));
  const idle = $("idle");

  let snapshot = null;
  const workarea = createWorkArea({ api, notify, snapshot: () => snapshot });
  const render = () => {
    if (!snapshot) return;
    const s = snapshot;
    bar.update(s);
    offer.update(s);
    card.update(s);
    controls.update(s);
    wrapup.update(s);
    search.update(s);
    workarea.update(s);
    const busy = !!(s.offer || s.call || s.wrap_up);
    idle.hidden = busy;
    if (!busy) {
      renderIdle(s, bar);
      bar.tick();
    }
    document.body.dataset.ready = "true";
  };

  // The reasons name the pause in the state bar; the desk works without them.
  api.get("/api/pause-reasons").then(
    (r) => {
      bar.setReasons(r.pause_reasons);
      render();
    },
    (e) => notify(`示忙原因读取失败：${e.message}`, "error", e.reason),
  );

  connect({
    onSnapshot(s, serverTime) {
      setServerTime(serverTime);
      snapshot = s;
      render();
      window.deskSnapshot = s; // for the support desk's console and the tests
      window.deskSnapshots = (window.deskSnapshots || 0) + 1;
    },
    onConnection(state, delay) {
      bar.setConnection(state, delay);
      if (state === "open") window.deskConnects = (window.deskConnects || 0) + 1;
      if (state === "waiting") notify("与服务器的连接已断开，正在重连；通话不受影响。", "warn");
      else if (state === "open" && notice.dataset.kind === "warn") notify("");
    },
    onEnd(type) {
      notify(endings[type] || "已退出。", "fatal");
      window.removeEventListener("desk:unauthorized", unauthorized);
      setTimeout(() => toLogin(type), 1500);
    },
  });

  setInterval(() => {
    bar.tick();
    offer.tick();
    controls.tick();
    wrapup.tick();
    workarea.tick();
  }, 1000);
}

main();
