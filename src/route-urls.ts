// The URLs of gatehouse's internal routes (under routes.prefix), built here and nowhere else: paths for links and
// redirects on gatehouse's own pages, absolute URLs (on public_url) for what the provider or an ingress is given.

export type Route = '/login' | '/start' | '/callback' | '/logout' | '/signed-out' | '/me' | '/jwks.json' | '/backchannel-logout' | '/verify';

export class RouteUrls {
  /** `prefix/`: every internal route's path starts with it. */
  readonly base: string;

  constructor(
    readonly prefix: string,
    private readonly publicUrl: string,
  ) {
    this.base = `${prefix}/`;
  }

  /** The route's path, e.g. `/.auth/login`. */
  path(route: Route): string {
    return `${this.prefix}${route}`;
  }

  /** The route on public_url, e.g. `https://app.example.com/.auth/callback`. */
  absolute(route: Route): string {
    return new URL(this.path(route), this.publicUrl).href;
  }

  /** The sign-on page, returning to `returnTo` after sign-in; on public_url when `absolute`. */
  login(returnTo: string, absolute = false): string {
    return `${absolute ? this.absolute('/login') : this.path('/login')}?rd=${encodeURIComponent(returnTo)}`;
  }

  /** /start returning to `returnTo` (a path already through safeReturnPath); `interactive` forbids a silent sign-in. */
  start(returnTo: string, interactive = false): string {
    return `${this.path('/start')}?rd=${encodeURIComponent(returnTo)}${interactive ? '&interactive=1' : ''}`;
  }
}
