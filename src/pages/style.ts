// The look of gatehouse's pages: one static stylesheet, hashed once at load for the
// Content-Security-Policy, and a small per-branding palette whose colours are
// validated and chosen for WCAG contrast.

import { createHash } from 'node:crypto';

/** Colours a page is painted with, each a lower-case `#rrggbb`. */
export interface Palette {
  /** Primary button background. */
  readonly accent: string;
  /** Primary button text: white, or black when white on the accent is below 4.5:1. */
  readonly onAccent: string;
  /** Keyboard focus ring: the accent when it reaches 3:1 against the white card. */
  readonly focus: string;
}

export const DEFAULT_ACCENT = '#2563eb';
const WHITE_LUMINANCE = 1;

// `code` (the request id on error pages) is an inline block: when it does not fit after "Request ID:" it moves
// to the next line whole instead of breaking mid-id; only an id wider than the card (a long client-sent
// X-Request-Id on a phone) wraps, at its hyphens first, then anywhere.
export const BASE_STYLE = `
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;padding:24px 16px;background:#f3f4f6;color:#111827;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif}
main{width:100%;max-width:420px;background:#fff;border:1px solid #e5e7eb;border-radius:12px;box-shadow:0 1px 3px rgba(0,0,0,.08),0 8px 24px rgba(0,0,0,.06);padding:32px 28px}
header{margin:0 0 20px;text-align:center}
header img{display:inline-block;max-width:100%;max-height:48px;height:auto}
header span{font-size:1.125rem;font-weight:600;color:#374151}
h1{margin:0 0 12px;font-size:1.375rem;line-height:1.3;text-align:center;overflow-wrap:anywhere}
p{margin:0 0 12px;color:#374151;overflow-wrap:anywhere}
.actions{display:flex;flex-direction:column;gap:12px;margin-top:24px}
.button{display:block;min-height:44px;padding:11px 16px;border:1px solid transparent;border-radius:8px;font-weight:600;line-height:1.25;text-align:center;text-decoration:none;overflow-wrap:anywhere}
.button:hover{text-decoration:underline}
.primary{background:var(--accent);color:var(--on-accent)}
.secondary{background:#fff;color:#111827;border-color:#6b7280}
.secondary:hover{background:#f9fafb}
.or{display:flex;align-items:center;gap:12px;margin:0;color:#4b5563;font-size:.875rem}
.or::before,.or::after{content:"";flex:1;border-top:1px solid #e5e7eb}
form{margin:0}
button.button{width:100%;font:inherit;font-weight:600;cursor:pointer}
a:focus-visible,button:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
footer{margin-top:24px;padding-top:16px;border-top:1px solid #e5e7eb;color:#4b5563;font-size:.875rem}
footer p{margin:0;color:inherit}
code{display:inline-block;max-width:100%;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere;user-select:all}
@media (max-width:420px){body{padding:16px 12px}main{padding:24px 18px}}
@media (forced-colors:active){.primary{border-color:ButtonText}}
`;

/** CSP source expression (`'sha256-…'`) allowing exactly this inline stylesheet. */
export function cspHashSource(css: string): string {
  return `'sha256-${createHash('sha256').update(css, 'utf8').digest('base64')}'`;
}

export const BASE_STYLE_HASH_SOURCE = cspHashSource(BASE_STYLE);

/** Palette for a configured accent; anything but `#rgb` / `#rrggbb` gets the default. */
export function resolvePalette(accentColor: string): Palette {
  const accent = normalizeHexColor(accentColor) ?? DEFAULT_ACCENT;
  const accentLuminance = relativeLuminance(accent);
  return {
    accent,
    onAccent: contrastRatio(WHITE_LUMINANCE, accentLuminance) >= 4.5 ? '#ffffff' : '#000000',
    focus: contrastRatio(WHITE_LUMINANCE, accentLuminance) >= 3 ? accent : '#111827',
  };
}

/** The stylesheet carrying a palette's colours as custom properties. */
export function paletteStyle(palette: Palette): string {
  return `:root{--accent:${palette.accent};--on-accent:${palette.onAccent};--focus:${palette.focus}}`;
}

function normalizeHexColor(value: string): string | undefined {
  if (/^#[0-9a-fA-F]{6}$/.test(value)) return value.toLowerCase();
  if (/^#[0-9a-fA-F]{3}$/.test(value)) {
    const [r, g, b] = value.slice(1).toLowerCase();
    return `#${r}${r}${g}${g}${b}${b}`;
  }
  return undefined;
}

/** WCAG 2 relative luminance of a `#rrggbb` colour. */
function relativeLuminance(hex: string): number {
  const channel = (offset: number): number => {
    const c = Number.parseInt(hex.slice(offset, offset + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}

function contrastRatio(a: number, b: number): number {
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}
