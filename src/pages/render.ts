// gatehouse's own pages (sign-on, declined, no-access, signed-out, errors) and the JSON
// error body for clients that prefer JSON. Pure: a model goes in, status, headers and
// a self-contained HTML document (inline CSS, no JavaScript) come out. Every reflected
// value is escaped, every href is checked, and the CSP allows exactly the emitted styles.

import { describePage, toErrorStatus } from './content.js';
import { htmlDocument, withFormTarget } from './html.js';
import { PAGE_STRINGS_EN, type NamedErrorText, type PageStrings } from './strings.js';
import { themeFor } from './theme.js';

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
      'content-security-policy': content.form?.redirectsTo
        ? withFormTarget(theme.contentSecurityPolicy, content.form.redirectsTo)
        : theme.contentSecurityPolicy,
      ...PAGE_SECURITY_HEADERS,
    },
    body: htmlDocument(content, theme, strings),
  };
}

/** `{"error": code, "status": n, "request_id": id}` for clients that prefer JSON. */
export function renderErrorJson(status: number, requestId: string, error: string): { status: number; headers: Record<string, string>; body: string } {
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
