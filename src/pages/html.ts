// The HTML document of a page: self-contained (inline CSS, no JavaScript), every reflected value escaped and every
// href checked.
import type { PageContent, PageLink } from './content.js';
import type { PageStrings } from './strings.js';
import { BASE_STYLE } from './style.js';
import type { Theme } from './theme.js';

export function htmlDocument(content: PageContent, theme: Theme, strings: PageStrings): string {
  const parts = [
    '<!doctype html>',
    `<html lang="${escapeHtml(strings.lang)}" dir="${strings.dir === 'rtl' ? 'rtl' : 'ltr'}">`,
    '<head>',
    '<meta charset=utf-8>',
    '<meta name=viewport content="width=device-width,initial-scale=1">',
    '<meta name="robots" content="noindex,nofollow">',
    `<title>${escapeHtml(content.documentTitle)}</title>`,
    `<style>${BASE_STYLE}</style>`,
    `<style>${theme.paletteCss}</style>`,
    '</head>',
    '<body>',
    '<main>',
  ];
  if (theme.logo) {
    parts.push(`<header><img src="${escapeHtml(theme.logo.src)}" alt="${escapeHtml(strings.logoAlt(theme.appTitle))}"></header>`);
  } else if (theme.appTitle && !content.headingNamesApp) {
    parts.push(`<header><span>${escapeHtml(theme.appTitle)}</span></header>`);
  }
  parts.push(`<h1>${escapeHtml(content.heading)}</h1>`);
  for (const paragraph of content.paragraphs) parts.push(`<p>${escapeHtml(paragraph)}</p>`);
  if (content.form || content.links.length > 0) {
    parts.push(`<div class="actions">${content.form ? postForm(content.form) : ''}${actionLinks(content.links, strings)}</div>`);
  }
  if (content.requestId !== undefined) {
    parts.push(`<footer><p>${escapeHtml(strings.error.requestIdLabel)} <code>${escapeHtml(content.requestId)}</code></p></footer>`);
  }
  parts.push('</main>', '</body>', '</html>', '');
  return parts.join('\n');
}

function actionLinks(links: PageLink[], strings: PageStrings): string {
  const primary = links.filter((link) => link.primary);
  const secondary = links.filter((link) => !link.primary);
  const html = primary.map(anchor);
  if (primary.length > 0 && secondary.length > 0) html.push(`<p class="or">${escapeHtml(strings.or)}</p>`);
  html.push(...secondary.map(anchor));
  return html.join('');
}

/**
 * CSP `form-action` also governs the redirects after a submission: a form whose answer is a redirect to the
 * provider (RP-initiated logout) needs the provider's origin next to 'self'. Only a plain http(s) origin goes in.
 */
export function withFormTarget(csp: string, origin: string): string {
  if (!/^https?:\/\/([a-z0-9.-]+|\[[0-9a-f:.]+\])(:\d{1,5})?$/.test(origin)) return csp;
  return csp.replace("form-action 'self'", `form-action 'self' ${origin}`);
}

function postForm(form: NonNullable<PageContent['form']>): string {
  const fields = Object.entries(form.fields).map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`);
  return `<form method="post" action="${escapeHtml(safeHref(form.action))}">${fields.join('')}<button class="button primary" type="submit">${escapeHtml(form.label)}</button></form>`;
}

function anchor(link: PageLink): string {
  const variant = link.primary ? 'primary' : 'secondary';
  return `<a class="button ${variant}" href="${escapeHtml(safeHref(link.href))}">${escapeHtml(link.label)}</a>`;
}

/** C0 controls, space, DEL and C1 controls: browsers strip or reinterpret them inside URLs. */
export function hasUnsafeUrlCharacter(url: string): boolean {
  for (let i = 0; i < url.length; i++) {
    const code = url.charCodeAt(i);
    if (code <= 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}

/** A path-absolute relative URL (not `//host` nor `/\host`) or an absolute http(s) URL; anything else becomes `/`. */
function safeHref(href: string): string {
  if (hasUnsafeUrlCharacter(href)) return '/';
  if (href.startsWith('/')) return href[1] === '/' || href[1] === '\\' ? '/' : href;
  try {
    const url = new URL(href);
    if (url.protocol === 'https:' || url.protocol === 'http:') return url.href;
  } catch {
    // not an absolute URL
  }
  return '/';
}

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character] ?? character);
}
