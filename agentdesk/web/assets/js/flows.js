// flows.js: the call flows page. The list of flows with their published version; for the
// chosen flow its draft (or published text) in the editor, checked as it is typed, its graph,
// its scenario tests, its versions with a side-by-side diff of any two, and publishing and
// rolling back, each after a confirmation. Everything is read from and sent to /api/flows.

import * as api from "./api.js";
import { h } from "./format.js";
import { FlowEditor } from "./flow-editor.js";

const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;

const timeFmt = new Intl.DateTimeFormat("zh-CN", {
  timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
});
const when = (iso) => (iso ? timeFmt.format(new Date(iso)) : "—");
const who = (name) => name || "系统（文件导入）";

const state = {
  name: "", // the flow shown
  detail: null, // GET /api/flows/{name}
  saved: "", // the text as last saved or loaded
  editor: null,
  csrf: "",
};

function say(text, bad) {
  const m = $("fe-msg");
  m.textContent = text;
  m.classList.toggle("bad", !!bad);
  m.hidden = !text;
}

function dirty() {
  return state.editor.value !== state.saved;
}

// problemsOf keeps this flow's problems on their lines and puts those of other flows (the
// text breaks a flow that calls it) in the list with where they are.
function problemsOf(problems) {
  return (problems || []).map((p) => (p.flow && p.flow !== state.name
    ? { line: 0, node: p.node, message: `流程 ${p.flow} 第 ${p.line} 行：${p.message}` }
    : p));
}

async function loadList() {
  const { flows } = await api.get("/api/flows");
  $("fe-flows").replaceChildren(...flows.map((f) => {
    const a = h("a", { href: `#${f.flow}`, class: f.flow === state.name ? "on" : "", data: { flow: f.flow } },
      h("strong", null, f.flow),
      h("span", { class: "fe-ver" }, f.version ? `版本 ${f.version}` : "未发布"),
      f.draft ? h("span", { class: "fe-badge" }, "草稿") : null,
      h("small", null, f.version ? `${who(f.published_by)} · ${when(f.published_at)}` : `草稿 · ${f.draft_saved_by}`));
    return h("li", null, a);
  }));
  return flows;
}

async function open(name) {
  if (name === state.name) return;
  if (state.name && dirty() && dirty() && !(await confirmDialog("放弃未保存的修改？", `${state.name} 的修改尚未保存为草稿。`, "放弃修改"))) {
    location.hash = state.name;
    return;
  }
  state.name = name;
  for (const a of $("fe-flows").querySelectorAll("a")) a.classList.toggle("on", a.dataset.flow === name);
  say("");
  $("fe-tests").hidden = true;
  $("fe-diffview").replaceChildren();
  await reload();
}

// reload reads the flow again and shows its draft, or its published text to start one.
async function reload() {
  let d;
  try {
    d = await api.get(`/api/flows/${enc(state.name)}`);
  } catch (e) {
    if (e.status !== 404) throw e;
    // A new flow: nothing saved yet; its first draft starts from a skeleton.
    d = { flow: state.name, published: null, draft: null, versions: [], skeleton: true };
  }
  state.detail = d;
  $("fe-name").textContent = d.flow;
  const parts = [];
  if (d.published) parts.push(`已发布版本 ${d.published.version} · ${who(d.published.published_by)} · ${when(d.published.published_at)}`);
  else parts.push("尚未发布");
  if (d.draft) parts.push(`草稿：${d.draft.saved_by || "—"} 保存于 ${when(d.draft.saved_at)}${d.draft.base_version ? `（基于版本 ${d.draft.base_version}）` : ""}`);
  else parts.push("无草稿：修改后保存即成为草稿");
  $("fe-state").textContent = parts.join("　");
  const text = d.draft ? d.draft.source : d.published ? d.published.source : "";
  state.saved = text;
  state.editor.set(d.skeleton ? skeleton(d.flow) : text);
  buttons();
  graph();
  versions();
  $("fe-diffview").replaceChildren();
}

// skeleton is the text a new flow starts with.
function skeleton(name) {
  return `flow: ${name}\ndescription: 新流程\nstart: bye\nnodes:\n  bye:\n    kind: hangup\n    prompts: [common/goodbye]\n`;
}

