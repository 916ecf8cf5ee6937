// flow-editor.js: a flow's YAML in a plain textarea with line numbers, and the problems of
// the text shown on their lines. Behind the textarea a layer of one row per line marks the
// lines with problems and writes each problem at the right of its line; the layer and the
// gutter scroll with the text. The text is checked as it is typed, a moment after typing
// stops.

import { h } from "./format.js";

const checkDelay = 400; // ms after the last key

/**
 * FlowEditor edits one text. check(text) returns a promise of the problems
 * ([{line, node, message}]) of this flow's text; onChange is called on every edit.
 */
export class FlowEditor {
  constructor({ text, gutter, layer, problems, hints, schema, check, onChange }) {
    this.text = text;
    this.gutter = gutter;
    this.layer = layer;
    this.list = problems;
    this.check = check;
    this.onChange = onChange || (() => {});
    this.timer = 0;
    this.seq = 0; // answers of older checks are dropped
    this.problems = [];
    this.hints = hints;
    this.schema = null;
    if (schema) schema.then((s) => { this.schema = s; this.hint(); }, () => {});
    for (const ev of ["keyup", "click", "focus"]) text.addEventListener(ev, () => this.hint());
    text.addEventListener("input", () => {
      this.renderLines();
      this.onChange();
      this.schedule();
    });
    text.addEventListener("scroll", () => this.sync());
    text.addEventListener("keydown", (e) => {
      if (e.key === "Tab" && !e.ctrlKey && !e.metaKey && !e.altKey) {
        // YAML indents with spaces: Tab inserts two rather than leaving the editor.
        e.preventDefault();
        document.execCommand("insertText", false, "  ");
      }
    });
  }

  /** value returns the text. */
  get value() {
    return this.text.value;
  }

