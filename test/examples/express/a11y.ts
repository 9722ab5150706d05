/**
 * Accessibility checks for the browser tests of the example host: axe-core
 * run inside the page at a desktop and a phone width, and WCAG contrast
 * ratios (computed from colours: the stylesheet's, or the browser's computed
 * styles). No vitest here.
 *
 * axe is put into the page with `page.evaluate(source)`: DevTools evaluation
 * is not governed by the page's CSP (script-src 'self'), which would block a
 * `<script>` that `addScriptTag` inlines.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** The widths every page is checked at: a laptop and a small phone. */
export const A11Y_WIDTHS = [1280, 375] as const;

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** axe's violations on the page as it is now (WCAG 2.0/2.1/2.2 A and AA, and best practices). */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate('typeof window.axe !== "undefined"'))) await page.evaluate(AXE_SOURCE);
  // A string, evaluated in the page: the test's own types have no DOM.
  return (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ') + ': ' + n.failureSummary),
  })))`)) as AxeViolation[];
}

/**
 * axe's violations on the current page at each of {@link A11Y_WIDTHS}
 * (the viewport is put back afterwards), labelled `label @ width`.
 */
export async function axeAtWidths(page: Page, label: string): Promise<string[]> {
  const before = page.viewportSize() ?? { width: 1280, height: 900 };
  const found: string[] = [];
  try {
    for (const width of A11Y_WIDTHS) {
      await page.setViewportSize({ width, height: before.height });
      for (const v of await axeViolations(page)) found.push(`${label} @ ${width}px: ${v.id} (${v.impact}) ${v.help}\n    ${v.nodes.join('\n    ')}`);
    }
  } finally {
    await page.setViewportSize(before);
  }
  return found;
}

/** `#rgb`, `#rrggbb`, `rgb(r, g, b)` or `rgba(r, g, b, a)` (alpha ignored) as [r, g, b]. */
export function parseColor(text: string): [number, number, number] {
  const value = text.trim().toLowerCase();
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/.exec(value);
  if (hex) {
    const digits = hex[1]!.length === 3 ? [...hex[1]!].map((d) => d + d).join('') : hex[1]!;
    return [0, 2, 4].map((i) => parseInt(digits.slice(i, i + 2), 16)) as [number, number, number];
  }
  const rgb = /^rgba?\(\s*(\d+)[\s,]+(\d+)[\s,]+(\d+)/.exec(value);
  if (rgb) return [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])];
  throw new Error(`not a colour: ${text}`);
}

/** WCAG relative luminance. */
function luminance([r, g, b]: [number, number, number]): number {
  const channel = (c: number) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

/** WCAG contrast ratio of two colours (1 to 21). */
export function contrastRatio(a: string, b: string): number {
  const [la, lb] = [luminance(parseColor(a)), luminance(parseColor(b))];
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

/**
 * The id of the focused element once `autofocus` has had its chance to move
 * the focus to `expected`: Chromium applies autofocus at its next rendering
 * update, which can come after `load`, so this waits (up to 5 s) for the
 * expected element, then reads whatever is focused (a wrong or missing focus
 * still shows as what it is).
 */
export async function focusedAfterAutofocus(page: Page, expected: string): Promise<string> {
  const script = `document.activeElement !== null && document.activeElement.id === ${JSON.stringify(expected)}`;
  await page.waitForFunction(script, undefined, { timeout: 5_000 }).catch(() => undefined);
  return String(await page.evaluate('document.activeElement && document.activeElement.id'));
}
