// knowledge.js: the knowledge base in the work area — service guides (materials, fees, time
// limits, departments), service stations by district and the rules of the account services,
// searched as the agent types. A found entry is copied with its 复制 button (or Enter on it):
// to the clipboard, and as a desk:copy event that the work-order reply form listens to.

import { h, text } from "./format.js";

const $ = (id) => document.getElementById(id);

const kindNames = { service: "办事指南", station: "服务网点", rule: "业务规则" };

// Searches an agent runs many times a day, one click away when the box is empty.
const quick = ["户籍迁入", "身份证补领", "居住证", "社保卡", "公积金提取", "账号注销", "实名认证", "电话服务密码"];

/** fee formats a fee in fen as it is told: 免费, 40 元, 12.50 元. */
function fee(fen) {
  if (!fen) return "免费";
  return fen % 100 === 0 ? `${fen / 100} 元` : `${(fen / 100).toFixed(2)} 元`;
}

/**
 * marked returns s as text nodes with the search's terms in <mark>: the agent sees at once why
 * an entry was found. Nothing is parsed as HTML.
 */
function marked(s, terms) {
  s = String(s || "");
  if (!terms.length || !s) return [s];
  const lower = s.toLowerCase();
  const hit = new Array(s.length).fill(false);
  for (const t of terms) {
    for (let i = lower.indexOf(t); i >= 0; i = lower.indexOf(t, i + 1)) {
      for (let j = i; j < i + t.length; j++) hit[j] = true;
    }
  }
  const out = [];
  let i = 0;
  while (i < s.length) {
    let j = i;
    while (j < s.length && hit[j] === hit[i]) j++;
    out.push(hit[i] ? h("mark", null, s.slice(i, j)) : s.slice(i, j));
    i = j;
  }
  return out;
}

/**
 * copyText puts text on the clipboard and announces it to the desk as a desk:copy event
 * (detail: text, title, kind, source). It resolves to whether the system clipboard took it.
 */
export async function copyText(text, detail) {
  window.dispatchEvent(new CustomEvent("desk:copy", { detail: { ...detail, text } }));
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Without the Clipboard API's permission (a page over plain HTTP, say), the old way.
    const ta = h("textarea", { class: "offscreen", "aria-hidden": "true", tabindex: "-1" });
    ta.value = text;
    document.body.append(ta);
    ta.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch {
      ok = false;
    }
    ta.remove();
    return ok;
  }
}

function serviceBody(r, terms) {
  const facts = h("dl", { class: "kb-facts" },
    h("div", null, h("dt", null, "办理部门"), h("dd", null, marked(r.department, terms),
      r.department_phone ? h("span", { class: "mono kb-phone" }, r.department_phone) : null)),
    h("div", null, h("dt", null, "收费"), h("dd", { class: r.fee_fen ? "" : "kb-free" }, fee(r.fee_fen))),
    h("div", null, h("dt", null, "时限"), h("dd", null, `${r.time_limit_days} 个工作日`)));
  const materials = h("ol", { class: "kb-materials", "aria-label": "所需材料" },
    ...(r.materials || []).map((m) => h("li", null, marked(m, terms))));
  return [
    r.description ? h("p", { class: "kb-desc" }, marked(r.description, terms)) : null,
    facts,
    h("p", { class: "kb-sub" }, `所需材料（${(r.materials || []).length} 项）`),
    materials,
  ];
}

function stationBody(r, terms) {
  return [
    h("dl", { class: "kb-facts" },
      h("div", { class: "kb-wide" }, h("dt", null, "地址"), h("dd", null, marked(r.address, terms))),
      h("div", { class: "kb-wide" }, h("dt", null, "办公时间"), h("dd", null, r.hours)),
      h("div", null, h("dt", null, "电话"), h("dd", { class: "mono" }, r.phone))),
  ];
}

function ruleBody(r, terms) {
  return [h("p", { class: "kb-body" }, marked(r.body, terms))];
}

