// Session tests' requests with an explicit session cookie (no jar: a cookie the jar dropped by Max-Age cannot
// hide what gatehouse decides), metric reads, and the Redis probe used to skip Redis tests when none answers.
import type { Gatehouse } from '../../src/gatehouse.js';
import { BrowserClient } from './browser-client.js';
import type { CloudStack } from './cloud-stack.js';
import { sendRequest, type HttpResult } from './gatehouse-process.js';

export const SESSION_COOKIE = 'gatehouse_session';

const NAVIGATION_HEADERS = { accept: 'text/html,application/xhtml+xml', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
const API_HEADERS = { accept: 'application/json', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' };

/** A browser navigation carrying exactly `cookie` (a whole Cookie header value) when given. */
export function navigateWith(url: string, cookie?: string): Promise<HttpResult> {
  return sendRequest(url, { headers: cookie === undefined ? NAVIGATION_HEADERS : { ...NAVIGATION_HEADERS, cookie } });
}

/** A fetch()-like API call carrying exactly `cookie` when given. */
export function apiWith(url: string, cookie?: string): Promise<HttpResult> {
  return sendRequest(url, { headers: cookie === undefined ? API_HEADERS : { ...API_HEADERS, cookie } });
}

/** Value of one series of a counter or gauge (0 when the series does not exist yet). */
export async function metricValue(gatehouse: Gatehouse, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await gatehouse.metrics.registry.metrics();
  const wanted = Object.entries(labels)
    .map(([label, value]) => `${label}="${value}"`)
    .join(',');
  const series = wanted === '' ? name : `${name}{${wanted}}`;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return 0;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The session cookie value of `user` after a real sign-in through the dev provider. */
export async function signedInCookie(stack: CloudStack, user: string): Promise<string> {
  const client = new BrowserClient();
  await stack.signIn(client, '/', user);
  const value = client.cookie(stack.url, SESSION_COOKIE);
  await client.close();
  if (!value) throw new Error('no session cookie after sign-in');
  return value;
}

/** `gatehouse_session=<value>` after a real sign-in, ready for a Cookie header. */
export async function signedInCookieHeader(stack: CloudStack, user: string): Promise<string> {
  return `${SESSION_COOKIE}=${await signedInCookie(stack, user)}`;
}
