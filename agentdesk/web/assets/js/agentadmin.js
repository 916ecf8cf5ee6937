// agentadmin.js: agent management — every desk user with skills, levels and state; a
// supervisor forces a pause or a logout with a reason and edits skills; an admin creates
// users, deactivates them and resets passwords. Every change goes through the API, which
// audits it; the list is read again after each.

import * as api from "./api.js";
import { h, stateNames } from "./format.js";
import { pauseNames } from "./wallboard.js";

const $ = (id) => document.getElementById(id);
const roleNames = { agent: "坐席", supervisor: "班长", admin: "管理员" };

let me = null;
let data = { agents: [], skills: [], pause_reasons: [] };
let live = new Map(); // agent id → state on the latest board

function notice(msg) {
  const n = $("sv-notice");
  n.textContent = msg;
  n.hidden = false;
  clearTimeout(notice.t);
  notice.t = setTimeout(() => (n.hidden = true), 4000);
}

async function load() {
  try {
    data = await api.get("/api/admin/agents");
  } catch (e) {
    $("sv-admin-rows").replaceChildren(h("tr", null, h("td", { colspan: "7", class: "empty" }, `读取失败：${e.message}`)));
    return;
  }
  for (const r of data.pause_reasons) pauseNames[r.code] = r.name;
  render();
}

function skillName(id) {
  const s = data.skills.find((k) => k.id === id);
  return s ? s.name : id;
}

function stateOf(a) {
  if (!a.active) return "已停用";
  const st = live.get(a.id) || a.state;
  return stateNames[st] || st;
}

function render() {
  const f = $("sv-filter").value.trim().toLowerCase();
  const rows = data.agents
    .filter((a) => !f || a.display_name.toLowerCase().includes(f) || a.username.includes(f))
    .map((a) => {
      const canManage = (me.role === "admin" || a.role !== "admin");
      const actions = [];
      if (a.active && canManage && a.endpoint) {
        actions.push(h("button", { type: "button", class: "btn small", data: { act: "pause", id: String(a.id) } }, "强制示忙"));
        actions.push(h("button", { type: "button", class: "btn small", data: { act: "logout", id: String(a.id) } }, "强制签出"));
      }
      if (canManage) actions.push(h("button", { type: "button", class: "btn small", data: { act: "skills", id: String(a.id) } }, "技能"));
      if (me.role === "admin") {
        actions.push(h("button", { type: "button", class: "btn small", data: { act: "password", id: String(a.id) } }, "重置密码"));
        if (a.active && a.id !== me.id) actions.push(h("button", { type: "button", class: "btn small danger", data: { act: "deactivate", id: String(a.id) } }, "停用"));
      }
      return h("tr", { data: { agent: String(a.id) }, class: a.active ? "" : "inactive" },
        h("td", null, a.display_name),
        h("td", { class: "mono" }, a.username),
        h("td", null, roleNames[a.role] || a.role),
        h("td", { class: "mono" }, a.endpoint || "—"),
        h("td", { data: { state: a.active ? (live.get(a.id) || a.state) : "inactive" }, class: "st" }, stateOf(a)),
        h("td", null, a.skills.length ? a.skills.map((s) => h("span", { class: "skill" }, `${skillName(s.skill)} ${s.level}`)) : "—"),
        h("td", { class: "acts" }, actions));
    });
  if (!rows.length) rows.push(h("tr", null, h("td", { colspan: "7", class: "empty" }, "没有符合条件的账号")));
  $("sv-admin-rows").replaceChildren(...rows);
}

// dialog shows a form; submit(form) sends it and returns the message to show, or throws.
function dialog(title, body, submit) {
  const d = $("sv-dialog");
  $("sv-dialog-title").textContent = title;
  $("sv-dialog-body").replaceChildren(...body);
  $("sv-dialog-error").hidden = true;
  const form = $("sv-dialog-form");
  form.onsubmit = async (e) => {
    e.preventDefault();
    $("sv-dialog-ok").disabled = true;
    try {
      const msg = await submit(form);
      d.close();
      notice(msg);
      load();
    } catch (err) {
      $("sv-dialog-error").textContent = err.message;
      $("sv-dialog-error").hidden = false;
    } finally {
      $("sv-dialog-ok").disabled = false;
    }
  };
  $("sv-dialog-cancel").onclick = () => d.close();
  d.showModal();
  const first = d.querySelector("input, select, textarea");
  if (first) first.focus();
}

function field(label, input) {
  return h("label", { class: "sv-field" }, h("span", null, label), input);
}

