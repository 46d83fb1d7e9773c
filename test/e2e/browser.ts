// The end-to-end harness: Debian's chromium driven by playwright-core, the embedded demo stack on free
// loopback ports, a local logo server for branding, and the checks that read what a person would see
// (main-frame navigations, the provider's forms, contrast, focus, screenshots).
import { existsSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Config } from '../../src/config/schema.js';
import { startDemoStack, type DemoStack, type DemoStackOptions } from '../../demo/stack.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

// The few browser globals the functions passed to page.evaluate use. Declared here, module-local, because
// lib "dom" would change global types for every file in the project.
interface PageNode {
  readonly nodeType: number;
  readonly textContent: string | null;
}
interface PageElement extends PageNode {
  readonly tagName: string;
  readonly classList: Iterable<string>;
  readonly outerHTML: string;
  readonly parentElement: PageElement | null;
  readonly childNodes: Iterable<PageNode>;
  getAttribute(name: string): string | null;
  closest(selector: string): PageElement | null;
  blur(): void;
}
interface PageImage extends PageElement {
  readonly complete: boolean;
  readonly naturalWidth: number;
}
interface PageRect {
  readonly top: number;
  readonly left: number;
  readonly right: number;
  readonly width: number;
}
interface PageRange {
  selectNodeContents(node: PageElement): void;
  getClientRects(): Iterable<PageRect>;
}
declare const document: {
  readonly documentElement: { readonly lang: string; readonly scrollWidth: number; readonly clientWidth: number };
  readonly body: PageElement;
  readonly activeElement: PageElement | null;
  querySelector<E extends PageElement = PageElement>(selector: string): E | null;
  querySelectorAll(selector: string): Iterable<PageElement> & { readonly length: number };
  createRange(): PageRange;
};
declare function getComputedStyle(element: PageElement): {
  readonly color: string;
  readonly backgroundColor: string;
  readonly outlineStyle: string;
  readonly outlineWidth: string;
  readonly outlineColor: string;
};

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM_PATH);

const DEMO_CONFIG = fileURLToPath(new URL('../../config/demo.yaml', import.meta.url));
export const SCREENSHOT_DIR = fileURLToPath(new URL('./screenshots/', import.meta.url));

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

export interface E2eStack {
  /** gatehouse's public URL, http://127.0.0.1:<port> */
  url: string;
  /** The dev provider's issuer, http://127.0.0.1:<port> */
  providerUrl: string;
  demo: DemoStack;
  /** Takes the dev provider off the network, as in a provider outage; close() then stops the rest. */
  stopProvider(): Promise<void>;
  close(): Promise<void>;
}

export interface E2eStackOptions {
  /** Absolute gatehouse session lifetime in ms (config `session.ttl`). */
  sessionTtlMs?: number;
  pages?: Partial<Config['pages']>;
  /** Over config/demo.yaml's `local_login` (e.g. a `label`). */
  localLogin?: Partial<Config['local_login']>;
  providerTtl?: DemoStackOptions['providerTtl'];
}

/** config/demo.yaml as shipped, moved onto free 127.0.0.1 ports (cookies for 127.0.0.1 are shared across ports, which is fine: names differ). */
export async function startE2eStack(options: E2eStackOptions = {}): Promise<E2eStack> {
  const [gatehousePort, providerPort, appPort] = [await freePort(), await freePort(), await freePort()];
  const url = `http://127.0.0.1:${gatehousePort}`;
  const providerUrl = `http://127.0.0.1:${providerPort}`;
  const demo = await startDemoStack({
    configPath: DEMO_CONFIG,
    providerTtl: options.providerTtl,
    adjust: (config) => ({
      ...config,
      listen: { ...config.listen, host: '127.0.0.1', port: gatehousePort },
      ops: { ...config.ops, host: '127.0.0.1', port: 0 },
      public_url: url,
      upstream: { ...config.upstream, url: `http://127.0.0.1:${appPort}` },
      sso: { ...config.sso, issuer: providerUrl },
      session: { ...config.session, ttl: options.sessionTtlMs ?? config.session.ttl },
      pages: { ...config.pages, ...options.pages },
      local_login: { ...config.local_login, ...options.localLogin },
      log: { ...config.log, level: 'warn' },
    }),
  });
  let providerStopped = false;
  return {
    url,
    providerUrl,
    demo,
    stopProvider: async () => {
      providerStopped = true;
      await demo.provider.close();
    },
    close: async () => {
      if (!providerStopped) return demo.stop();
      await demo.gatehouse.shutdown();
      await demo.app.close();
    },
  };
}

