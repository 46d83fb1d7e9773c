// Token requests as gatehouse (running in this test process) hands them to fetch, with the provider's answer: what
// a client authentication method really puts on the wire.
import { vi } from 'vitest';

export interface TokenExchange {
  /** The request's headers, names in lower case. */
  headers: Record<string, string>;
  body: URLSearchParams;
  /** The provider's answer: status and the `error` of its JSON body (undefined on success). */
  answer: { status: number; error: unknown };
}

/** Records every request to `tokenEndpoint()` from now on; the caller restores fetch with `vi.restoreAllMocks()`. */
export function recordTokenRequests(tokenEndpoint: () => string): TokenExchange[] {
  const seen: TokenExchange[] = [];
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const response = await realFetch(input, init);
    if (url === tokenEndpoint()) {
      const body = (await response.clone().json()) as { error?: unknown };
      seen.push({
        headers: Object.fromEntries(new Headers(init?.headers).entries()),
        body: new URLSearchParams(init?.body as URLSearchParams | string),
        answer: { status: response.status, error: body.error },
      });
    }
    return response;
  });
  return seen;
}
