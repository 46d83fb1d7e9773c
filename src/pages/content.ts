// What each page says: a page model becomes its status, heading, paragraphs, links and form, in the page strings' words.
import type { LocalLoginLink, PageModel } from './render.js';
import type { ErrorText, KnownErrorStatus, PageStrings } from './strings.js';

export interface PageLink {
  label: string;
  href: string;
  primary: boolean;
}

export interface PageContent {
  status: number;
  documentTitle: string;
  heading: string;
  paragraphs: string[];
  links: PageLink[];
  /** A POST form shown before the links: its hidden fields and its (primary) submit button's label. */
  form?: { action: string; fields: Readonly<Record<string, string>>; label: string; redirectsTo?: string };
  requestId?: string;
  /** The heading names the app already: the brand line (the title as text) is left out, so the title shows once. */
  headingNamesApp?: boolean;
}

export function describePage(model: PageModel, strings: PageStrings, appTitle: string | undefined): PageContent {
  switch (model.kind) {
    case 'sign-on':
      return describeSignOn(model, strings, appTitle);
    case 'declined':
      return describeDeclined(model, strings, appTitle);
    case 'no-access':
      return describeNoAccess(model, strings, appTitle);
    case 'signed-out':
      return describeSignedOut(model, strings, appTitle);
    case 'confirm-sign-out':
      return describeConfirmSignOut(model, strings, appTitle);
    case 'error':
      return describeError(model, strings, appTitle);
  }
}

function titled(strings: PageStrings, appTitle: string | undefined, heading: string): { documentTitle: string; heading: string } {
  return { documentTitle: strings.documentTitle(heading, appTitle), heading };
}

function describeSignOn(model: Extract<PageModel, { kind: 'sign-on' }>, strings: PageStrings, appTitle: string | undefined): PageContent {
  // the heading names the app: it is the document title as it is, and the brand line is left out
  const heading = strings.signOn.heading(appTitle);
  return {
    status: 200,
    documentTitle: heading,
    heading,
    headingNamesApp: appTitle !== undefined,
    paragraphs: [],
    links: [
      { label: strings.signOn.signInWith(model.providerLabel), href: model.startUrl, primary: true },
      ...localAccountLink(model, strings.signOn.useLocalAccount),
    ],
  };
}

function describeDeclined(model: Extract<PageModel, { kind: 'declined' }>, strings: PageStrings, appTitle: string | undefined): PageContent {
  return {
    status: 200,
    ...titled(strings, appTitle, strings.declined.heading),
    paragraphs: [strings.declined.explanation(appTitle)],
    links: [{ label: strings.declined.tryAgain, href: model.retryUrl, primary: true }, ...localAccountLink(model, strings.declined.useLocalAccount)],
  };
}

function describeNoAccess(model: Extract<PageModel, { kind: 'no-access' }>, strings: PageStrings, appTitle: string | undefined): PageContent {
  return {
    status: 403,
    ...titled(strings, appTitle, model.missing === undefined ? strings.noAccess.heading : strings.noAccess.pageHeading),
    paragraphs: [
      strings.noAccess.signedInAs(model.user),
      ...(model.missing === undefined ? [] : [strings.noAccess.needs(model.missing)]),
      model.accessContact ? strings.noAccess.askContact(model.accessContact) : strings.noAccess.askAdministrator,
    ],
    links: [{ label: strings.noAccess.signOut, href: model.signOutUrl, primary: true }],
  };
}

function describeSignedOut(model: Extract<PageModel, { kind: 'signed-out' }>, strings: PageStrings, appTitle: string | undefined): PageContent {
  return {
    status: 200,
    ...titled(strings, appTitle, strings.signedOut.heading),
    paragraphs: [strings.signedOut.explanation(appTitle)],
    links: [{ label: strings.signedOut.signInAgain, href: model.signInUrl, primary: true }],
  };
}

function describeConfirmSignOut(model: Extract<PageModel, { kind: 'confirm-sign-out' }>, strings: PageStrings, appTitle: string | undefined): PageContent {
  return {
    status: 200,
    ...titled(strings, appTitle, strings.confirmSignOut.heading),
    paragraphs: [strings.confirmSignOut.explanation(appTitle)],
    form: {
      action: model.action,
      fields: model.token === undefined ? {} : { confirm: model.token },
      label: strings.confirmSignOut.signOut,
      redirectsTo: model.providerOrigin,
    },
    links: [{ label: strings.confirmSignOut.staySignedIn, href: model.cancelUrl, primary: false }],
  };
}

function describeError(model: Extract<PageModel, { kind: 'error' }>, strings: PageStrings, appTitle: string | undefined): PageContent {
  const status = toErrorStatus(model.status);
  const wording = model.wording ? strings.error[model.wording] : errorText(status, strings);
  return {
    status,
    ...titled(strings, appTitle, wording.title),
    paragraphs: [wording.sentence],
    links: model.retryUrl ? [{ label: strings.error.retry, href: model.retryUrl, primary: true }] : [],
    requestId: model.requestId,
  };
}

function localAccountLink({ localLoginUrl, localLoginLabel }: LocalLoginLink, defaultLabel: string): PageLink[] {
  return localLoginUrl ? [{ label: localLoginLabel || defaultLabel, href: localLoginUrl, primary: false }] : [];
}

export function toErrorStatus(status: number): number {
  return Number.isInteger(status) && status >= 400 && status <= 599 ? status : 500;
}

function errorText(status: number, strings: PageStrings): ErrorText {
  if (status in strings.error.byStatus) return strings.error.byStatus[status as KnownErrorStatus];
  return status < 500 ? strings.error.clientFallback : strings.error.serverFallback;
}