function act(kind, a) {
  const who = `${a.display_name}（${a.username}）`;
  switch (kind) {
    case "pause":
      return dialog(`强制示忙：${who}`, [
        field("示忙原因", h("select", { name: "pause_reason", required: true },
          data.pause_reasons.map((r) => h("option", { value: r.code }, r.name)))),
        field("说明（记入审计日志）", h("input", { name: "reason", required: true, maxlength: "200", autocomplete: "off" })),
        h("p", { class: "hint" }, "坐席正在通话时，通话和话后处理结束后再示忙。"),
      ], async (f) => {
        await api.post(`/api/admin/agents/${a.id}/state`, { state: "paused", pause_reason: f.pause_reason.value, reason: f.reason.value });
        return `已将 ${a.display_name} 设为示忙`;
      });
    case "logout":
      return dialog(`强制签出：${who}`, [
        field("原因（记入审计日志）", h("input", { name: "reason", required: true, maxlength: "200", autocomplete: "off" })),
        h("p", { class: "hint" }, "坐席将退出排队并被登出；进行中的通话不受影响。"),
      ], async (f) => {
        await api.post(`/api/admin/agents/${a.id}/state`, { state: "offline", reason: f.reason.value });
        return `已将 ${a.display_name} 签出`;
      });
    case "skills": {
      const level = (id) => (a.skills.find((s) => s.skill === id) || {}).level || 0;
      return dialog(`技能与等级：${who}`, [
        h("p", { class: "hint" }, "等级 1（初级）至 5（专家）；“无”表示不具备该技能。下一通来电起生效。"),
        h("div", { class: "sv-skill-grid" }, data.skills.map((s) => field(s.name,
          h("select", { name: `skill-${s.id}`, data: { skill: s.id } },
            h("option", { value: "0", selected: level(s.id) === 0 }, "无"),
            [1, 2, 3, 4, 5].map((n) => h("option", { value: String(n), selected: level(s.id) === n }, String(n))))))),
      ], async (f) => {
        const skills = [...f.querySelectorAll("select[data-skill]")]
          .filter((s) => s.value !== "0").map((s) => ({ skill: s.dataset.skill, level: Number(s.value) }));
        await api.post(`/api/admin/agents/${a.id}/skills`, { skills });
        return `已更新 ${a.display_name} 的技能`;
      });
    }
    case "password":
      return dialog(`重置密码：${who}`, [
        field("新密码（至少 8 位）", h("input", { name: "password", type: "password", required: true, minlength: "8", maxlength: "72", autocomplete: "new-password" })),
        h("p", { class: "hint" }, "重置后该账号的所有登录会话将结束。"),
      ], async (f) => {
        await api.post(`/api/admin/agents/${a.id}/password`, { password: f.password.value });
        return `已重置 ${a.display_name} 的密码`;
      });
    case "deactivate":
      return dialog(`停用账号：${who}`, [
        h("p", null, "停用后该账号不能再登录，并立即被签出；历史记录保留。正在通话时不能停用。"),
      ], async () => {
        await api.post(`/api/admin/agents/${a.id}/deactivate`);
        return `已停用 ${a.display_name}`;
      });
  }
}

function create() {
  dialog("新建账号", [
    field("用户名（小写字母、数字、_ . -）", h("input", { name: "username", required: true, pattern: "[a-z0-9_.\\-]{2,32}", autocomplete: "off" })),
    field("姓名", h("input", { name: "display_name", required: true, maxlength: "40", autocomplete: "off" })),
    field("角色", h("select", { name: "role" }, Object.entries(roleNames).map(([k, v]) => h("option", { value: k }, v)))),
    field("话机（如 PJSIP/1001；不接听来电可留空）", h("input", { name: "endpoint", autocomplete: "off" })),
    field("初始密码（至少 8 位）", h("input", { name: "password", type: "password", required: true, minlength: "8", maxlength: "72", autocomplete: "new-password" })),
  ], async (f) => {
    await api.post("/api/admin/agents", {
      username: f.username.value, display_name: f.display_name.value, role: f.role.value,
      endpoint: f.endpoint.value, password: f.password.value, skills: [],
    });
    return `已创建 ${f.display_name.value}`;
  });
}

/** startAdmin shows agent management for user; states(board) refreshes the states shown. */
export function startAdmin(user) {
  me = user;
  $("sv-new").hidden = user.role !== "admin";
  $("sv-new").addEventListener("click", create);
  $("sv-filter").addEventListener("input", render);
  $("sv-admin-rows").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-act]");
    if (!b) return;
    const a = data.agents.find((x) => String(x.id) === b.dataset.id);
    if (a) act(b.dataset.act, a);
  });
  // A click on an agent of the board goes to their row.
  $("sv-agent-grid").addEventListener("click", (e) => {
    const li = e.target.closest("li[data-agent]");
    const row = li && document.querySelector(`#sv-admin-rows tr[data-agent="${li.dataset.agent}"]`);
    if (row) {
      row.scrollIntoView({ block: "center", behavior: "smooth" });
      row.classList.add("flash");
      setTimeout(() => row.classList.remove("flash"), 1500);
    }
  });
  load();
  return {
    states(board) {
      const next = new Map(board.agents.map((a) => [a.id, a.state]));
      const changed = next.size !== live.size || [...next].some(([k, v]) => live.get(k) !== v);
      live = next;
      if (changed && data.agents.length) render();
    },
  };
}
