"""The compact accessibility-tree observation, BrowserGym style::

    [3] link 'All products'
    [7] textbox 'Search products' value='mug'
    [9] button 'Search'
    StaticText '42 products found.'

One pass in the page gives every element a stable id (the ``data-agid`` attribute, assigned in
document order the first time the element is seen, so the same page always gets the same ids)
and serialises the visible tree: ARIA roles (explicit ``role`` or the HTML-AAM mapping), accessible
names (``aria-label``, ``aria-labelledby``, ``<label for>``, ``alt``, ``title``, ``placeholder``,
text), values and states. Text is cut to ``max_chars`` with a notice saying how much was left out.
"""

from __future__ import annotations

ID_ATTR = "data-agid"

WALK_JS = r"""
([maxNodes, attr]) => {
  const IMPLICIT = {A: 'link', BUTTON: 'button', SELECT: 'combobox', TEXTAREA: 'textbox', OPTION: 'option',
    H1: 'heading', H2: 'heading', H3: 'heading', H4: 'heading', H5: 'heading', H6: 'heading', IMG: 'img',
    NAV: 'navigation', MAIN: 'main', HEADER: 'banner', FOOTER: 'contentinfo', FORM: 'form', TABLE: 'table',
    TR: 'row', TH: 'columnheader', TD: 'cell', UL: 'list', OL: 'list', LI: 'listitem', ARTICLE: 'article',
    DIALOG: 'dialog', SUMMARY: 'button', LABEL: 'LabelText', ASIDE: 'complementary', SECTION: 'region',
    IFRAME: 'iframe'};
  const INPUTS = {checkbox: 'checkbox', radio: 'radio', submit: 'button', button: 'button', reset: 'button',
    number: 'spinbutton', range: 'slider', search: 'searchbox', image: 'button'};
  const SKIP = new Set(['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'HEAD', 'META', 'LINK', 'TITLE']);
  const INTERACTIVE = new Set(['link', 'button', 'textbox', 'searchbox', 'combobox', 'checkbox', 'radio',
    'spinbutton', 'slider', 'option', 'menuitem', 'tab', 'switch']);
  const LEAFY = new Set(['cell', 'columnheader', 'listitem', 'paragraph']);
  let next = window.__agNext || 1;
  const lines = [];
  let nodes = 0, truncated = false;
  const text = (s) => (s || '').replace(/\s+/g, ' ').trim();
  const q = (s) => "'" + s.slice(0, 300).replace(/'/g, "\\'") + "'";
  function role(el) {
    const r = el.getAttribute('role');
    if (r) return r.split(' ')[0];
    if (el.tagName === 'INPUT') return INPUTS[(el.type || 'text').toLowerCase()] || (el.type === 'hidden' ? null : 'textbox');
    if (el.tagName === 'A' && !el.hasAttribute('href')) return null;
    if (el.tagName === 'SECTION' && !el.hasAttribute('aria-label')) return null;
    return IMPLICIT[el.tagName] || null;
  }
  function name(el, r) {
    const lab = el.getAttribute('aria-label');
    if (lab) return text(lab);
    const by = el.getAttribute('aria-labelledby');
    if (by) return text(by.split(/\s+/).map(i => { const e = document.getElementById(i); return e ? e.textContent : ''; }).join(' '));
    if (el.labels && el.labels.length) return text(Array.from(el.labels).map(l => l.textContent).join(' '));
    if (el.tagName === 'IMG') return text(el.getAttribute('alt') || el.getAttribute('title'));
    if (el.tagName === 'INPUT' && ['submit', 'button', 'reset'].includes(el.type)) return text(el.value || el.type);
    if (['textbox', 'searchbox', 'combobox', 'spinbutton', 'slider'].includes(r))
      return text(el.getAttribute('placeholder') || el.getAttribute('title') || '');
    if (['link', 'button', 'heading', 'option', 'tab', 'menuitem', 'LabelText', 'checkbox', 'radio'].includes(r)
        || (LEAFY.has(r) && !el.firstElementChild)) return text(el.innerText !== undefined ? el.innerText : el.textContent);
    return text(el.getAttribute('title') || '');
  }
  function visible(el) {
    if (el.hidden) return false;
    if (el.checkVisibility) return el.checkVisibility({visibilityProperty: true});
    return true;
  }
  function walk(node, depth) {
    if (truncated) return;
    for (const child of node.childNodes) {
      if (nodes >= maxNodes) { truncated = true; return; }
      if (child.nodeType === 3) {
        const t = text(child.textContent);
        if (t) { lines.push(['  '.repeat(depth) + 'StaticText ' + q(t)]); nodes++; }
        continue;
      }
      if (child.nodeType !== 1 || SKIP.has(child.tagName)) continue;
      const el = child;
      if (!el.hasAttribute(attr)) el.setAttribute(attr, String(next++));
      if (el.tagName === 'INPUT' && el.type === 'hidden') continue;
      if (!visible(el)) continue;
      nodes++;
      const r = role(el);
      if (!r) { walk(el, depth); continue; }
      const n = name(el, r);
      let line = '  '.repeat(depth) + '[' + el.getAttribute(attr) + '] ' + r + ' ' + q(n);
      if (r === 'heading') line += ' level=' + el.tagName.slice(1);
      if (['textbox', 'searchbox', 'spinbutton', 'slider'].includes(r)) {
        if (el.value) line += ' value=' + q(el.value);
        if (el.type === 'password') line = line.replace(/ value='[^']*'/, " value='••••'");
      }
      if (el.tagName === 'SELECT') {
        const sel = el.selectedOptions[0];
        line += ' value=' + q(sel ? text(sel.textContent) : '');
        line += ' options=[' + Array.from(el.options).slice(0, 40).map(o => q(text(o.textContent))).join(', ') + ']';
      }
      if (r === 'checkbox' || r === 'radio') line += el.checked ? ' checked' : ' unchecked';
      if (el.disabled) line += ' disabled';
      if (r === 'link' && el.getAttribute('href')) line += ' url=' + q(el.getAttribute('href'));
      lines.push([line]);
      if (el.tagName === 'IFRAME') continue;
      if (INTERACTIVE.has(r) || r === 'heading' || r === 'LabelText' || (LEAFY.has(r) && !el.firstElementChild)) {
        // the name already says it; walk only for nested controls (a link inside a button, ...)
        for (const inner of el.querySelectorAll('a[href],button,input,select,textarea'))
          if (!inner.hasAttribute(attr)) inner.setAttribute(attr, String(next++));
        continue;
      }
      walk(el, depth + 1);
    }
  }
  if (document.body) walk(document.body, 0);
  window.__agNext = next;
  return {lines: lines.map(l => l[0]), truncated, title: document.title,
          scroll: [Math.round(window.scrollY), Math.max(0, document.documentElement.scrollHeight - window.innerHeight)]};
}
"""