  /** set replaces the text (a flow loaded) and checks it at once. */
  set(value, readOnly) {
    this.text.value = value;
    this.text.readOnly = !!readOnly;
    this.text.setSelectionRange(0, 0); // a focused textarea would keep its view at the old caret
    this.text.scrollTop = 0;
    this.text.scrollLeft = 0;
    this.renderLines();
    this.show([]);
    this.runCheck();
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.runCheck(), checkDelay);
  }

  async runCheck() {
    clearTimeout(this.timer);
    const seq = ++this.seq;
    try {
      const problems = await this.check(this.text.value);
      if (seq === this.seq) this.show(problems);
    } catch (e) {
      if (seq === this.seq) this.show([{ line: 0, message: `无法校验：${e.message}` }]);
    }
  }

  /** goTo puts the caret at the start of line n and scrolls it into view. */
  goTo(n) {
    const lines = this.text.value.split("\n");
    let at = 0;
    for (let i = 0; i < n - 1 && i < lines.length; i++) at += lines[i].length + 1;
    this.text.focus();
    this.text.setSelectionRange(at, at);
    const lineHeight = parseFloat(getComputedStyle(this.text).lineHeight) || 20;
    this.text.scrollTop = Math.max(0, (n - 4) * lineHeight);
    this.hint();
  }

  lineCount() {
    return this.text.value.split("\n").length;
  }

  renderLines() {
    const n = this.lineCount();
    if (this.gutter.childElementCount !== n) {
      const nums = [];
      for (let i = 1; i <= n; i++) nums.push(h("div", { class: "fe-num", data: { line: String(i) } }, String(i)));
      this.gutter.replaceChildren(...nums);
    }
    this.mark();
  }

  /** show draws the problems on their lines and lists them. */
  show(problems) {
    this.problems = problems || [];
    this.mark();
    const byLine = [...this.problems].sort((a, b) => a.line - b.line);
    if (!byLine.length) {
      this.list.replaceChildren(h("p", { class: "fe-ok" }, "✓ 校验通过，没有问题"));
      this.list.dataset.count = "0";
      return;
    }
    this.list.dataset.count = String(byLine.length);
    this.list.replaceChildren(
      h("p", { class: "fe-bad" }, `${byLine.length} 个问题，修正后才能发布`),
      h("ul", null, byLine.map((p) => {
        const where = p.line ? `第 ${p.line} 行` : "";
        const li = h("li", { data: { line: String(p.line || 0) } },
          h("button", { type: "button", class: "fe-jump" }, where || "—"),
          p.node ? h("code", null, p.node) : null,
          h("span", null, p.message));
        li.querySelector("button").addEventListener("click", () => p.line && this.goTo(p.line));
        return li;
      })),
    );
  }

  mark() {
    const n = this.lineCount();
    const msgs = new Map();
    for (const p of this.problems) {
      if (!p.line) continue;
      const line = Math.min(p.line, n);
      msgs.set(line, msgs.has(line) ? `${msgs.get(line)}；${p.message}` : p.message);
    }
    const rows = [];
    for (let i = 1; i <= n; i++) {
      const msg = msgs.get(i);
      rows.push(h("div", { class: msg ? "fe-row err" : "fe-row", data: msg ? { line: String(i), msg } : { line: String(i) } }));
    }
    this.layer.replaceChildren(...rows);
    for (const num of this.gutter.children) {
      num.classList.toggle("err", msgs.has(Number(num.dataset.line)));
    }
    this.sync();
  }

  /** hint shows the fields the schema allows where the caret is: a node's by its kind, the
   * kinds on a kind line, the document's at the top level. */
  hint() {
    if (!this.hints || !this.schema) return;
    const defs = this.schema.$defs || {};
    const lines = this.text.value.split("\n");
    const at = this.text.value.slice(0, this.text.selectionStart).split("\n").length - 1;
    const line = lines[at] || "";
    const chips = (props, required, present) => Object.entries(props).map(([name, p]) => h("span", {
      class: `fe-chip${required.includes(name) ? " must" : ""}${present.has(name) ? " has" : ""}`,
      title: p.description || "",
    }, name));
    if (/^\s{4}kind:/.test(line)) {
      const kinds = Object.keys(defs).filter((k) => k.startsWith("node_")).map((k) => k.slice(5));
      this.hints.replaceChildren(h("strong", null, "可用的节点类型："), ...kinds.map((k) => h("span", { class: "fe-chip" }, k)));
      return;
    }
    // The node the caret is in: the last "  id:" line above it under nodes.
    let start = -1;
    for (let i = at; i >= 0; i--) {
      if (/^\S/.test(lines[i]) && lines[i].trim()) break;
      if (/^ {2}[a-z][a-z0-9_]*:\s*(#.*)?$/.test(lines[i])) {
        start = i;
        break;
      }
    }
    if (start < 0) {
      const present = new Set(lines.map((l) => (/^([a-z_]+):/.exec(l) || [])[1]).filter(Boolean));
      this.hints.replaceChildren(h("strong", null, "流程顶层字段（悬停看说明）："),
        ...chips(this.schema.properties || {}, this.schema.required || [], present));
      return;
    }
    const id = lines[start].trim().replace(/:.*$/, "");
    const present = new Set();
    let kind = "";
    for (let i = start + 1; i < lines.length && !/^ {0,2}\S/.test(lines[i]); i++) {
      const m = /^ {4}([a-z_]+):\s*(\S*)/.exec(lines[i]);
      if (!m) continue;
      present.add(m[1]);
      if (m[1] === "kind") kind = m[2];
    }
    const def = defs[`node_${kind}`];
    if (!def) {
      this.hints.replaceChildren(h("strong", null, `节点 ${id}：`), "先写 kind:（例如 play、menu、collect）");
      return;
    }
    this.hints.replaceChildren(h("strong", null, `节点 ${id}（${kind}）可用字段：`),
      ...chips(def.properties || {}, def.required || [], present),
      h("small", null, "　加粗为必填，灰色为已写；悬停看说明"));
  }

  sync() {
    const y = this.text.scrollTop;
    this.gutter.style.transform = `translateY(${-y}px)`;
    this.layer.style.transform = `translateY(${-y}px)`;
  }
}
