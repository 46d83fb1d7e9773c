// Every user-visible string on gatehouse's own pages, in one place. A translation is a
// second object of type `PageStrings`. Functions receive raw values and return plain
// text: the renderer escapes everything, so translations never deal with HTML.

export interface ErrorText {
  readonly title: string;
  readonly sentence: string;
}

/** Statuses with their own wording; any other 4xx/5xx uses the matching fallback. */
export type KnownErrorStatus = 400 | 401 | 403 | 404 | 429 | 500 | 502 | 503 | 504;

export interface SignedInUser {
  readonly name?: string;
  readonly email?: string;
  readonly sub: string;
}

export interface PageStrings {
  /** BCP 47 tag for `<html lang>`. */
  readonly lang: string;
  readonly dir: 'ltr' | 'rtl';
  documentTitle(heading: string, appTitle: string | undefined): string;
  logoAlt(appTitle: string | undefined): string;
  /** Separates a page's primary action from its alternative (e.g. the local account). */
  readonly or: string;
  readonly signOn: {
    /** Names the app when a title is configured: the page then leaves the brand line out (the title shows once). */
    heading(appTitle: string | undefined): string;
    signInWith(providerLabel: string): string;
    /** The link to the app's own login, unless `local_login.label` is configured. */
    readonly useLocalAccount: string;
  };
  readonly declined: {
    readonly heading: string;
    explanation(appTitle: string | undefined): string;
    readonly tryAgain: string;
    readonly useLocalAccount: string;
  };
  readonly noAccess: {
    readonly heading: string;
    /** An access rule refused one page (the rest of the app may be open). */
    readonly pageHeading: string;
    needs(missing: string): string;
    signedInAs(user: SignedInUser): string;
    askContact(contact: string): string;
    readonly askAdministrator: string;
    readonly signOut: string;
  };
  readonly signedOut: {
    readonly heading: string;
    explanation(appTitle: string | undefined): string;
    readonly signInAgain: string;
  };
  /** A sign-out that did not start on the app's own pages (a link elsewhere, a bookmark in an old browser) asks first. */
  readonly confirmSignOut: {
    readonly heading: string;
    explanation(appTitle: string | undefined): string;
    readonly signOut: string;
    readonly staySignedIn: string;
  };
  readonly error: {
    readonly requestIdLabel: string;
    readonly retry: string;
    readonly byStatus: Readonly<Record<KnownErrorStatus, ErrorText>>;
    readonly clientFallback: ErrorText;
    readonly serverFallback: ErrorText;
    /** The callback found no pending sign-in for its state (link expired, used twice, or forged). */
    readonly signInExpired: ErrorText;
    /** The provider refused or the tokens did not verify. */
    readonly signInFailed: ErrorText;
  };
}

/** Error wordings a page may ask for by name instead of by status. */
export type NamedErrorText = 'signInExpired' | 'signInFailed';

export const PAGE_STRINGS_EN: PageStrings = {
  lang: 'en',
  dir: 'ltr',
  documentTitle: (heading, appTitle) => (appTitle ? `${heading} · ${appTitle}` : heading),
  logoAlt: (appTitle) => (appTitle ? appTitle : 'App logo'),
  or: 'or',
  signOn: {
    heading: (appTitle) => (appTitle ? `Sign in to ${appTitle}` : 'Sign in'),
    signInWith: (providerLabel) => (providerLabel ? `Sign in with ${providerLabel}` : 'Sign in'),
    useLocalAccount: 'Use local account',
  },
  declined: {
    heading: 'You declined access',
    explanation: (appTitle) =>
      `${appTitle ? appTitle : 'This app'} needs your permission to read your profile data ` +
      '(account identifier, name and e-mail address) to sign you in. ' +
      'Nothing was shared. You can try again and choose Authorize.',
    tryAgain: 'Try again',
    useLocalAccount: 'Use local account',
  },
  noAccess: {
    heading: "You don't have access to this app",
    pageHeading: "You don't have access to this page",
    needs: (missing) => `This page needs ${missing}.`,
    signedInAs: (user) => {
      if (user.name && user.email) return `You are signed in as ${user.name} (${user.email}).`;
      return `You are signed in as ${user.name || user.email || user.sub}.`;
    },
    askContact: (contact) => `Ask ${contact} to grant you access.`,
    askAdministrator:
      "Access to this app is managed in your organization's account settings. " +
      'Ask your administrator to grant you access, or sign out and use another account.',
    signOut: 'Sign out',
  },
  signedOut: {
    heading: 'You are signed out',
    explanation: (appTitle) => `You have been signed out of ${appTitle ? appTitle : 'this app'}.`,
    signInAgain: 'Sign in again',
  },
  confirmSignOut: {
    heading: 'Sign out?',
    explanation: (appTitle) =>
      `This sign-out request did not come from ${appTitle ? appTitle : 'this app'} itself. ` + 'Sign out only if you meant to; otherwise you stay signed in.',
    signOut: 'Sign out',
    staySignedIn: 'Stay signed in',
  },
  error: {
    requestIdLabel: 'Request ID:',
    retry: 'Try again',
    byStatus: {
      400: {
        title: 'Bad request',
        sentence: 'The request could not be understood. Check the address and try again.',
      },
      401: {
        title: 'Sign-in required',
        sentence: 'You need to sign in to open this page.',
      },
      403: {
        title: 'Access denied',
        sentence: "You don't have permission to open this page.",
      },
      404: {
        title: 'Page not found',
        sentence: 'There is no page at this address.',
      },
      429: {
        title: 'Too many requests',
        sentence: 'Too many requests came from your browser. Wait a moment and try again.',
      },
      500: {
        title: 'Something went wrong',
        sentence: 'An unexpected error occurred. Try again; if it keeps happening, ' + 'report the request ID below to your support team.',
      },
      502: {
        title: 'The app is unreachable',
        sentence: 'The app could not be reached. It may be restarting; try again in a moment.',
      },
      503: {
        title: 'Sign-in is temporarily unavailable',
        sentence: 'Signing in is not possible right now. Try again in a moment.',
      },
      504: {
        title: 'The app took too long to respond',
        sentence: 'The app did not answer in time. Try again in a moment.',
      },
    },
    clientFallback: {
      title: 'Request not accepted',
      sentence: 'The request could not be completed. Check the address and try again.',
    },
    serverFallback: {
      title: 'Something went wrong',
      sentence: 'An unexpected error occurred. Try again; if it keeps happening, ' + 'report the request ID below to your support team.',
    },
    signInExpired: {
      title: 'Sign-in expired',
      sentence: 'This sign-in link has expired or was already used. Please sign in again.',
    },
    signInFailed: {
      title: 'Sign-in failed',
      sentence: 'Signing in did not work. Try again; if it keeps happening, report the request ID below to your support team.',
    },
  },
};