SNAPSHOT_FORM_JS = r"""
(attr) => Array.from(document.querySelectorAll('input,textarea,select')).filter(e => e.hasAttribute(attr)).map(e =>
  [e.getAttribute(attr), e.type === 'checkbox' || e.type === 'radio' ? (e.checked ? '1' : '0') : e.value])
"""

RESTORE_FORM_JS = r"""
([attr, values]) => { for (const [id, v] of values) { const e = document.querySelector('[' + attr + '="' + id + '"]');
  if (!e || e.type === 'password' && !v) continue;
  if (e.type === 'checkbox' || e.type === 'radio') e.checked = v === '1'; else e.value = v; } }
"""


def render(*, url: str, title: str, lines: list[str], tabs: list[str], active: int, error: str | None,
           notices: list[str], max_chars: int, truncated_nodes: bool, scroll: tuple[int, int]) -> str:
    """The text the model sees after every action."""
    head = [f"URL: {url}", f"Title: {title}"]
    if len(tabs) > 1:
        head.append("Tabs: " + " | ".join(f"[{i}]{'*' if i == active else ''} {t}" for i, t in enumerate(tabs)))
    if error:
        head.append(f"Last action error: {error}")
    head += notices
    if scroll[1] > 0:
        head.append(f"Scroll position: {scroll[0]} of {scroll[1]} px")
    text = "\n".join(head) + "\n\n" + "\n".join(lines)
    if len(text) > max_chars:
        kept = text[:max_chars].rsplit("\n", 1)[0]
        left = text[len(kept):].count("\n") + 1
        text = kept + f"\n[... observation truncated at {max_chars} characters: {left} more lines not shown]"
    elif truncated_nodes:
        text += "\n[... page too large: only the first part of the page is shown]"
    return text


def compact(text: str, seen: set[str] | None) -> tuple[str, set[str]]:
    """``text`` with the tree lines the model saw in the previous observation (same id, role, name
    and state, e.g. the site's header and search form) folded into ``[... N unchanged lines]``
    markers; the header (URL, title, tabs, errors, notices) always stays whole. Returns the text
    and the lines to compare the next observation with (``seen=None``: the first look, kept whole)::

        text, seen = compact(first, None)        # whole
        text, seen = compact(after_click, seen)  # only what changed, in page order
    """
    head, sep, body = text.partition("\n\n")
    lines = body.split("\n") if sep else []
    if seen is None or not lines:
        return text, set(lines)
    out: list[str] = []
    run = 0
    for line in lines + [None]:   # type: ignore[list-item]
        if line is not None and line in seen and line.lstrip().startswith("["):
            run += 1
            continue
        if run:
            out.append(f"[... {run} unchanged line{'s' if run > 1 else ''}]")
            run = 0
        if line is not None:
            out.append(line)
    return head + "\n\n" + "\n".join(out), set(lines)
