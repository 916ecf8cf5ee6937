// supervisor.js: the supervisors' page — the live wallboard (wallboard.js, chart.js), a
// full-screen mode for a wall display (F key or the button) and agent management
// (agentadmin.js). Only supervisors and admins get here: anyone else goes back to the desk.

import * as api from "./api.js";
import { clock, now, text } from "./format.js";
import { startWallboard } from "./wallboard.js";
import { startAdmin } from "./agentadmin.js";

const $ = (id) => document.getElementById(id);

function toggleWall() {
  const on = !document.body.classList.contains("wall");
  document.body.classList.toggle("wall", on);
  $("sv-full").textContent = on ? "退出全屏" : "全屏";
  if (on && document.fullscreenEnabled && !document.fullscreenElement) {
    document.documentElement.requestFullscreen().catch(() => {});
  } else if (!on && document.fullscreenElement) {
    document.exitFullscreen().catch(() => {});
  }
}

async function main() {
  let me;
  try {
    me = await api.get("/api/me");
  } catch (e) {
    if (e.status === 401) location.replace("/desk/login?why=session_expired");
    else {
      $("sv-error").textContent = `无法读取登录信息：${e.message}`;
      $("sv-error").hidden = false;
    }
    return;
  }
  if (me.user.role !== "supervisor" && me.user.role !== "admin") {
    location.replace("/desk/");
    return;
  }
  api.setCsrfToken(me.csrf_token);
  window.addEventListener("desk:unauthorized", () => location.replace("/desk/login?why=session_expired"));

  $("sv-full").addEventListener("click", toggleWall);
  document.addEventListener("keydown", (e) => {
    if (e.key !== "f" && e.key !== "F") return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName))) return;
    if ($("sv-dialog").open) return;
    e.preventDefault();
    toggleWall();
  });
  document.addEventListener("fullscreenchange", () => {
    if (!document.fullscreenElement && document.body.classList.contains("wall")) toggleWall();
  });
  const tick = () => text($("sv-clock"), clock(now()));
  tick();
  setInterval(tick, 1000);

  const admin = startAdmin(me.user);
  startWallboard({ onBoard: (board) => admin.states(board) });
  document.body.dataset.ready = "true";
}

main();
