// gatehouse's own pages (sign-on, declined, no-access, signed-out, errors) and the JSON
// error body for clients that prefer JSON. Pure: a model goes in, status, headers and
// a self-contained HTML document (inline CSS, no JavaScript) come out. Every reflected
// value is escaped, every href is checked, and the CSP allows exactly the emitted styles.

import { PAGE_STRINGS_EN, type ErrorText, type KnownErrorStatus, type NamedErrorText, type PageStrings } from './strings.js';
import { BASE_STYLE, BASE_STYLE_HASH_SOURCE, cspHashSource, paletteStyle, resolvePalette } from './style.js';

/** Branding from config `pages`; an empty string means the default. */
export interface Branding {
  title: string;
  logoUrl: string;
  accentColor: string;
}

/** Branding from the config's `pages` keys. */
export function brandingOf(pages: { title: string; logo_url: string; accent_color: string }): Branding {
  return { title: pages.title, logoUrl: pages.logo_url, accentColor: pages.accent_color };
}

export interface RenderedPage {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string>;
  /** The full HTML document. */
  body: string;
}

/**
 * The link to the app's own login (`local_login`): `url` already carries the page the user asked for;
 * `label` is the configured text (`local_login.label`), empty for the page strings' default.
 */
export interface LocalLoginLink {
  localLoginUrl?: string;
  localLoginLabel?: string;
}

export type PageModel =
  | ({ kind: 'sign-on'; providerLabel: string; startUrl: string } & LocalLoginLink)
  /** The user declined consent at the provider (`error=access_denied`). */
  | ({ kind: 'declined'; retryUrl: string } & LocalLoginLink)
  | {
      kind: 'no-access';
      user: { name?: string | undefined; email?: string | undefined; sub: string };
      accessContact?: string | undefined;
      signOutUrl: string;
      /** An access rule refused this page (not the whole app): what it needs, in words (see access-rules.ts). */
      missing?: string | undefined;
    }
  | { kind: 'signed-out'; signInUrl: string }
  /** A logout that did not come from the own origin: one button posts it again from here (`token` binds it to the session). */
  | { kind: 'confirm-sign-out'; action: string; token?: string; cancelUrl: string; providerOrigin?: string }
  /** `wording` names a text of the page strings that replaces the status's default one. */
  | { kind: 'error'; status: number; requestId: string; wording?: NamedErrorText; retryUrl?: string };

export const PAGE_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
});

export function renderPage(model: PageModel, branding: Branding, strings: PageStrings = PAGE_STRINGS_EN): RenderedPage {
  const theme = themeFor(branding);
  const content = describePage(model, strings, theme.appTitle);
  return {
    status: content.status,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': content.form?.redirectsTo ? withFormTarget(theme.contentSecurityPolicy, content.form.redirectsTo) : theme.contentSecurityPolicy,
      ...PAGE_SECURITY_HEADERS,
    },
    body: htmlDocument(content, theme, strings),
  };
}

/** `{"error": code, "status": n, "request_id": id}` for clients that prefer JSON. */
export function renderErrorJson(
  status: number,
  requestId: string,
  error: string,
): { status: number; headers: Record<string, string>; body: string } {
  const errorStatus = toErrorStatus(status);
  return {
    status: errorStatus,
    headers: {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    },
    body: JSON.stringify({ error, status: errorStatus, request_id: requestId }),
  };
}

/**
 * True when the client ranks a JSON type (`application/json`, `*+json`) above HTML:
 * a higher q, or the same q listed first. Wildcard ranges count for neither, so a
 * browser navigation, a bare wildcard and a missing header all get HTML.
 */
export function wantsJson(accept: string | undefined): boolean {
  if (!accept) return false;
  const json = { q: 0, position: Infinity };
  const html = { q: 0, position: Infinity };
  const ranges = accept.split(',');
  for (let position = 0; position < ranges.length; position++) {
    const [mediaType = '', ...params] = (ranges[position] ?? '').split(';');
    const type = mediaType.trim().toLowerCase();
    const best = isJsonType(type) ? json : isHtmlType(type) ? html : undefined;
    if (best === undefined) continue;
    const q = quality(params);
    if (q > best.q) {
      best.q = q;
      best.position = position;
    }
  }
  return json.q > 0 && (json.q > html.q || (json.q === html.q && json.position < html.position));
}

interface Theme {
  appTitle: string | undefined;
  logo: { src: string; origin: string } | undefined;
  paletteCss: string;
  contentSecurityPolicy: string;
}

interface PageLink {
  label: string;
  href: string;
  primary: boolean;
}

interface PageContent {
  status: number;
  documentTitle: string;
  heading: string;
  paragraphs: string[];
  links: PageLink[];
  /** A POST form shown before the links: its hidden fields and its (primary) submit button's label. */
  form?: { action: string; fields: Readonly<Record<string, string>>; label: string; redirectsTo?: string };
  requestId?: string;
  /** The heading names the app already: the brand line (the title as text) is left out, so the title shows once. */
  headingNamesApp?: boolean;
}

/** Branding comes from config and is rendered on every page: resolve it once per object. */
const themes = new WeakMap<Branding, Theme>();

function themeFor(branding: Branding): Theme {
  let theme = themes.get(branding);
  if (theme === undefined) {
    theme = resolveTheme(branding);
    themes.set(branding, theme);
  }
  return theme;
}