/** A tiny SVG logo on its own loopback origin, as an operator's `pages.logo_url` would be. */
export async function startLogoServer(): Promise<{ url: string; requests: () => number; close(): Promise<void> }> {
  let requests = 0;
  const svg =
    '<svg xmlns="http://www.w3.org/2000/svg" width="104" height="40" viewBox="0 0 104 40">' +
    '<rect width="40" height="40" rx="8" fill="#0f766e"/><path d="M10 28 20 10 30 28Z" fill="#fff"/>' +
    '<text x="50" y="27" font-family="sans-serif" font-size="18" font-weight="700" fill="#0f172a">Acme</text></svg>';
  const server = http.createServer((req, res) => {
    requests++;
    res.writeHead(200, { 'content-type': 'image/svg+xml', 'content-length': Buffer.byteLength(svg) }).end(svg);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/logo.svg`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface MainFrameResponse {
  url: string;
  status: number;
}

export interface NavigationRecord {
  /** Every main-frame document response, redirects included. */
  responses: MainFrameResponse[];
  /** Every URL the main frame committed to (what was actually shown). */
  committed: string[];
}

export function recordNavigations(page: Page): NavigationRecord {
  const record: NavigationRecord = { responses: [], committed: [] };
  page.on('response', (response) => {
    const request = response.request();
    if (request.isNavigationRequest() && request.frame() === page.mainFrame()) {
      record.responses.push({ url: response.url(), status: response.status() });
    }
  });
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) record.committed.push(frame.url());
  });
  return record;
}

/**
 * Runs `before` when the browser is about to send a request matching `urlPattern` (CDP Fetch pattern: `*` and `?`
 * wildcards), then lets the request go on unchanged. Unlike page.route, this also stops at redirect hops, such as
 * the provider's redirect back to /.auth/callback.
 */
export async function beforeRequest(page: Page, urlPattern: string, before: () => Promise<void>): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  cdp.on('Fetch.requestPaused', (event) => {
    void before().finally(() => cdp.send('Fetch.continueRequest', { requestId: event.requestId }));
  });
  await cdp.send('Fetch.enable', { patterns: [{ urlPattern, requestStage: 'Request' }] });
}

/** The dev provider's login form (oidc-provider devInteractions). */
export async function loginAtProvider(page: Page, user: string): Promise<void> {
  await page.locator('input[name="login"]').fill(user);
  await page.locator('input[name="password"]').fill('any-password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
}

/** Waits until `url` answers `status` for this context's cookies (e.g. /.auth/me turning 401 when the session expired). */
export async function waitForStatus(page: Page, url: string, status: number, timeoutMs = 10_000): Promise<void> {
  let last = 0;
  const answers = async () => (last = (await page.request.get(url, { headers: { accept: 'application/json' }, maxRedirects: 0 })).status()) === status;
  await waitFor(answers, { timeoutMs, intervalMs: 100, what: () => `${url} answering ${status} (it still answers ${last})` });
}

export const VIEWPORTS = { phone: { width: 375, height: 740 }, desktop: { width: 1280, height: 800 } } as const;

/** Screenshots of the current page at phone and desktop widths; returns the widest horizontal scroll seen (0 = none). */
export async function screenshotPage(page: Page, name: string): Promise<{ files: string[]; horizontalOverflow: number }> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const files: string[] = [];
  let horizontalOverflow = 0;
  for (const [label, size] of Object.entries(VIEWPORTS)) {
    await page.setViewportSize(size);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    horizontalOverflow = Math.max(horizontalOverflow, overflow);
    const file = `${SCREENSHOT_DIR}${name}-${label}-${size.width}.png`;
    await page.screenshot({ path: file, fullPage: true });
    files.push(file);
  }
  return { files, horizontalOverflow };
}

/** One piece of text and the colours it is painted with; `background` is the first opaque background behind it. */
export interface ContrastReading {
  /** `primary button`, `secondary button`, `request id`, or the text element: `h1`, `p`, `p.or`, `header span`, `footer p`. */
  element: string;
  text: string;
  color: string;
  background: string;
  /** WCAG 2 contrast ratio of color against background. */
  ratio: number;
}

export interface AccessibilityReport {
  lang: string;
  /** Links and buttons without an accessible name (their outerHTML). */
  unnamedControls: string[];
  /** Images without an alt attribute. */
  imagesWithoutAlt: number;
  /** The branding logo in the page header, if any. */
  logo: { alt: string | null; loaded: boolean } | null;
  primary: { text: string; color: string; background: string } | null;
  /** The primary and secondary buttons, the request id and every other text of the page, one reading per element. */
  contrast: ContrastReading[];
}

export async function inspectAccessibility(page: Page): Promise<AccessibilityReport> {
  const { contrastSamples, ...report } = await page.evaluate(() => {
    const controls = Array.from(document.querySelectorAll('a[href], button, input[type="submit"]'));
    const unnamedControls = controls
      .filter((element) => {
        const name = element.getAttribute('aria-label') ?? element.textContent ?? element.getAttribute('title') ?? '';
        return name.trim() === '';
      })
      .map((element) => element.outerHTML);
    const primaryElement = document.querySelector('.button.primary');
    const style = primaryElement ? getComputedStyle(primaryElement) : null;
    const logo = document.querySelector<PageImage>('header img');

    // The colour the text sits on: the nearest ancestor-or-self background that is not fully transparent
    // (a translucent one is returned as is, and contrastRatio refuses it); the canvas is white.
    const backgroundBehind = (element: PageElement): string => {
      for (let current: PageElement | null = element; current; current = current.parentElement) {
        const background = getComputedStyle(current).backgroundColor;
        if (!/^rgba\(.*,\s*0\)$/.test(background)) return background;
      }
      return 'rgb(255, 255, 255)';
    };
    const sample = (element: PageElement, name: string) => ({
      element: name,
      text: (element.textContent ?? '').trim(),
      color: getComputedStyle(element).color,
      background: backgroundBehind(element),
    });
    const ownText = (element: PageElement): boolean =>
      Array.from(element.childNodes).some((node) => node.nodeType === 3 && (node.textContent ?? '').trim() !== '');
    const nameOf = (element: PageElement): string => {
      const landmark = element.closest('header, footer');
      const own = [element.tagName.toLowerCase(), ...Array.from(element.classList)].join('.');
      return landmark && landmark !== element ? `${landmark.tagName.toLowerCase()} ${own}` : own;
    };
    const named: Array<[string, string]> = [
      ['.button.primary', 'primary button'],
      ['.button.secondary', 'secondary button'],
      ['footer code', 'request id'],
    ];
    const contrastSamples = named.flatMap(([selector, name]) => Array.from(document.querySelectorAll(selector)).map((element) => sample(element, name)));
    for (const element of Array.from(document.querySelectorAll('body *'))) {
      if (!ownText(element) || named.some(([selector]) => element.closest(selector))) continue;
      contrastSamples.push(sample(element, nameOf(element)));
    }
    return {
      lang: document.documentElement.lang,
      unnamedControls,
      imagesWithoutAlt: document.querySelectorAll('img:not([alt])').length,
      logo: logo ? { alt: logo.getAttribute('alt'), loaded: logo.complete && logo.naturalWidth > 0 } : null,
      primary: primaryElement && style ? { text: primaryElement.textContent ?? '', color: style.color, background: style.backgroundColor } : null,
      contrastSamples,
    };
  });
  return { ...report, contrast: contrastSamples.map((reading) => ({ ...reading, ratio: contrastRatio(reading.color, reading.background) })) };
}

export interface FocusState {
  text: string;
  outlineStyle: string;
  outlineWidth: string;
  outlineColor: string;
}

/** Presses Tab from the top of the page and reports the focused element's outline. */
export async function tabToFirstControl(page: Page): Promise<FocusState> {
  await page.evaluate(() => document.activeElement?.blur());
  await page.keyboard.press('Tab');
  return page.evaluate(() => {
    const element = document.activeElement;
    if (!element || element === document.body) return { text: '', outlineStyle: 'none', outlineWidth: '0px', outlineColor: '' };
    const style = getComputedStyle(element);
    return { text: element.textContent ?? '', outlineStyle: style.outlineStyle, outlineWidth: style.outlineWidth, outlineColor: style.outlineColor };
  });
}

/** WCAG 2 contrast ratio of two computed CSS colours (`rgb(r, g, b)` / `rgba(...)`, opaque). */
export function contrastRatio(foreground: string, background: string): number {
  const a = relativeLuminance(foreground);
  const b = relativeLuminance(background);
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}

function relativeLuminance(cssColor: string): number {
  const match = /^rgba?\((\d+),\s*(\d+),\s*(\d+)(?:,\s*([\d.]+))?\)$/.exec(cssColor);
  if (!match || (match[4] !== undefined && Number(match[4]) !== 1)) throw new Error(`not an opaque rgb() colour: ${cssColor}`);
  const [r, g, b] = [match[1], match[2], match[3]].map((channel) => {
    const c = Number(channel) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** The lines a text is laid out on: one entry per line box, left and right edge in CSS px (of `selector`'s first match). */
export async function textLines(page: Page, selector: string): Promise<Array<{ left: number; right: number }>> {
  return page.evaluate((target) => {
    const element = document.querySelector(target);
    if (!element) throw new Error(`no element ${target}`);
    const range = document.createRange();
    range.selectNodeContents(element);
    const lines = new Map<number, { left: number; right: number }>();
    for (const rect of Array.from(range.getClientRects())) {
      if (rect.width === 0) continue;
      const top = Math.round(rect.top);
      const line = lines.get(top);
      lines.set(top, line ? { left: Math.min(line.left, rect.left), right: Math.max(line.right, rect.right) } : { left: rect.left, right: rect.right });
    }
    return [...lines.entries()].sort(([a], [b]) => a - b).map(([, line]) => line);
  }, selector);
}
