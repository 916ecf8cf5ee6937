// keys.js: the desk's keyboard shortcuts. Each is bound once, by its label as the buttons
// show it ("F2", "Alt+H", "Ctrl+Enter"); keys a browser keeps for itself (F1, F3, F5, F6, F7,
// F10–F12, Alt+D/E/F, Ctrl+W/T/N …) are never used.

const bindings = new Map(); // label → handlers, latest first

/** label returns the label of a key event, in the form bindings use. */
function label(e) {
  let key = e.key;
  if (/^F\d{1,2}$/.test(key) || key === "Enter" || key === "Escape") {
    // as is
  } else if (e.code && /^Key[A-Z]$/.test(e.code)) {
    key = e.code.slice(3); // the letter, whatever the layout or Option key makes of it
  } else if (e.code && /^Digit\d$/.test(e.code)) {
    key = e.code.slice(5);
  } else {
    return "";
  }
  const mods = [];
  if (e.ctrlKey || e.metaKey) mods.push("Ctrl");
  if (e.altKey) mods.push("Alt");
  if (e.shiftKey && key.length > 1) mods.push("Shift");
  return [...mods, key].join("+");
}

/**
 * bind calls handler for the shortcut; handler returns false when the key did nothing for it.
 * Several handlers may share a key (Escape closes whatever is open): each is asked in turn,
 * the latest bound first, until one acts; when none does, the browser's behaviour is kept.
 */
export function bind(shortcut, handler) {
  bindings.set(shortcut, [handler, ...(bindings.get(shortcut) || [])]);
}

document.addEventListener(
  "keydown",
  (e) => {
    if (e.repeat) return;
    const l = label(e);
    const handlers = (l && bindings.get(l)) || [];
    for (const handler of handlers) {
      if (handler(e) === false) continue;
      e.preventDefault();
      e.stopPropagation();
      return;
    }
  },
  true,
);

/** kbd returns the <kbd> element a button shows its shortcut in. */
export function kbd(shortcut) {
  const k = document.createElement("kbd");
  k.textContent = shortcut;
  return k;
}