function resolveTheme(branding: Branding): Theme {
  const paletteCss = paletteStyle(resolvePalette(branding.accentColor));
  const logo = parseLogoUrl(branding.logoUrl);
  const directives = ["default-src 'none'", `style-src ${BASE_STYLE_HASH_SOURCE} ${cspHashSource(paletteCss)}`];
  if (logo) directives.push(`img-src ${logo.origin} data:`);
  directives.push("form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'");
  return {
    appTitle: branding.title === '' ? undefined : branding.title,
    logo,
    paletteCss,
    contentSecurityPolicy: directives.join('; '),
  };
}

/** Only absolute http(s) logos whose host is a plain DNS name or IPv4 address: the origin goes into the CSP verbatim. */
function parseLogoUrl(logoUrl: string): { src: string; origin: string } | undefined {
  if (logoUrl === '' || hasUnsafeUrlCharacter(logoUrl)) return undefined;
  let url: URL;
  try {
    url = new URL(logoUrl);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.username !== '' || url.password !== '') return undefined;
  if (!/^[a-z0-9.-]+$/.test(url.hostname)) return undefined;
  return { src: url.href, origin: url.origin };
}

function describePage(model: PageModel, strings: PageStrings, appTitle: string | undefined): PageContent {
  const titled = (heading: string): { documentTitle: string; heading: string } => ({
    documentTitle: strings.documentTitle(heading, appTitle),
    heading,
  });
  switch (model.kind) {
    case 'sign-on': {
      // the heading names the app: it is the document title as it is, and the brand line is left out
      const heading = strings.signOn.heading(appTitle);
      return {
        status: 200,
        documentTitle: heading,
        heading,
        headingNamesApp: appTitle !== undefined,
        paragraphs: [],
        links: [
          { label: strings.signOn.signInWith(model.providerLabel), href: model.startUrl, primary: true },
          ...localAccountLink(model, strings.signOn.useLocalAccount),
        ],
      };
    }
    case 'declined':
      return {
        status: 200,
        ...titled(strings.declined.heading),
        paragraphs: [strings.declined.explanation(appTitle)],
        links: [
          { label: strings.declined.tryAgain, href: model.retryUrl, primary: true },
          ...localAccountLink(model, strings.declined.useLocalAccount),
        ],
      };
    case 'no-access':
      return {
        status: 403,
        ...titled(model.missing === undefined ? strings.noAccess.heading : strings.noAccess.pageHeading),
        paragraphs: [
          strings.noAccess.signedInAs(model.user),
          ...(model.missing === undefined ? [] : [strings.noAccess.needs(model.missing)]),
          model.accessContact ? strings.noAccess.askContact(model.accessContact) : strings.noAccess.askAdministrator,
        ],
        links: [{ label: strings.noAccess.signOut, href: model.signOutUrl, primary: true }],
      };
    case 'signed-out':
      return {
        status: 200,
        ...titled(strings.signedOut.heading),
        paragraphs: [strings.signedOut.explanation(appTitle)],
        links: [{ label: strings.signedOut.signInAgain, href: model.signInUrl, primary: true }],
      };
    case 'confirm-sign-out':
      return {
        status: 200,
        ...titled(strings.confirmSignOut.heading),
        paragraphs: [strings.confirmSignOut.explanation(appTitle)],
        form: {
          action: model.action,
          fields: model.token === undefined ? {} : { confirm: model.token },
          label: strings.confirmSignOut.signOut,
          redirectsTo: model.providerOrigin,
        },
        links: [{ label: strings.confirmSignOut.staySignedIn, href: model.cancelUrl, primary: false }],
      };
    case 'error': {
      const status = toErrorStatus(model.status);
      const wording = model.wording ? strings.error[model.wording] : errorText(status, strings);
      return {
        status,
        ...titled(wording.title),
        paragraphs: [wording.sentence],
        links: model.retryUrl ? [{ label: strings.error.retry, href: model.retryUrl, primary: true }] : [],
        requestId: model.requestId,
      };
    }
  }
}

function localAccountLink({ localLoginUrl, localLoginLabel }: LocalLoginLink, defaultLabel: string): PageLink[] {
  return localLoginUrl ? [{ label: localLoginLabel || defaultLabel, href: localLoginUrl, primary: false }] : [];
}

function toErrorStatus(status: number): number {
  return Number.isInteger(status) && status >= 400 && status <= 599 ? status : 500;
}

function errorText(status: number, strings: PageStrings): ErrorText {
  if (status in strings.error.byStatus) return strings.error.byStatus[status as KnownErrorStatus];
  return status < 500 ? strings.error.clientFallback : strings.error.serverFallback;
}

function htmlDocument(content: PageContent, theme: Theme, strings: PageStrings): string {
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
    parts.push(
      `<footer><p>${escapeHtml(strings.error.requestIdLabel)} <code>${escapeHtml(content.requestId)}</code></p></footer>`,
    );
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
function withFormTarget(csp: string, origin: string): string {
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
function hasUnsafeUrlCharacter(url: string): boolean {
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

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character] ?? character);
}

function isJsonType(type: string): boolean {
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

function isHtmlType(type: string): boolean {
  return type === 'text/html' || type === 'application/xhtml+xml';
}

/** The `q` parameter of a media range; absent or malformed means 1. */
function quality(params: string[]): number {
  for (const param of params) {
    const match = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(param);
    if (match?.[1] === undefined) continue;
    const q = Number(match[1]);
    return Number.isFinite(q) && q >= 0 && q <= 1 ? q : 1;
  }
  return 1;
}
