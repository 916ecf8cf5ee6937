// statebar.js: the bar at the top of the desk. The agent's state and the time in it, 示闲 and
// 示忙 (with its reasons), the queues the agent serves with their waiting calls and oldest
// wait, the connection, the time in Beijing and 签出.

import * as api from "./api.js";
import { bind } from "./keys.js";
import { clock, duration, h, hm, missedReasons, now, since, stateNames, text } from "./format.js";

const $ = (id) => document.getElementById(id);

/** createStateBar wires the bar; notify(message, kind) shows a message under it. */
export function createStateBar({ notify }) {
  const pill = $("state-pill");
  const name = $("state-name");
  const time = $("state-time");
  const note = $("state-note");
  const available = $("btn-available");
  const pause = $("btn-pause");
  const menu = $("pause-menu");
  const menuTitle = $("pause-menu-title");
  const items = $("pause-items");
  const queues = $("queues");
  const conn = $("conn");
  const clockEl = $("clock");
  const who = $("who");
  const logout = $("btn-logout");

  let snap = null;
  let reasons = []; // [{code, name}]
  let busy = false;

  const reasonName = (code) => {
    if (code === "login") return "刚登录";
    const r = reasons.find((x) => x.code === code);
    return r ? r.name : code;
  };

  async function command(body, what) {
    if (busy) return;
    busy = true;
    try {
      await api.post("/api/agent/state", body);
      notify("", "");
    } catch (e) {
      notify(`${what}未成功：${e.message}`, "error", e.reason);
    } finally {
      busy = false;
    }
  }

  function goAvailable() {
    if (available.disabled) return false;
    closeMenu();
    command({ state: "available" }, "示闲");
  }

  function choose(code) {
    closeMenu();
    command({ state: "paused", reason: code }, "示忙");
  }

  function openMenu() {
    if (pause.disabled) return false;
    items.replaceChildren(
      ...reasons.map((r, i) =>
        h("button", { type: "button", role: "menuitem", class: "menu-item", data: { code: r.code } },
          h("kbd", null, String(i + 1)), r.name),
      ),
    );
    if (reasons.length === 0) items.append(h("p", { class: "menu-empty" }, "暂无示忙原因"));
    const duringCall = snap && ["ringing", "talking", "wrap_up"].includes(snap.status.state);
    text(menuTitle, duringCall ? "通话结束后示忙，原因：" : "选择示忙原因");
    menu.hidden = false;
    pause.setAttribute("aria-expanded", "true");
    const first = items.querySelector("button");
    if (first) first.focus();
  }

  function closeMenu() {
    if (menu.hidden) return false;
    menu.hidden = true;
    pause.setAttribute("aria-expanded", "false");
  }

  available.addEventListener("click", goAvailable);
  pause.addEventListener("click", () => (menu.hidden ? openMenu() : closeMenu()));
  items.addEventListener("click", (e) => {
    const b = e.target.closest("button[data-code]");
    if (b) choose(b.dataset.code);
  });
  menu.addEventListener("keydown", (e) => {
    const buttons = [...items.querySelectorAll("button")];
    const i = buttons.indexOf(document.activeElement);
    if (/^[1-9]$/.test(e.key) && buttons[Number(e.key) - 1]) {
      e.preventDefault();
      buttons[Number(e.key) - 1].click();
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const n = buttons.length;
      if (n) buttons[(i + (e.key === "ArrowDown" ? 1 : n - 1)) % n].focus();
    }
  });
  bind("Escape", () => {
    if (closeMenu() === false) return false;
    pause.focus();
  });
  document.addEventListener("click", (e) => {
    if (!menu.hidden && !e.target.closest(".menu-wrap")) closeMenu();
  });

  logout.addEventListener("click", async () => {
    try {
      await api.post("/api/logout");
      location.replace("/desk/login");
    } catch (e) {
      notify(`签出未成功：${e.message}`, "error", e.reason);
    }
  });

  bind("F2", goAvailable);
  bind("F4", () => (menu.hidden ? openMenu() : closeMenu()));

  function renderQueues(list) {
    queues.replaceChildren(
      ...list.map((q) =>
        h("li", { class: "queue", data: { queue: q.id, waiting: q.waiting > 0 ? "yes" : "no" }, title: `${q.name}：排队 ${q.waiting}，其中振铃 ${q.offered}，空闲坐席 ${q.agents_available}` },
          h("span", { class: "q-name" }, q.name),
          h("span", { class: "q-wait" }, h("b", null, String(q.waiting)), h("span", { class: "q-word" }, " 等待")),
          q.oldest_entered_at ? h("span", { class: "q-oldest", data: { since: q.oldest_entered_at } }, "") : null,
        ),
      ),
    );
  }

  return {
    setReasons(list) {
      reasons = list || [];
    },
    reasonName,
    setUser(user) {
      text(who, user.display_name || user.username);
      who.title = `${user.username}（${{ agent: "坐席", supervisor: "班长", admin: "管理员" }[user.role] || user.role}）`;
    },
    setConnection(state, delay) {
      document.body.dataset.conn = state;
      const label = { connecting: "连接中", open: "已连接", waiting: "重连中" }[state] || state;
      text(conn, label);
      conn.title = state === "waiting" ? `连接断开，${Math.ceil(delay / 1000)} 秒后重连` : "与服务器的连接";
    },
    update(s) {
      snap = s;
      const st = s.status;
      const state = st.state || "offline";
      document.body.dataset.state = state;
      pill.dataset.state = state;
      let label = stateNames[state] || state;
      if (state === "paused") label = `示忙 · ${reasonName(st.reason)}`;
      text(name, label);
      // Short: the bar must keep room for the queues at 1280 px; the title says the rest.
      let n = "";
      let title = "";
      if (st.pending_pause) {
        n = `之后示忙：${reasonName(st.pending_pause)}`;
        title = "通话结束、话后处理完成后示忙；按 F2 取消";
      } else if (state === "missed") {
        n = missedReasons[st.reason] || "来电未接";
        title = "按 F2 示闲继续接听";
      }
      text(note, n);
      note.title = title;
      const loggedIn = state !== "offline" && s.agent.takes_calls;
      available.disabled = !loggedIn || !(state === "paused" || state === "missed" || st.pending_pause);
      pause.disabled = !loggedIn;
      if (pause.disabled) closeMenu();
      renderQueues(s.queues || []);
      this.tick();
    },
    tick() {
      text(clockEl, hm(now()));
      clockEl.title = `北京时间 ${clock(now())}`;
      if (!snap) return;
      text(time, snap.status.since ? duration(since(snap.status.since)) : "--:--");
      // The oldest waits, in the bar and in the idle view's table.
      for (const o of document.querySelectorAll(".q-oldest")) {
        text(o, o.dataset.since ? duration(since(o.dataset.since)) : o.dataset.none || "");
      }
    },
  };
}
