export interface BrowserResponse {
  status: number;
  /** The URL that was requested. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The Location header resolved against `url`. */
  location?: string;
}

export interface BrowserRequestInit {
  method?: string;
  /** Sent as application/x-www-form-urlencoded; the method defaults to POST. */
  form?: Record<string, string>;
  /** Sent as application/json (api only); the method defaults to POST. */
  json?: unknown;
  headers?: Record<string, string>;
}

export interface FollowOptions {
  maxRedirects?: number;
  /** Checked on every redirect target before it is requested; true ends the walk there. */
  stopAt?: (url: URL) => boolean;
}

export interface FollowResult {
  final: BrowserResponse;
  chain: BrowserResponse[];
}

export interface StoredCookie {
  name: string;
  value: string;
  /** The host the cookie was set by, or its Domain attribute. */
  domain: string;
  hostOnly: boolean;
  path: string;
  /** Epoch milliseconds; undefined for a session cookie. */
  expiresAt?: number;
  secure: boolean;
  httpOnly: boolean;
  sameSite?: string;
}

export class CookieJar {
  constructor(now?: () => number);
  /** Stores the Set-Cookie headers of a response from `url`. */
  store(url: URL, setCookie: string | string[] | undefined): void;
  /** The cookies a request to `url` carries, longest path first. */
  matching(url: URL): StoredCookie[];
  header(url: URL): string | undefined;
  get(url: URL, name: string): string | undefined;
  all(): StoredCookie[];
  clear(): void;
}

export class BrowserClient {
  readonly jar: CookieJar;
  /** The document shown last (the last navigation that was not a redirect): the initiator of what follows. */
  currentUrl: URL | undefined;
  /** `now` is the jar's clock for cookie expiry (default Date.now). */
  constructor(opts?: { now?: () => number });
  /** One navigation request (no redirect followed). */
  navigate(url: string, init?: BrowserRequestInit): Promise<BrowserResponse>;
  /**
   * Navigates and follows redirects across origins (303, and 301/302 after POST, turn into GET).
   * Each hop's Sec-Fetch-Site compares the hop with the document that started the walk.
   */
  follow(url: string, init?: BrowserRequestInit, opts?: FollowOptions): Promise<FollowResult>;
  /** A request as fetch() from the current page would make it; one request, redirects not followed. */
  api(url: string, init?: BrowserRequestInit): Promise<BrowserResponse>;
  /** The value of cookie `name` that a request to `origin` would carry. */
  cookie(origin: string, name: string): string | undefined;
  close(): Promise<void>;
}
