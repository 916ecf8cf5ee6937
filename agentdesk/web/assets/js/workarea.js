// workarea.js: the desk's work area, tabs of what an agent looks up or follows up — 知识库,
// 最近来电, 我的回拨, 留言, 工单 (Alt+1 … Alt+5). With no call up it fills the stage under the
// idle view; during a call it is a column beside the card, which Alt+0 folds to a rail of
// tabs (folded by default on a window too narrow for both, and the choice is remembered).
//
// 留言 and 工单 are modules of their own (messages.js, workorders.js), each exporting
// mount(root, ctx) with ctx = {api, notify, snapshot}; they are imported when their tab is
// first opened, and a tab whose module cannot be loaded says 尚未开通.

import { bind } from "./keys.js";
import { h } from "./format.js";
import { createKnowledge } from "./knowledge.js";
import { createCallbacks, createRecentCalls } from "./lists.js";

const $ = (id) => document.getElementById(id);

const tabs = ["knowledge", "calls", "callbacks", "messages", "workorders"];
const modules = { messages: "./messages.js", workorders: "./workorders.js" };
const tabNames = { messages: "留言", workorders: "工单" };

// The remembered choices; storage may be refused (a private window): then they last the page.
const store = {
  get(k) {
    try {
      return localStorage.getItem("desk.work." + k);
    } catch {
      return null;
    }
  },
  set(k, v) {
    try {
      localStorage.setItem("desk.work." + k, v);
    } catch {
      // kept for this page only
    }
  },
};

/** wide reports whether the window has room for the card and an open work area side by side. */
const wide = () => window.matchMedia("(min-width: 1600px)").matches;

