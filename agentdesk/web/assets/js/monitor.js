// monitor.js: a supervisor listens to (监听), whispers to (耳语) or barges in on (强插) an
// agent's live call from the agent's row. The supervisor's own phone rings once; switching
// mode keeps that call. The live sessions come from GET /api/monitoring, refreshed after each
// action and every few seconds while one is live; their durations are counted here.

import { get, post, translate } from "./api.js";
import { duration, h, since, text } from "./format.js";

/** modeNames are the modes as the page says them. */
export const modeNames = { listen: "监听", whisper: "耳语", barge: "强插" };

const sessions = new Map(); // agent id → the live session on their call
const errors = new Map(); // agent id → the last error shown on their row
let timer = null;

function reason(e) {
  const why = (e && e.reason) || "";
  if (why.includes("not talking")) return "坐席当前不在通话中";
  if (why.includes("no phone")) return "您的账号未配置话机，无法监听";
  if (why.includes("another instance")) return "该通话由另一台服务器处理，请稍后重试";
  if (why.includes("monitored already")) return "该通话已有班长在监听";
  if (why.includes("has ended")) return "监听已结束";
  if (why.includes("not available")) return "本服务器未开通监听";
  return translate(why) || (e && e.message) || "操作失败";
}

function stateText(s) {
  if (!s) return "";
  if (s.state === "ringing") return `${modeNames[s.mode] || s.mode} · 请接听话机`;
  return `${modeNames[s.mode] || s.mode}中 · ${duration(since(s.since))}`;
}

/** monitorControls returns the buttons for an agent's row on the board: the three modes for
 * an agent who is talking, the current mode and its duration, and 结束 while a session is
 * live. Rows are rebuilt with every board; the state lives here. */
export function monitorControls(agent) {
  const id = String(agent.id);
  const live = sessions.get(id);
  const box = h("span", { class: "sv-monitor", data: { agent: id } });
  if (agent.state !== "talking" && !live) {
    box.hidden = true;
    return box;
  }
  for (const mode of ["listen", "whisper", "barge"]) {
    const b = h("button", { type: "button", class: "mon-mode", data: { mode } }, modeNames[mode]);
    if (live && live.mode === mode) {
      b.setAttribute("aria-pressed", "true");
      b.classList.add("on");
    }
    b.addEventListener("click", (ev) => {
      ev.stopPropagation(); // not the tile's click, which scrolls to agent management
      act(id, mode);
    });
    box.append(b);
  }
  const stop = h("button", { type: "button", class: "mon-stop" }, "结束");
  stop.hidden = !live;
  stop.addEventListener("click", (ev) => {
    ev.stopPropagation();
    act(id, "");
  });
  box.append(stop);
  box.append(h("span", { class: "mon-state", data: { monitor: live ? live.id : "" }, role: "status" }, stateText(live) || errors.get(id) || ""));
  return box;
}

async function act(agentID, mode) {
  errors.delete(agentID);
  const live = sessions.get(agentID);
  try {
    if (!mode) {
      if (live) await post(`/api/monitoring/${live.id}/stop`);
    } else if (live) {
      await post(`/api/monitoring/${live.id}/mode`, { mode });
    } else {
      await post("/api/monitoring", { agent_id: Number(agentID), mode });
    }
  } catch (e) {
    errors.set(agentID, reason(e));
  }
  await refresh();
}

/** refresh reads the live sessions and redraws the controls on the page. */
export async function refresh() {
  let body;
  try {
    body = await get("/api/monitoring");
  } catch {
    return;
  }
  sessions.clear();
  for (const s of body.live || []) sessions.set(String(s.agent_id), s);
  for (const box of document.querySelectorAll(".sv-monitor[data-agent]")) {
    const id = box.dataset.agent;
    const talking = box.closest("[data-state]")?.dataset.state === "talking";
    box.replaceWith(monitorControls({ id, state: talking ? "talking" : "" }));
  }
  schedule();
}

function schedule() {
  clearTimeout(timer);
  if (sessions.size) timer = setTimeout(refresh, 3000);
}

/** tickMonitors counts the live sessions' durations; call it every second. */
export function tickMonitors() {
  for (const e of document.querySelectorAll(".sv-monitor .mon-state[data-monitor]")) {
    if (!e.dataset.monitor) continue;
    const box = e.closest(".sv-monitor");
    const s = sessions.get(box.dataset.agent);
    if (s) text(e, stateText(s));
  }
}

/** startMonitoring reads the live sessions once and counts their durations. */
export function startMonitoring() {
  refresh();
  setInterval(tickMonitors, 1000);
}
