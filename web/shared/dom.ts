/**
 * A few lines of DOM building: elements with attributes and children, text always as text
 * nodes (never innerHTML), so nothing the service answers can become markup.
 */
type Child = Node | string | number | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | boolean> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false) continue;
    el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== undefined && c !== false) el.append(typeof c === 'number' ? String(c) : c);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function svg(tag: string, attrs: Record<string, string | number> = {}, ...children: (Node | string)[]): SVGElement {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

/** An OperationOutcome's diagnostics, or the HTTP status, as one line for the user. */
export async function problemOf(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { issue?: { diagnostics?: string }[] };
    return body.issue?.[0]?.diagnostics ?? `HTTP ${res.status}`;
  } catch {
    return `HTTP ${res.status}`;
  }
}

export const percent = (v: number | undefined): string => (v === undefined ? '–' : `${v.toFixed(1)}%`);