/** createWorkArea wires the work area; ctx has api, notify and snapshot (a getter). */
export function createWorkArea(ctx) {
  const workspace = $("workspace");
  const toggle = $("wa-toggle");
  let busy = false;
  let current = tabs.includes(store.get("tab")) ? store.get("tab") : "knowledge";
  // During a call: open or folded; null until the agent chooses (then the window decides).
  let busyOpen = store.get("busy-open") === null ? null : store.get("busy-open") === "true";
  const mounted = {}; // tab → the mounted module's handle
  const loads = {}; // tab → the promise of its mounting

  const knowledge = createKnowledge(ctx);
  // Before the first snapshot the desk does not know; the server refuses a user without a phone.
  const takesCalls = () => {
    const s = ctx.snapshot();
    return !s || !s.agent || !!s.agent.takes_calls;
  };
  const calls = createRecentCalls(ctx);
  const callbacks = createCallbacks({ ...ctx, takesCalls });

  function isOpen() {
    if (!busy) return true;
    return busyOpen === null ? wide() : busyOpen;
  }

  function layout() {
    const open = isOpen();
    workspace.dataset.busy = busy ? "true" : "false";
    workspace.dataset.work = open ? "open" : "folded";
    toggle.hidden = !busy;
    toggle.textContent = open ? "收起" : "展开";
    toggle.setAttribute("aria-expanded", String(open));
    for (const t of tabs) $("pane-" + t).hidden = !open || t !== current;
  }

  function load(tab) {
    if (tab === "calls") calls.load();
    else if (tab === "callbacks") callbacks.load();
    else if (modules[tab]) return mount(tab);
    return Promise.resolve();
  }

  /** mount imports and mounts a module's tab, once; it resolves when the tab is there. */
  function mount(tab) {
    if (!loads[tab]) loads[tab] = mountNow(tab);
    return loads[tab];
  }

  async function mountNow(tab) {
    const root = $("pane-" + tab);
    const closed = (title, note) => {
      mounted[tab] = {};
      root.replaceChildren(h("div", { class: "wa-closed" }, h("p", { class: "wa-closed-title" }, title), h("p", { class: "wa-note" }, note)));
    };
    let m;
    try {
      m = await import(modules[tab]);
    } catch {
      m = null;
    }
    if (!m || typeof m.mount !== "function") {
      closed(`${tabNames[tab]}功能尚未开通`, "开通后会在这里显示。");
      return;
    }
    try {
      mounted[tab] = m.mount(root, ctx) || {};
      const s = ctx.snapshot();
      if (s && typeof mounted[tab].update === "function") mounted[tab].update(s);
    } catch (e) {
      console.error(`work area: ${tab}:`, e);
      closed(`${tabNames[tab]}加载出错`, "请刷新页面；仍不行请报告班长。");
    }
  }

  /** select shows tab; focus moves into it when asked (a shortcut, a click). */
  function select(tab, focus) {
    current = tab;
    store.set("tab", tab);
    for (const t of tabs) {
      const b = $("tab-" + t);
      b.setAttribute("aria-selected", String(t === tab));
      b.tabIndex = t === tab ? 0 : -1;
    }
    if (busy && !isOpen()) {
      busyOpen = true;
      store.set("busy-open", "true");
    }
    layout();
    const loaded = load(tab);
    if (!focus) return;
    if (tab === "knowledge") {
      knowledge.focus();
      return;
    }
    $("tab-" + tab).focus();
    // A module's tab: its first field (a search box) once it is there.
    if (modules[tab]) {
      loaded.then(() => {
        const field = $("pane-" + tab).querySelector("input:not([type=checkbox]):not([type=radio]), textarea");
        if (field && current === tab && document.activeElement === $("tab-" + tab)) field.focus();
      });
    }
  }

  function fold() {
    if (!busy) return false;
    busyOpen = !isOpen();
    store.set("busy-open", String(busyOpen));
    layout();
    if (busyOpen && current === "knowledge") knowledge.focus();
  }

  document.querySelector(".wa-tabs").addEventListener("click", (e) => {
    const b = e.target.closest(".wa-tab");
    if (b) select(b.dataset.tab, b.dataset.tab === "knowledge");
  });
  // The tabs are one stop for Tab; the arrow keys move between them (the ARIA tabs pattern).
  document.querySelector(".wa-tabs").addEventListener("keydown", (e) => {
    const b = e.target.closest(".wa-tab");
    if (!b || (e.key !== "ArrowRight" && e.key !== "ArrowLeft" && e.key !== "ArrowDown" && e.key !== "ArrowUp")) return;
    e.preventDefault();
    const step = e.key === "ArrowRight" || e.key === "ArrowDown" ? 1 : -1;
    const next = tabs[(tabs.indexOf(b.dataset.tab) + step + tabs.length) % tabs.length];
    select(next, false);
    $("tab-" + next).focus();
  });
  toggle.addEventListener("click", fold);
  tabs.forEach((t, i) => bind(`Alt+${i + 1}`, () => select(t, true)));
  bind("Alt+0", fold);
  window.matchMedia("(min-width: 1600px)").addEventListener("change", layout);

  // The badge of due callbacks is kept fresh even when the tab is not open.
  callbacks.load();
  setInterval(() => callbacks.load(), 60000);

  select(current, false);

  let lastCall = "";
  return {
    /** update follows the snapshot: the layout when a call comes or goes, the lists after it. */
    update(s) {
      const nowBusy = !!(s.offer || s.call || s.wrap_up);
      const callID = (s.call && s.call.id) || (s.wrap_up && s.wrap_up.call_id) || "";
      callbacks.update(s);
      if (nowBusy !== busy) {
        busy = nowBusy;
        layout();
      }
      if (callID !== lastCall) {
        // A call came or went: the recent calls changed.
        lastCall = callID;
        if (current === "calls") calls.load();
      }
      // A module's failure stays in its tab: the rest of the desk renders on.
      for (const [tab, m] of Object.entries(mounted)) {
        if (!m || typeof m.update !== "function") continue;
        try {
          m.update(s);
        } catch (e) {
          console.error(`work area: ${tab}:`, e);
        }
      }
    },
    tick() {
      callbacks.tick();
    },
  };
}
