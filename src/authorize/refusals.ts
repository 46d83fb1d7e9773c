// gatehouse's answers when access is refused: a bearer token that is not valid (401, RFC 6750), a provider that
// cannot check it (503), and a signed-in user or API client the access rules refuse (403 page or JSON).
import type { ServerResponse } from 'node:http';
import { sendJson } from '../http/respond.js';
import { ProviderUnavailableError, TokenInvalidError } from '../errors.js';
import type { BearerFailure } from './authentication.js';
import { requirementJson, type Verdict } from './access-rules.js';

/** RFC 6750 §3: the token is missing, expired, revoked, malformed or for someone else; never a redirect. */
export function sendInvalidToken(res: ServerResponse, error: BearerFailure): void {
  if (error instanceof TokenInvalidError) {
    sendJson(
      res,
      error.status,
      { error: error.publicCode, message: 'The access token is not valid' },
      { 'www-authenticate': 'Bearer realm="gatehouse", error="invalid_token"' },
    );
    return;
  }
  const retry: Record<string, string> = error instanceof ProviderUnavailableError ? { 'retry-after': '5' } : {};
  sendJson(res, error.status, { error: error.publicCode, message: 'The access token could not be checked' }, retry);
}

/**
 * 403 JSON for a refused API client: `no_access` (roles.required, the user has no app role) keeps its body;
 * `forbidden` (a rule or access.default refuses) names what the path needs.
 */
export function sendForbiddenJson(res: ServerResponse, verdict: Extract<Verdict, { granted: false }>, accessContact: string): void {
  const contact = accessContact || undefined;
  if (verdict.code === 'no_access') {
    sendJson(res, 403, { error: 'no_access', message: "You don't have access to this app", access_contact: contact });
    return;
  }
  sendJson(res, 403, {
    error: 'forbidden',
    message: "You don't have access to this page",
    requires: requirementJson(verdict.requirement),
    access_contact: contact,
  });
}
