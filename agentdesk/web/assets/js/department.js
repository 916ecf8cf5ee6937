// department.js: the department page (/desk/department). A department user (role department)
// sees the work orders their department handles as 主办 or 协办 — overdue ones first — and
// signs for them, starts, replies with the result, asks for an extension or returns them
// with a reason (the actions the server allows, through workorders.js). Confidential orders
// come without the caller's identity.

import * as api from "./api.js";
import { mount } from "./workorders.js";

const $ = (id) => document.getElementById(id);
const notice = $("dept-notice");

function notify(message, kind) {
  clearTimeout(notify.timer);
  notice.hidden = !message;
  notice.textContent = message || "";
  notice.dataset.kind = kind || "info";
  if (kind !== "error") notify.timer = setTimeout(() => (notice.hidden = true), 6000);
}

function toLogin(why) {
  location.replace("/desk/login" + (why ? "?why=" + encodeURIComponent(why) : ""));
}

async function main() {
  let me;
  try {
    me = await api.get("/api/me");
  } catch (e) {
    if (e.status === 401) return toLogin();
    notify(`无法打开：${e.message}`, "error");
    return;
  }
  api.setCsrfToken(me.csrf_token);
  window.addEventListener("desk:unauthorized", () => toLogin("session_expired"));
  const user = me.user || {};
  $("dept-who").textContent = user.display_name || user.username || "";
  if (user.department && user.department.name) $("dept-name").textContent = user.department.name;
  $("dept-logout").addEventListener("click", async () => {
    try {
      await api.post("/api/logout");
    } catch {
      // the session is gone either way
    }
    toLogin("logged_out");
  });
  if (user.role !== "department") {
    $("dept-denied").hidden = false;
    $("dept-orders").hidden = true;
    document.body.dataset.ready = "true";
    return;
  }
  mount($("dept-orders"), { api, notify, snapshot: () => null, role: "department" });
  document.body.dataset.ready = "true";
}

main();
