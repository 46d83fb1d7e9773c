// Drives the development provider's real pages the way a user would: reads the HTML forms
// (action, hidden fields) of the login, consent and logout pages and submits them.

import type { BrowserClient, BrowserResponse, FollowResult } from './browser-client.js';

export interface HtmlForm {
  id?: string;
  /** Absolute URL the form posts to. */
  action: string;
  method: string;
  /** Hidden inputs with their values. */
  hidden: Record<string, string>;
  /** Names of the visible inputs (text, password, …). */
  inputs: string[];
}

export interface HtmlLink {
  href: string;
  text: string;
}

export interface ProviderSignIn extends FollowResult {
  sawLogin: boolean;
  sawConsent: boolean;
}

export type ConsentChoice = 'authorize' | 'decline' | 'skip-if-absent';

/**
 * From the provider's interaction page, signs in with the login form, then answers the consent page
 * ('authorize' and 'decline' require one; 'skip-if-absent' authorizes one if shown). Follows redirects
 * until the next one leaves the provider: `final` is that redirect, its `location` the RP's callback.
 */
export async function signInAtProvider(
  client: BrowserClient,
  page: BrowserResponse,
  user: { login: string; password?: string },
  consent: ConsentChoice,
): Promise<ProviderSignIn> {
  const providerOrigin = new URL(page.url).origin;
  const leavesProvider = (url: URL) => url.origin !== providerOrigin;
  const chain: BrowserResponse[] = [];
  let current = page;
  let sawLogin = false;
  let sawConsent = false;

  while (!isRedirectAway(current, providerOrigin)) {
    const forms = parseForms(current.body, current.url);
    const loginForm = forms.find((form) => form.hidden.prompt === 'login');
    const consentForm = forms.find((form) => form.hidden.prompt === 'consent');
    let step: FollowResult;
    if (loginForm) {
      if (sawLogin) throw new Error(`the provider showed its login form again for "${user.login}": ${alertText(current.body)}`);
      sawLogin = true;
      const form = { ...loginForm.hidden, login: user.login, password: user.password ?? 'any password' };
      step = await client.follow(loginForm.action, { form }, { stopAt: leavesProvider });
    } else if (consentForm) {
      sawConsent = true;
      if (consent === 'decline') {
        const cancel = parseLinks(current.body, current.url).find((link) => link.href.endsWith('/abort'));
        if (!cancel) throw new Error(`no cancel link on the consent page ${current.url}`);
        step = await client.follow(cancel.href, {}, { stopAt: leavesProvider });
      } else {
        step = await client.follow(consentForm.action, { form: consentForm.hidden }, { stopAt: leavesProvider });
      }
    } else {
      throw new Error(`unexpected provider page ${current.url} (status ${current.status}): ${current.body.slice(0, 300)}`);
    }
    chain.push(...step.chain);
    current = step.final;
  }
  if (consent !== 'skip-if-absent' && !sawConsent) throw new Error(`expected a consent page (to ${consent}) but none was shown`);
  return { final: current, chain, sawLogin, sawConsent };
}

/**
 * From the provider's RP-initiated logout page (/session/end), confirms ('yes') or refuses ('no') the
 * sign-out and follows redirects until one leaves the provider (or a provider page is shown).
 */
export async function logoutAtProvider(client: BrowserClient, page: BrowserResponse, choice: 'yes' | 'no' = 'yes'): Promise<FollowResult> {
  const providerOrigin = new URL(page.url).origin;
  const form = parseForms(page.body, page.url).find((candidate) => candidate.id === 'op.logoutForm');
  if (!form) throw new Error(`no logout form on ${page.url} (status ${page.status})`);
  const fields = choice === 'yes' ? { ...form.hidden, logout: 'yes' } : form.hidden;
  return client.follow(form.action, { form: fields }, { stopAt: (url) => url.origin !== providerOrigin });
}

export function parseForms(html: string, baseUrl: string): HtmlForm[] {
  const forms: HtmlForm[] = [];
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attributes = parseAttributes(match[1] ?? '');
    const hidden: Record<string, string> = {};
    const inputs: string[] = [];
    for (const input of (match[2] ?? '').matchAll(/<input\b([^>]*)>/gi)) {
      const inputAttributes = parseAttributes(input[1] ?? '');
      const name = inputAttributes.name;
      if (name === undefined) continue;
      if (inputAttributes.type?.toLowerCase() === 'hidden') hidden[name] = inputAttributes.value ?? '';
      else inputs.push(name);
    }
    forms.push({
      ...(attributes.id !== undefined ? { id: attributes.id } : {}),
      action: new URL(attributes.action ?? '', baseUrl).href,
      method: (attributes.method ?? 'get').toUpperCase(),
      hidden,
      inputs,
    });
  }
  return forms;
}

export function parseLinks(html: string, baseUrl: string): HtmlLink[] {
  return [...html.matchAll(/<a\b([^>]*)>([\s\S]*?)<\/a>/gi)].flatMap((match) => {
    const href = parseAttributes(match[1] ?? '').href;
    const text = decodeEntities((match[2] ?? '').replace(/<[^>]*>/g, '')).trim();
    return href === undefined ? [] : [{ href: new URL(href, baseUrl).href, text }];
  });
}

function isRedirectAway(response: BrowserResponse, providerOrigin: string): boolean {
  return response.status >= 300 && response.status < 400 && response.location !== undefined && new URL(response.location).origin !== providerOrigin;
}

function alertText(html: string): string {
  const alert = /<p[^>]*role="alert"[^>]*>([\s\S]*?)<\/p>/i.exec(html);
  return alert?.[1] ? decodeEntities(alert[1]) : 'no error message shown';
}

function parseAttributes(source: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const match of source.matchAll(/([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
    const name = (match[1] ?? '').toLowerCase();
    attributes[name] = decodeEntities(match[2] ?? match[3] ?? match[4] ?? '');
  }
  return attributes;
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (entity, code: string) => {
    const lower = code.toLowerCase();
    if (lower.startsWith('#x')) return String.fromCodePoint(parseInt(lower.slice(2), 16));
    if (lower.startsWith('#')) return String.fromCodePoint(parseInt(lower.slice(1), 10));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[lower] ?? entity;
  });
}
