// messages.js: voice messages (留言) left in the IVR, newest first, each played in the page
// and linked to the work order created for it (which opens in the 工单 tab). mount(root, ctx)
// renders them into the desk's work area.

import { dayTime, duration, h, text } from "./format.js";
import { openWorkOrder, statuses } from "./workorders.js";

/** mount renders the voice messages into root; ctx = {api, notify, snapshot}. */
export function mount(root, ctx) {
  const all = h("input", { type: "checkbox" });
  const refresh = h("button", { type: "button", class: "btn quiet small" }, "刷新");
  const note = h("p", { class: "wa-note", "aria-live": "polite" });
  const list = h("ol", { class: "msg-list", "aria-label": "留言" });
  root.classList.add("msg-root");
  root.replaceChildren(
    h("div", { class: "wa-head" }, note, h("span", { class: "wo-tools" }, h("label", { class: "wo-check" }, all, "含已处理"), refresh)),
    list);

  let loading = 0;
  async function load() {
    const seq = ++loading;
    note.dataset.kind = "";
    text(note, "正在读取…");
    try {
      const r = await ctx.api.get("/api/messages?status=" + (all.checked ? "all" : "new"));
      if (seq !== loading) return;
      const ms = r.messages || [];
      text(note, ms.length ? `${all.checked ? "全部" : "待处理"}留言 ${ms.length} 条` : "");
      list.replaceChildren(...(ms.length ? ms.map(item) : [h("li", { class: "wo-empty" }, all.checked ? "没有留言" : "没有待处理的留言")]));
    } catch (e) {
      if (seq !== loading) return;
      note.dataset.kind = "error";
      text(note, `读取未成功：${e.message}`);
    }
  }

  function item(m) {
    const wo = m.work_order;
    let link = h("span", { class: "muted" }, "未建工单");
    if (wo) {
      link = h("button", { type: "button", class: "link msg-wo", data: { id: String(wo.id) } },
        h("span", { class: "mono" }, wo.number), ` · ${statuses[wo.status] || wo.status}`);
      link.addEventListener("click", () => {
        openWorkOrder(wo.id);
        const tab = document.getElementById("tab-workorders");
        if (tab) tab.click();
      });
    }
    return h("li", { class: "msg", data: { id: String(m.id) } },
      h("div", { class: "msg-top" },
        h("span", { class: "mono msg-number" }, m.caller_number || "未知号码"),
        h("span", { class: "msg-when" }, dayTime(m.created_at)),
        m.duration_ms ? h("span", { class: "msg-len" }, duration(m.duration_ms)) : null,
        h("span", { class: "msg-link" }, link)),
      h("audio", { controls: true, preload: "none", src: m.url, "aria-label": `播放 ${m.caller_number || ""} 的留言` }));
  }

  all.addEventListener("change", load);
  refresh.addEventListener("click", load);
  load();

  let lastCall = "";
  return {
    /** update reads the list again after each call: a caller may have left a message meanwhile. */
    update(s) {
      const id = (s.call && s.call.id) || (s.wrap_up && s.wrap_up.call_id) || "";
      if (id !== lastCall) {
        lastCall = id;
        if (!id) load();
      }
    },
  };
}