function buttons() {
  const d = state.detail;
  $("fe-save").disabled = !dirty();
  $("fe-publish").disabled = !(d && (d.draft || dirty()));
  $("fe-discard").disabled = !(d && d.draft);
  $("fe-test").disabled = !d;
}

function graph() {
  const d = state.detail;
  if (!d.draft && !d.published) {
    $("fe-graph").hidden = true;
    $("fe-graph-none").hidden = false;
    $("fe-graph-none").textContent = "保存草稿后显示流程图";
    return;
  }
  $("fe-graph-none").textContent = "草稿有错误，暂时无法绘制流程图";
  const img = $("fe-graph");
  $("fe-graph-none").hidden = true;
  img.hidden = false;
  const q = d.draft ? "draft=1" : "";
  $("fe-graph-title").textContent = d.draft ? "流程图（草稿）" : "流程图（已发布）";
  img.src = `/api/flows/${enc(state.name)}/graph.svg?${q}&t=${Date.now()}`;
}

async function save() {
  const res = await api.post(`/api/flows/${enc(state.name)}/draft`, { source: state.editor.value });
  state.saved = res.draft.source;
  state.detail.draft = res.draft;
  state.editor.show(problemsOf(res.problems));
  say(res.problems.length ? `草稿已保存，但有 ${res.problems.length} 个问题，修正后才能发布` : "草稿已保存", res.problems.length > 0);
  await loadList();
  await reload();
}

async function runTests() {
  const box = $("fe-tests");
  box.hidden = false;
  box.replaceChildren(h("h3", null, "场景测试"), h("p", { class: "fe-running" }, "正在运行场景测试（模拟来电，约需十几秒到一分钟）…"));
  $("fe-test").disabled = true;
  try {
    const rep = await api.post(`/api/flows/${enc(state.name)}/test`, { source: state.editor.value });
    showTests(rep);
  } catch (e) {
    box.replaceChildren(h("h3", null, "场景测试"), h("p", { class: "fe-bad" }, `测试未能运行：${e.message}`));
  } finally {
    $("fe-test").disabled = false;
  }
}

function showTests(rep) {
  const box = $("fe-tests");
  box.hidden = false;
  const head = h("h3", null, "场景测试");
  if (rep.problems && rep.problems.length) {
    box.replaceChildren(head, h("p", { class: "fe-bad" }, `流程有 ${rep.problems.length} 个问题，测试未运行`));
    return;
  }
  if (!rep.file) {
    box.replaceChildren(head, h("p", null, "此流程没有场景测试文件（flows/tests/" + state.name + ".yaml）"));
    return;
  }
  const failed = rep.scenarios.filter((s) => !s.passed).length;
  const summary = h("p", { class: failed ? "fe-bad" : "fe-ok", id: "fe-test-summary" },
    failed ? `${failed} / ${rep.scenarios.length} 个场景未通过` : `✓ ${rep.scenarios.length} 个场景全部通过`,
    h("small", null, `　${rep.file} · 用时 ${(rep.elapsed_ms / 1000).toFixed(1)} 秒`));
  const rows = rep.scenarios.map((s) => h("li", { class: s.passed ? "pass" : "fail" },
    h("span", { class: "fe-mark" }, s.passed ? "✓" : "✗"),
    h("span", null, s.name), h("small", null, ` 第 ${s.line} 行`),
    s.error ? h("pre", null, s.error + (s.heard && s.heard.length ? `\n听到：${s.heard.join(" ")}` : "")) : null));
  const cov = (rep.coverage || []).map((c) => h("div", { class: "fe-cov" },
    h("strong", null, "覆盖率"),
    h("span", null, `节点 ${c.nodes_covered}/${c.nodes}（${pct(c.nodes_covered, c.nodes)}）`),
    h("span", null, `出口 ${c.exits_covered}/${c.exits}（${pct(c.exits_covered, c.exits)}）`),
    (c.missing_nodes || []).length ? h("span", { class: "fe-missing" }, `未覆盖节点：${c.missing_nodes.join("、")}`) : null,
    (c.missing_exits || []).length ? h("span", { class: "fe-missing" }, `未覆盖出口：${c.missing_exits.join("、")}`) : null));
  box.replaceChildren(head, summary, ...cov, h("ul", { class: "fe-scenarios" }, rows));
}

