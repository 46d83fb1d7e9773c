// The access line, one per request: the same JSON shape as pino's lines (level, time, service, the fields, msg),
// formatted field by field because it is written for every request: pino's generic serializer cost 2.8 µs a line
// here, this 0.8 µs (both measured on the bench's lines).
import { SERVICE, isoTimestamp } from './line-shape.js';

/** What an access line records of a request; never the query string, a header value other than the user agent, or a secret. */
export interface AccessRecord {
  reqId: string;
  /** Absent when the parser could not read the request. */
  method?: string | undefined;
  path?: string | undefined;
  status: number;
  ms?: number;
  bytes?: number;
  upgrade?: true;
  /** The HTTP parser's code, for a request it could not read. */
  refused?: string | undefined;
}

/** Who asked: the client address as trust_proxy sees it, the socket's peer when that differs, the user agent, the forwarded user's sub. */
export interface Requester {
  remote?: string | undefined;
  peer?: string;
  ua?: string;
  sub?: string;
}

const SERVICE_FIELD = `,"service":${JSON.stringify(SERVICE)}`;
const string = JSON.stringify;

export function accessLine(record: AccessRecord, who: Requester): string {
  let line = `{"level":"info"${isoTimestamp()}${SERVICE_FIELD},"reqId":${string(record.reqId)}`;
  if (record.method !== undefined) line += `,"method":${string(record.method)}`;
  if (record.path !== undefined) line += `,"path":${string(record.path)}`;
  line += `,"status":${record.status}`;
  if (record.ms !== undefined) line += `,"ms":${record.ms}`;
  if (record.bytes !== undefined) line += `,"bytes":${record.bytes}`;
  if (record.upgrade) line += ',"upgrade":true';
  if (record.refused !== undefined) line += `,"refused":${string(record.refused)}`;
  if (who.remote !== undefined) line += `,"remote":${string(who.remote)}`;
  if (who.peer !== undefined) line += `,"peer":${string(who.peer)}`;
  if (who.ua !== undefined) line += `,"ua":${string(who.ua)}`;
  if (who.sub !== undefined) line += `,"sub":${string(who.sub)}`;
  return `${line},"msg":"request"}\n`;
}
