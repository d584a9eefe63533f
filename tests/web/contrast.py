"""WCAG 2.x AA contrast, measured in the browser on the rendered page (the `page` fixture runs it
on every page a test leaves open): each visible text — HTML elements with their own text and SVG
<text> — against the background it is drawn on (the first opaque background up its ancestors,
translucent ones composited), ≥ 4.5:1, or ≥ 3:1 for large text (24 px, or 18.66 px bold).
Disabled controls are exempt (WCAG 1.4.3)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

JS = r"""
() => {
  const parse = (c) => {
    const m = c.match(/^rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)$/);
    if (!m) throw new Error("unparsed colour " + c);
    return [+m[1], +m[2], +m[3], m[4] === undefined ? 1 : +m[4]];
  };
  const over = (top, under) => {  // top composited over an opaque colour
    const a = top[3];
    return [0, 1, 2].map(i => top[i] * a + under[i] * (1 - a)).concat([1]);
  };
  const lum = (c) => {
    const ch = c.slice(0, 3).map(v => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
  };
  const background = (el) => {
    const layers = [];
    for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
      const bg = parse(getComputedStyle(e).backgroundColor);
      if (bg[3] > 0) layers.push(bg);
      if (bg[3] >= 1) break;
    }
    let c = [255, 255, 255, 1];  // the canvas
    for (let i = layers.length - 1; i >= 0; i--) c = over(layers[i], c);
    return c;
  };
  const fails = [];
  let checked = 0;
  for (const el of document.body.querySelectorAll("*")) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || ["SCRIPT", "STYLE", "NOSCRIPT", "TITLE"].includes(el.tagName)) continue;
    const st = getComputedStyle(el);
    if (st.visibility !== "visible" || st.display === "none" || !el.getClientRects().length) continue;
    if (el.matches(":disabled") || el.closest("[hidden], .skip")) continue;
    const svg = el instanceof SVGElement;
    const bg = background(svg ? el.ownerSVGElement.parentElement : el);
    const fg = over(parse(svg ? st.fill : st.color), bg);
    const l1 = lum(fg), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const px = parseFloat(st.fontSize), bold = parseInt(st.fontWeight, 10) >= 700;
    const need = (px >= 24 || (px >= 18.66 && bold)) ? 3 : 4.5;
    checked++;
    if (ratio < need) fails.push({text: el.textContent.trim().slice(0, 60), tag: el.tagName,
      cls: String(el.className.baseVal ?? el.className), fg: st.color, bg: "rgb(" + bg.slice(0, 3).join(",") + ")",
      ratio: Math.round(ratio * 100) / 100, need});
  }
  return {checked, fails};
}
"""


def contrast(page: Page) -> dict[str, Any]:
    """{checked: how many texts, fails: those below AA} for the page as rendered now."""
    return dict(page.evaluate(JS))