function pct(a, b) {
  return b ? `${Math.round((a / b) * 100)}%` : "—";
}

async function publish() {
  if (dirty()) await save();
  const d = state.detail;
  if (!d.draft) return;
  const next = d.versions.length ? d.versions[0].version + 1 : 1;
  const ok = await confirmDialog(`发布 ${state.name} 版本 ${next}？`,
    "发布前会再次校验并运行此流程的场景测试。发布后新来电使用新版本，通话中的来电继续使用原版本。此操作会记入审计日志。", "发布");
  if (!ok) return;
  say("正在校验并运行场景测试，然后发布…");
  $("fe-publish").disabled = true;
  const res = await postRefusable(`/api/flows/${enc(state.name)}/publish`);
  if (res.refusal) {
    refused(res.refusal, "未发布");
    buttons();
    return;
  }
  say(`已发布 ${state.name} 版本 ${res.ok.version}`);
  $("fe-tests").hidden = true;
  await loadList();
  await reload();
}

// postRefusable sends a publish or rollback: {ok} with the new version, or {refusal} with
// the 409's problems or test report, which the API sends beside its reason.
async function postRefusable(path, body) {
  const headers = { Accept: "application/json", "X-CSRF-Token": state.csrf };
  const init = { method: "POST", headers, credentials: "same-origin", cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (e) {
    throw new api.ApiError(0, "network", String(e && e.message ? e.message : e));
  }
  const data = await resp.json().catch(() => null);
  if (resp.status === 409 && data && Array.isArray(data.problems)) return { refusal: data };
  if (!resp.ok) throw new api.ApiError(resp.status, (data && data.error) || `http_${resp.status}`, data && data.reason);
  return { ok: data };
}

// refused shows why a publish or rollback was refused: the problems of the flows (on their
// lines when they are the editor's) or the failed scenario tests.
function refused(ref, what) {
  say(`${what}：${refusalText(ref.reason)}`, true);
  if (ref.tests) showTests(ref.tests);
  if (ref.problems.length && what === "未发布") {
    state.editor.show(problemsOf(ref.problems));
  } else if (ref.problems.length) {
    const m = $("fe-msg");
    m.append(h("ul", null, ref.problems.map((p) => h("li", null, `流程 ${p.flow} 第 ${p.line} 行：${p.message}`))));
  }
}

// refusalText says in Chinese why the server refused a publish or rollback.
function refusalText(reason) {
  let m;
  if ((m = /(\d+) problem\(s\) in the flows/.exec(reason))) return `流程有 ${m[1]} 个问题，请先修正`;
  if ((m = /(\d+) of (\d+) scenario tests failed/.exec(reason))) return `${m[2]} 个场景测试中有 ${m[1]} 个未通过`;
  if ((m = /version (\d+) no longer fits/.exec(reason))) return `版本 ${m[1]} 与现有的其他流程不再匹配，不能恢复`;
  if ((m = /is the same as version (\d+)/.exec(reason))) return `草稿与已发布的版本 ${m[1]} 相同，无需发布`;
  if ((m = /started from version (\d+), but version (\d+) has been published/.exec(reason))) {
    return `草稿基于版本 ${m[1]}，但之后已发布了版本 ${m[2]}：请先比较两者，确认后再保存草稿并发布`;
  }
  if (/is the published one/.test(reason)) return "该版本已是当前发布版本";
  if (/has no draft/.test(reason)) return "没有可发布的草稿";
  return reason;
}

async function discard() {
  if (!(await confirmDialog(`放弃 ${state.name} 的草稿？`, "草稿将被删除，编辑器恢复为已发布版本。", "放弃草稿"))) return;
  await api.post(`/api/flows/${enc(state.name)}/draft/discard`);
  say("草稿已放弃");
  await loadList();
  await reload();
}

function versions() {
  const d = state.detail;
  const t = $("fe-versions");
  t.replaceChildren(
    h("thead", null, h("tr", null, ["版本", "发布人", "发布时间", "说明", ""].map((c) => h("th", null, c)))),
    h("tbody", null, d.versions.length ? d.versions.map((v) => {
      const tr = h("tr", { class: v.active ? "active" : "", data: { version: String(v.version) } },
        h("td", null, `版本 ${v.version}`), h("td", null, who(v.published_by)), h("td", null, when(v.published_at)),
        h("td", null, [v.active ? "当前发布" : "", v.restored_from ? `回滚自版本 ${v.restored_from}` : ""].filter(Boolean).join(" · ")),
        h("td", null, v.active ? null : h("button", { type: "button", class: "btn quiet fe-rollback" }, "回滚到此版本")));
      const b = tr.querySelector(".fe-rollback");
      if (b) b.addEventListener("click", () => rollback(v.version));
      return tr;
    }) : h("tr", null, h("td", { colspan: "5" }, "尚无已发布版本"))));
  const opts = [];
  if (d.draft) opts.push(["draft", "草稿"]);
  for (const v of d.versions) opts.push([String(v.version), `版本 ${v.version}${v.active ? "（当前）" : ""}`]);
  const fill = (sel, pick) => {
    sel.replaceChildren(...opts.map(([val, label]) => h("option", { value: val }, label)));
    if (pick !== undefined) sel.value = pick;
  };
  const active = d.versions.find((v) => v.active);
  fill($("fe-from"), d.draft ? (active ? String(active.version) : "") : d.versions[1] ? String(d.versions[1].version) : undefined);
  fill($("fe-to"), d.draft ? "draft" : active ? String(active.version) : undefined);
}

async function rollback(v) {
  const next = state.detail.versions[0].version + 1;
  const ok = await confirmDialog(`回滚 ${state.name} 到版本 ${v}？`,
    `版本 ${v} 的内容将作为新的版本 ${next} 发布（历史保留）。新来电立即使用它，通话中的来电不受影响。草稿保持不变。此操作会记入审计日志。`, "回滚");
  if (!ok) return;
  const res = await postRefusable(`/api/flows/${enc(state.name)}/rollback`, { version: v });
  if (res.refusal) {
    refused(res.refusal, "未回滚");
    return;
  }
  say(`已回滚：版本 ${res.ok.version} 即版本 ${v} 的内容`);
  await loadList();
  await reload();
}

async function diff() {
  const from = $("fe-from").value, to = $("fe-to").value;
  const view = $("fe-diffview");
  try {
    const d = await api.get(`/api/flows/${enc(state.name)}/diff?from=${enc(from)}&to=${enc(to)}`);
    view.replaceChildren(sideBySide(d));
  } catch (e) {
    view.replaceChildren(h("p", { class: "fe-bad" }, `无法比较：${e.message}`));
  }
}

// sideBySide lays the lines out in two columns: a run of removed lines beside the run of
// added lines that replaced it.
function sideBySide(d) {
  const rows = [];
  const lines = d.lines;
  let changed = 0;
  const context = 3;
  for (let i = 0; i < lines.length;) {
    if (lines[i].op === " ") {
      let j = i;
      while (j < lines.length && lines[j].op === " ") j++;
      // A long run of equal lines keeps three lines of context on each side of a change.
      const head = i === 0 ? 0 : context, tail = j === lines.length ? 0 : context;
      if (j - i > head + tail + 1) {
        for (let k = i; k < i + head; k++) rows.push(row(lines[k], lines[k], ""));
        rows.push(h("tr", { class: "fold" }, h("td", { colspan: "4" }, `… ${j - i - head - tail} 行相同 …`)));
        for (let k = j - tail; k < j; k++) rows.push(row(lines[k], lines[k], ""));
      } else {
        for (let k = i; k < j; k++) rows.push(row(lines[k], lines[k], ""));
      }
      i = j;
      continue;
    }
    const del = [], add = [];
    while (i < lines.length && lines[i].op === "-") del.push(lines[i++]);
    while (i < lines.length && lines[i].op === "+") add.push(lines[i++]);
    changed += Math.max(del.length, add.length);
    for (let k = 0; k < Math.max(del.length, add.length); k++) rows.push(row(del[k], add[k], "chg"));
  }
  return h("div", null,
    h("p", { class: "fe-diff-sum" }, changed ? `${d.from} → ${d.to}：${changed} 行不同` : `${d.from} 与 ${d.to} 内容相同`),
    h("table", { class: "fe-sbs" },
      h("colgroup", null, h("col", { class: "ln" }), h("col"), h("col", { class: "ln" }), h("col")),
      h("thead", null, h("tr", null, h("th", { colspan: "2" }, d.from), h("th", { colspan: "2" }, d.to))),
      h("tbody", null, rows)));
}

function row(a, b, kind) {
  const side = (l, cls) => [h("td", { class: "ln" }, l ? String(l.old || l.new) : ""),
    h("td", { class: l ? (kind ? cls : "") : "none" }, l ? l.text : "")];
  return h("tr", { class: kind }, ...side(a && { ...a, new: 0 }, "del"), ...side(b && { ...b, old: 0 }, "add"));
}

// confirmDialog asks a yes or no question in the page's dialog.
function confirmDialog(title, text, okLabel) {
  const dlg = $("fe-confirm");
  $("fe-confirm-title").textContent = title;
  $("fe-confirm-text").textContent = text;
  $("fe-confirm-ok").textContent = okLabel || "确定";
  return new Promise((resolve) => {
    dlg.addEventListener("close", () => resolve(dlg.returnValue === "ok"), { once: true });
    dlg.returnValue = "";
    dlg.showModal();
  });
}

function guard(fn) {
  return async (...args) => {
    try {
      await fn(...args);
    } catch (e) {
      if (e.status === 401) {
        location.replace("/desk/login?why=session_expired");
        return;
      }
      say(e.message, true);
    }
  };
}

async function main() {
  let me;
  try {
    me = await api.get("/api/me");
  } catch (e) {
    location.replace("/desk/login?why=session_expired");
    return;
  }
  api.setCsrfToken(me.csrf_token);
  state.csrf = me.csrf_token;
  if (me.user.role !== "supervisor" && me.user.role !== "admin") {
    $("fe-denied").hidden = false;
    return;
  }
  $("fe-shell").hidden = false;
  state.editor = new FlowEditor({
    text: $("fe-text"), gutter: $("fe-gutter"), layer: $("fe-layer"), problems: $("fe-problems"),
    hints: $("fe-hints"), schema: api.get("/api/flows/schema.json"),
    check: async (source) => problemsOf((await api.post(`/api/flows/${enc(state.name)}/check`, { source })).problems),
    onChange: buttons,
  });
  $("fe-save").addEventListener("click", guard(save));
  $("fe-test").addEventListener("click", guard(runTests));
  $("fe-publish").addEventListener("click", guard(publish));
  $("fe-discard").addEventListener("click", guard(discard));
  $("fe-diff").addEventListener("click", guard(diff));
  $("fe-new").addEventListener("submit", guard(async (e) => {
    e.preventDefault();
    const name = $("fe-new-name").value.trim();
    if (!/^[a-z][a-z0-9_]{0,39}$/.test(name)) {
      say("流程名须以小写字母开头，只含小写字母、数字和下划线，最长 40 个字符", true);
      return;
    }
    $("fe-new-name").value = "";
    location.hash = name;
  }));
  $("fe-graph").addEventListener("error", () => {
    $("fe-graph").hidden = true;
    $("fe-graph-none").hidden = false;
  });
  document.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === "s") {
      e.preventDefault();
      if (dirty()) guard(save)();
    }
  });
  window.addEventListener("beforeunload", (e) => {
    if (state.editor && dirty()) e.preventDefault();
  });
  window.addEventListener("hashchange", guard(() => open(decodeURIComponent(location.hash.slice(1)))));
  const flows = await loadList();
  const want = decodeURIComponent(location.hash.slice(1));
  const first = flows.find((f) => f.flow === want) || flows[0];
  if (first) await open(first.flow);
  document.body.dataset.ready = "true";
}

guard(main)();
