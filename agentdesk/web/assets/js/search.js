// search.js: looking a citizen up when the caller is not recognised or asks about someone
// else's business — by mobile, utility account number, case number or ID number. An ID
// number search needs a reason; every search is audited by the server and the results come
// masked. A found citizen can be attached to the call in progress, whose card then shows them.

import * as api from "./api.js";
import { bind } from "./keys.js";
import { h, text } from "./format.js";

const $ = (id) => document.getElementById(id);

const placeholders = { mobile: "输入手机号", account: "输入水电气或通信户号", case: "输入受理编号", id_number: "输入18位身份证号" };
const patterns = {
  mobile: /^1[3-9]\d{9}$/,
  account: /^\d{6,20}$/,
  case: /^\d{10,20}$/,
  id_number: /^\d{17}[\dXx]$/,
};
const levels = { real_name: "实名注册用户", ordinary: "普通注册用户" };

/** createSearch wires the search panel; reload reads the call's card again after an attach. */
export function createSearch({ reload }) {
  const toggle = $("btn-search");
  const body = $("search-body");
  const form = $("search");
  const by = $("search-by");
  const q = $("search-q");
  const reason = $("search-reason");
  const note = $("search-note");
  const results = $("search-results");
  let callId = ""; // the call a found citizen may be attached to
  let found = [];
  let pending = false;

  function open() {
    body.hidden = false;
    toggle.setAttribute("aria-expanded", "true");
    q.focus();
  }

  function close() {
    if (body.hidden) return false;
    body.hidden = true;
    toggle.setAttribute("aria-expanded", "false");
  }

  function say(msg, kind) {
    text(note, msg);
    note.dataset.kind = kind || "";
  }

  function kindChanged() {
    q.placeholder = placeholders[by.value];
    reason.hidden = by.value !== "id_number";
  }

  function render() {
    results.replaceChildren(
      ...found.map((c, i) =>
        h("li", { class: "result" },
          h("div", { class: "result-who" },
            h("b", null, c.name || "—"),
            h("span", { class: "badge" + (c.level === "real_name" ? " real" : "") }, levels[c.level] || c.level || ""),
            h("span", { class: "mono" }, c.id_number_mask || c.id_number_masked || ""),
            h("span", { class: "muted" }, c.district_name || c.district || ""),
            c.matched ? h("span", { class: "muted" }, c.matched) : null),
          callId
            ? h("button", { type: "button", class: "btn", data: { i: String(i) } }, "关联到本次通话")
            : null)),
    );
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (pending) return;
    const kind = by.value;
    const value = q.value.trim().replace(/\s+/g, "");
    if (!patterns[kind].test(value)) {
      say(`${by.options[by.selectedIndex].text}格式不对`, "error");
      q.focus();
      return;
    }
    if (kind === "id_number" && !reason.value.trim()) {
      say("按身份证号查询必须填写原因", "error");
      reason.focus();
      return;
    }
    const params = new URLSearchParams({ by: kind, q: value });
    if (kind === "id_number") params.set("reason", reason.value.trim());
    if (callId) params.set("call_id", callId);
    pending = true;
    say("正在查询…");
    try {
      const r = await api.get(`/api/citizens/search?${params}`);
      found = (r && (r.citizens || r.results)) || [];
      say(found.length ? `找到 ${found.length} 位市民` : "没有找到匹配的市民");
      // A full ID number does not stay on the screen once it has been searched for.
      if (kind === "id_number") q.value = reason.value = "";
    } catch (err) {
      found = [];
      say(`查询未成功：${err.message}`, "error");
    } finally {
      pending = false;
      render();
    }
  });

  results.addEventListener("click", async (e) => {
    const b = e.target.closest("button[data-i]");
    if (!b || !callId) return;
    const c = found[Number(b.dataset.i)];
    b.disabled = true;
    try {
      await api.post(`/api/calls/${encodeURIComponent(callId)}/citizen`, { citizen_id: c.id });
      say(`已将 ${c.name} 关联到本次通话`);
      close();
      reload();
    } catch (err) {
      say(`关联未成功：${err.message}`, "error");
      b.disabled = false;
    }
  });

  by.addEventListener("change", kindChanged);
  toggle.addEventListener("click", () => (body.hidden ? open() : close()));
  bind("Alt+S", () => (body.hidden ? open() : close()));
  bind("Escape", close);
  kindChanged();

  return {
    update(s) {
      const id = (s.call && s.call.id) || (s.offer && s.offer.call_id) || "";
      if (id !== callId) {
        callId = id;
        render();
      }
    },
  };
}
