// Prometheus metrics: one registry per gatehouse instance, names with the gatehouse_ prefix.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { LatencyHistogram } from './latency-histogram.js';
import type { UpstreamFailureKind } from '../proxy/forward.js';
import { buildInfo, type BuildInfo } from '../version.js';

const UPSTREAM_FAILURE_KINDS = ['refused', 'timeout', 'reset', 'protocol'] as const satisfies readonly UpstreamFailureKind[];
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'gatehouse_http_requests_total',
    help: 'Requests answered, by status class',
    labelNames: ['status_class'] as const,
    registers: [this.registry],
    collect: (): void => this.reportAnswered(),
  });
  readonly requestDuration = new LatencyHistogram(
    'gatehouse_http_request_duration_seconds',
    'Time from request to the end of the response',
    LATENCY_BUCKETS,
    this.registry,
  );
  readonly inFlight = new Gauge({ name: 'gatehouse_http_requests_in_flight', help: 'Requests being answered now', registers: [this.registry] });
  readonly upstreamErrors = new Counter({
    name: 'gatehouse_upstream_errors_total',
    help: 'Failed requests to the app, by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly upstreamDuration = new LatencyHistogram(
    'gatehouse_upstream_response_seconds',
    'Time until the app answered with headers',
    LATENCY_BUCKETS,
    this.registry,
  );
  readonly rejectedRequests = new Counter({
    name: 'gatehouse_rejected_requests_total',
    help: 'Requests refused before routing, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly clientTimeouts = new Counter({
    name: 'gatehouse_client_timeouts_total',
    help: 'Connections cut because the client stalled, by phase (headers, body)',
    labelNames: ['phase'] as const,
    registers: [this.registry],
  });

  readonly signInsStarted = new Counter({
    name: 'gatehouse_sign_ins_started_total',
    help: 'Sign-ins sent to the provider, by whether prompt=none was tried',
    labelNames: ['silent'] as const,
    registers: [this.registry],
  });
  readonly signInsCompleted = new Counter({
    name: 'gatehouse_sign_ins_completed_total',
    help: 'Sign-ins that created a session',
    labelNames: ['silent'] as const,
    registers: [this.registry],
  });
  readonly signInsFailed = new Counter({
    name: 'gatehouse_sign_ins_failed_total',
    help: 'Sign-ins that failed, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly silentReauthFallbacks = new Counter({
    name: 'gatehouse_silent_reauth_fallbacks_total',
    help: 'Silent sign-ins (prompt=none) the provider answered with an error, each followed by one interactive attempt; by provider error (codes outside RFC 6749 and OpenID Connect Core as other)',
    labelNames: ['error'] as const,
    registers: [this.registry],
  });
  readonly refreshes = new Counter({
    name: 'gatehouse_session_refreshes_total',
    help: 'Token refreshes, by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly backchannelLogouts = new Counter({
    name: 'gatehouse_backchannel_logouts_total',
    help: 'Back-channel logout requests, by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly cookiesRejected = new Counter({
    name: 'gatehouse_session_cookies_rejected_total',
    help: 'Session cookies treated as absent, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly providerDuration = new Histogram({
    name: 'gatehouse_provider_request_duration_seconds',
    help: 'Requests to the OpenID provider, by endpoint',
    labelNames: ['endpoint'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly redisErrors = new Counter({
    name: 'gatehouse_redis_errors_total',
    help: 'Redis errors, by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  private sessionCount: () => number = () => 0;
  readonly sessionsLive: Gauge = new Gauge({
    name: 'gatehouse_sessions_live',
    help: 'Sessions held in this process',
    registers: [this.registry],
    collect: (): void => this.sessionsLive.set(this.sessionCount()),
  });

  /** Always 1; the labels say which build runs (join on it: `* on(instance) group_left(version) gatehouse_build_info`). */
  readonly buildInfo = new Gauge({
    name: 'gatehouse_build_info',
    help: 'The running build: package version, git commit and Node.js version (value 1)',
    labelNames: ['version', 'commit', 'node_version'] as const,
    registers: [this.registry],
  });

  private readonly statusClasses = ['1xx', '2xx', '3xx', '4xx', '5xx'].map((label) => this.requests.labels(label));
  // Requests answered by status class, counted in plain numbers and added to `requests` when it is read: a prom-client
  // child's inc() builds and looks up its label key on every call (a quarter of a µs a request in a profile).
  private readonly answered = new Float64Array(5);
  private readonly reported = new Float64Array(5);

  /** `build`: what gatehouse_build_info reports; read from package.json and the git checkout when not given. */
  constructor(options: { defaultMetrics?: boolean; build?: BuildInfo } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'gatehouse_' });
    const build = options.build ?? buildInfo();
    this.buildInfo.labels(build.version, build.commit, process.versions.node).set(1);
    // Every known series is exported from the start, so rate() and alerts see 0 instead of no data.
    for (const child of this.statusClasses) child.inc(0);
    for (const kind of UPSTREAM_FAILURE_KINDS) this.upstreamErrors.labels(kind).inc(0);
    for (const phase of ['headers', 'body']) this.clientTimeouts.labels(phase).inc(0);
  }

  observeSessions(count: () => number): void {
    this.sessionCount = count;
  }

  countRequest(status: number, seconds: number): void {
    const index = Math.min(Math.max(Math.floor(status / 100) - 1, 0), 4);
    this.answered[index] = (this.answered[index] as number) + 1;
    this.requestDuration.observe(seconds);
  }

  private reportAnswered(): void {
    this.statusClasses.forEach((child, index) => {
      const answered = this.answered[index] as number;
      child.inc(answered - (this.reported[index] as number));
      this.reported[index] = answered;
    });
  }
}