/** createKnowledge wires the knowledge tab; ctx has api and notify. */
export function createKnowledge(ctx) {
  const form = $("kb-form");
  const q = $("kb-q");
  const kind = $("kb-kind");
  const district = $("kb-district");
  const note = $("kb-note");
  const list = $("kb-results");
  const quickBox = $("kb-quick");
  let results = [];
  let asked = ""; // the request whose answer is shown or awaited
  let timer = 0;

  function say(msg, kindOf) {
    text(note, msg);
    note.dataset.kind = kindOf || "";
  }

  function params() {
    const p = new URLSearchParams();
    const words = q.value.trim();
    if (words) p.set("q", words);
    if (kind.value) p.set("kind", kind.value);
    if (district.value && (kind.value === "" || kind.value === "station")) p.set("district", district.value);
    return p;
  }

  function syncDistrict() {
    district.disabled = kind.value !== "" && kind.value !== "station";
    district.title = district.disabled ? "只有服务网点按区筛选" : "";
  }

  function idle() {
    results = [];
    list.replaceChildren();
    quickBox.hidden = false;
    say("输入关键词即可搜索，也可只选一个区查看服务网点。↓ 进入结果，Enter 复制。");
  }

  async function search() {
    clearTimeout(timer);
    const p = params();
    if (!p.has("q") && !p.has("district") && kind.value !== "rule" && kind.value !== "service") {
      asked = "";
      idle();
      return;
    }
    const key = p.toString();
    if (key === asked) return;
    asked = key;
    say("正在搜索…");
    try {
      const r = await ctx.api.get(`/api/knowledge?${key}`);
      if (asked !== key) return; // a later search is under way
      results = r.results || [];
      render(r.terms || []);
      quickBox.hidden = results.length > 0;
      say(results.length ? `找到 ${results.length} 条` : "没有找到。换个说法试试，如只输入“户籍”或“社保”。");
    } catch (e) {
      if (asked !== key) return;
      asked = "";
      results = [];
      render([]);
      say(`搜索未成功：${e.message}`, "error");
    }
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(search, 180);
  }

  function render(terms) {
    list.replaceChildren(
      ...results.map((r, i) =>
        h("li", { class: "kb-item", tabindex: "0", data: { i: String(i), kind: r.kind }, "aria-label": `${kindNames[r.kind] || ""} ${r.title}` },
          h("div", { class: "kb-top" },
            h("span", { class: `kb-kind kb-${r.kind}` }, kindNames[r.kind] || r.kind),
            h("h3", { class: "kb-title" }, marked(r.title, terms)),
            r.kind === "station" ? h("span", { class: "kb-district" }, r.district_name) : null,
            r.kind === "service" && r.category ? h("span", { class: "kb-district" }, r.category) : null,
            h("button", { type: "button", class: "btn small kb-copy", data: { i: String(i) }, title: "复制到剪贴板和工单回复（Enter）" }, "复制")),
          r.kind === "service" ? serviceBody(r, terms) : r.kind === "station" ? stationBody(r, terms) : ruleBody(r, terms))),
    );
  }

  async function copy(i) {
    const r = results[i];
    if (!r) return;
    const ok = await copyText(r.text, { title: r.title, kind: r.kind, source: "knowledge", id: r.id });
    ctx.notify(ok ? `已复制“${r.title}”，可粘贴到工单回复` : `已将“${r.title}”放入工单回复（浏览器未允许写入剪贴板）`);
    const item = list.querySelector(`.kb-item[data-i="${i}"]`);
    if (item) {
      item.dataset.copied = "true";
      setTimeout(() => delete item.dataset.copied, 1500);
    }
  }

  quickBox.replaceChildren(
    h("span", { class: "kb-quick-label" }, "常查："),
    ...quick.map((w) => h("button", { type: "button", class: "chip", data: { q: w } }, w)),
    h("button", { type: "button", class: "chip", data: { kind: "rule" } }, "全部业务规则"),
  );
  quickBox.addEventListener("click", (e) => {
    const b = e.target.closest("button.chip");
    if (!b) return;
    q.value = b.dataset.q || "";
    if (b.dataset.kind) {
      kind.value = b.dataset.kind;
      syncDistrict();
    }
    search();
    q.focus();
  });

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    asked = "";
    search();
  });
  q.addEventListener("input", later);
  kind.addEventListener("change", () => {
    syncDistrict();
    search();
  });
  district.addEventListener("change", search);
  q.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" && list.firstElementChild) {
      e.preventDefault();
      list.firstElementChild.focus();
    } else if (e.key === "Escape" && q.value) {
      e.stopPropagation();
      q.value = "";
      search();
    }
  });
  list.addEventListener("click", (e) => {
    const b = e.target.closest("button.kb-copy");
    if (b) copy(Number(b.dataset.i));
  });
  list.addEventListener("keydown", (e) => {
    const item = e.target.closest(".kb-item");
    if (!item || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const next = e.key === "ArrowDown" ? item.nextElementSibling : item.previousElementSibling;
      if (next) next.focus();
      else if (e.key === "ArrowUp") q.focus();
    } else if (e.key === "Enter" && e.target === item) {
      e.preventDefault();
      copy(Number(item.dataset.i));
    }
  });
  syncDistrict();
  idle();

  return {
    /** focus puts the cursor in the search box, its words selected. */
    focus() {
      q.focus();
      q.select();
    },
  };
}
