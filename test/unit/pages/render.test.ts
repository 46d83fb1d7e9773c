import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAGE_STRINGS_EN, type PageStrings } from '../../../src/pages/strings.js';
import { PAGE_SECURITY_HEADERS, renderErrorJson, renderPage, type Branding, type PageModel, type RenderedPage } from '../../../src/pages/render.js';

const PLAIN: Branding = { title: '', logoUrl: '', accentColor: '' };
const ACME: Branding = { title: 'Acme', logoUrl: '', accentColor: '' };

const MODELS: Record<PageModel['kind'], PageModel> = {
  'sign-on': { kind: 'sign-on', providerLabel: 'Company account', startUrl: '/.auth/start?rd=%2Fdocs' },
  declined: { kind: 'declined', retryUrl: '/.auth/start?rd=%2F' },
  'no-access': {
    kind: 'no-access',
    user: { name: 'Ada Lovelace', email: 'ada@example.com', sub: 'u-1' },
    signOutUrl: '/.auth/logout',
  },
  'signed-out': { kind: 'signed-out', signInUrl: '/.auth/login?rd=%2F' },
  'confirm-sign-out': { kind: 'confirm-sign-out', action: '/.auth/logout', token: 'tok-123', cancelUrl: '/' },
  error: { kind: 'error', status: 502, requestId: 'req-7f3a' },
};

function styleBlocks(body: string): string[] {
  return [...body.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((match) => match[1] ?? '');
}

function hashSource(css: string): string {
  return `'sha256-${createHash('sha256').update(css, 'utf8').digest('base64')}'`;
}

function withoutStyles(body: string): string {
  return body.replace(/<style>[\s\S]*?<\/style>/g, '<style></style>');
}

function count(body: string, text: string): number {
  return body.split(text).length - 1;
}

/** Every tag a page may contain; attribute values may not hold `"`, `<` or `>`. */
const ALLOWED_TAGS = [
  /^<!doctype html>$/,
  /^<html lang="[^"<>]*" dir="(ltr|rtl)">$/,
  /^<meta charset=utf-8>$/,
  /^<meta name=viewport content="width=device-width,initial-scale=1">$/,
  /^<meta name="robots" content="noindex,nofollow">$/,
  /^<img src="[^"<>]*" alt="[^"<>]*">$/,
  /^<a class="button (primary|secondary)" href="[^"<>]*">$/,
  /^<p class="or">$/,
  /^<div class="actions">$/,
  /^<\/?(head|title|style|body|main|header|span|h1|p|footer|code)>$/,
  /^<\/(html|a|div)>$/,
  /^<form method="post" action="\/[^"<>]*">$/,
  /^<input type="hidden" name="[^"<>]*" value="[^"<>]*">$/,
  /^<button class="button primary" type="submit">$/,
  /^<\/(form|button)>$/,
];

function unexpectedTags(body: string): string[] {
  const tags = withoutStyles(body).match(/<[^>]*>?/g) ?? [];
  return tags.filter((tag) => !ALLOWED_TAGS.some((allowed) => allowed.test(tag)));
}

function hrefs(body: string): string[] {
  return [...body.matchAll(/ href="([^"]*)"/g)].map((match) => match[1] ?? '');
}

function links(body: string): { variant: string; href: string; label: string }[] {
  return [...body.matchAll(/<a class="button (\w+)" href="([^"]*)">([^<]*)<\/a>/g)].map((match) => ({
    variant: match[1] ?? '',
    href: match[2] ?? '',
    label: match[3] ?? '',
  }));
}

function between(body: string, open: string, close: string): string[] {
  const found: string[] = [];
  let from = 0;
  for (;;) {
    const start = body.indexOf(open, from);
    if (start < 0) return found;
    const end = body.indexOf(close, start + open.length);
    found.push(body.slice(start + open.length, end));
    from = end + close.length;
  }
}

function expectedCsp(page: RenderedPage, imgSrc?: string): string {
  const styleSrc = styleBlocks(page.body).map(hashSource).join(' ');
  return [
    "default-src 'none'",
    `style-src ${styleSrc}`,
    ...(imgSrc ? [`img-src ${imgSrc}`] : []),
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

function paletteOf(page: RenderedPage): string {
  const palette = styleBlocks(page.body).find((css) => css.startsWith(':root{'));
  if (palette === undefined) throw new Error('no palette style block');
  return palette;
}

describe('every page kind', () => {
  const STATUS: Record<PageModel['kind'], number> = {
    'sign-on': 200,
    declined: 200,
    'no-access': 403,
    'signed-out': 200,
    'confirm-sign-out': 200,
    error: 502,
  };

  for (const [kind, model] of Object.entries(MODELS)) {
    it(`${kind}: status, exact headers, CSP hashes of the emitted styles`, () => {
      const page = renderPage(model, PLAIN);
      expect(page.status).toBe(STATUS[model.kind]);
      expect(styleBlocks(page.body)).toHaveLength(2);
      expect(page.headers).toEqual({
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'content-security-policy': expectedCsp(page),
        'x-frame-options': 'DENY',
        'referrer-policy': 'no-referrer',
        'x-content-type-options': 'nosniff',
      });
    });

    it(`${kind}: a self-contained document with one main and one heading, no script`, () => {
      const { body } = renderPage(model, PLAIN);
      expect(body.startsWith('<!doctype html>\n<html lang="en" dir="ltr">\n<head>\n<meta charset=utf-8>\n')).toBe(true);
      expect(body).toContain('<meta name=viewport content="width=device-width,initial-scale=1">');
      expect(count(body, '<title>')).toBe(1);
      expect(count(body, '<main>')).toBe(1);
      expect(count(body, '</main>')).toBe(1);
      expect(count(body, '<h1>')).toBe(1);
      expect(body.toLowerCase()).not.toContain('<script');
      expect(body).not.toMatch(/\son\w+=/i);
      expect(body).not.toMatch(/(src|href)="(?!\/|https?:\/\/)/);
      expect(body).not.toContain('<link');
      expect(unexpectedTags(body)).toEqual([]);
      expect(body.endsWith('</main>\n</body>\n</html>\n')).toBe(true);
    });
  }

  it('the security header constant is frozen and is part of every page', () => {
    expect(Object.isFrozen(PAGE_SECURITY_HEADERS)).toBe(true);
    expect(PAGE_SECURITY_HEADERS).toEqual({
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
    });
  });

  it('the base stylesheet is identical on every page, so its hash is a constant', () => {
    const bases = Object.values(MODELS).map((model) => styleBlocks(renderPage(model, ACME).body)[0]);
    expect(new Set(bases).size).toBe(1);
    expect(bases[0]).toContain(':focus-visible{outline:3px solid var(--focus)');
    expect(bases[0]).toContain('system-ui');
    expect(bases[0]).toContain('max-width:420px');
  });
});

describe('sign-on page', () => {
  it('offers the provider button only, when local login is off', () => {
    const { body } = renderPage(MODELS['sign-on'], ACME);
    expect(between(body, '<h1>', '</h1>')).toEqual(['Sign in to Acme']);
    expect(between(body, '<title>', '</title>')).toEqual(['Sign in to Acme']);
    expect(links(body)).toEqual([{ variant: 'primary', href: '/.auth/start?rd=%2Fdocs', label: 'Sign in with Company account' }]);
    expect(body).not.toContain('<p class="or">');
  });

  it('adds the local account link after an "or" separator', () => {
    const { body } = renderPage({ ...MODELS['sign-on'], localLoginUrl: '/login.html' } as PageModel, ACME);
    expect(links(body)).toEqual([
      { variant: 'primary', href: '/.auth/start?rd=%2Fdocs', label: 'Sign in with Company account' },
      { variant: 'secondary', href: '/login.html', label: 'Use local account' },
    ]);
    expect(body).toContain(
      '<div class="actions"><a class="button primary" href="/.auth/start?rd=%2Fdocs">Sign in with Company account</a><p class="or">or</p><a class="button secondary" href="/login.html">Use local account</a></div>',
    );
  });

  it('names the app once: the heading carries the title, the brand line is left out', () => {
    const { body } = renderPage(MODELS['sign-on'], ACME);
    expect(body).not.toContain('<header>');
    expect(count(withoutStyles(body).replace(/<title>[^<]*<\/title>/, ''), 'Acme')).toBe(1);
    // the other pages keep the brand line: their headings do not name the app
    expect(renderPage(MODELS['signed-out'], ACME).body).toContain('<header><span>Acme</span></header>');
    expect(renderPage(MODELS.error, ACME).body).toContain('<header><span>Acme</span></header>');
  });

  it('a logo stays on the sign-on page (an image, its alt text names the app)', () => {
    const { body } = renderPage(MODELS['sign-on'], { title: 'Acme', logoUrl: 'https://cdn.example.com/l.png', accentColor: '' });
    expect(body).toContain('<header><img src="https://cdn.example.com/l.png" alt="Acme"></header>');
    expect(between(body, '<h1>', '</h1>')).toEqual(['Sign in to Acme']);
  });

  it('the local account link carries the configured label (local_login.label), else the default', () => {
    const labelled = renderPage({ ...MODELS['sign-on'], localLoginUrl: '/login.html?rd=%2Fprojects%2F42', localLoginLabel: 'Staff login' } as PageModel, ACME);
    expect(links(labelled.body).at(-1)).toEqual({ variant: 'secondary', href: '/login.html?rd=%2Fprojects%2F42', label: 'Staff login' });
    const unlabelled = renderPage({ ...MODELS['sign-on'], localLoginUrl: '/login.html', localLoginLabel: '' } as PageModel, ACME);
    expect(links(unlabelled.body).at(-1)).toEqual({ variant: 'secondary', href: '/login.html', label: 'Use local account' });
    const declined = renderPage({ kind: 'declined', retryUrl: '/.auth/start', localLoginUrl: '/login.html', localLoginLabel: 'Staff login' }, ACME);
    expect(links(declined.body).at(-1)).toEqual({ variant: 'secondary', href: '/login.html', label: 'Staff login' });
  });

  it('without a configured title the heading is the neutral "Sign in"', () => {
    const { body } = renderPage(MODELS['sign-on'], PLAIN);
    expect(between(body, '<h1>', '</h1>')).toEqual(['Sign in']);
    expect(between(body, '<title>', '</title>')).toEqual(['Sign in']);
    expect(body).not.toContain('<header>');
  });
});

describe('declined page', () => {
  it('explains the permission and offers to try again', () => {
    const { status, body } = renderPage(MODELS.declined, ACME);
    expect(status).toBe(200);
    expect(between(body, '<h1>', '</h1>')).toEqual(['You declined access']);
    expect(between(body, '<p>', '</p>')).toEqual([
      'Acme needs your permission to read your profile data (account identifier, name and e-mail address) to sign you in. Nothing was shared. You can try again and choose Authorize.',
    ]);
    expect(links(body)).toEqual([{ variant: 'primary', href: '/.auth/start?rd=%2F', label: 'Try again' }]);
  });

  it('offers the local account when set', () => {
    const { body } = renderPage({ kind: 'declined', retryUrl: '/.auth/start', localLoginUrl: '/login.html' }, PLAIN);
    expect(links(body)).toEqual([
      { variant: 'primary', href: '/.auth/start', label: 'Try again' },
      { variant: 'secondary', href: '/login.html', label: 'Use local account' },
    ]);
    expect(body).toContain('<p>This app needs your permission');
  });
});

describe('no-access page', () => {
  it('is a 403 naming the signed-in user, with a generic access sentence and sign-out', () => {
    const { status, body } = renderPage(MODELS['no-access'], PLAIN);
    expect(status).toBe(403);
    expect(between(body, '<h1>', '</h1>')).toEqual(['You don&#39;t have access to this app']);
    expect(between(body, '<p>', '</p>')).toEqual([
      'You are signed in as Ada Lovelace (ada@example.com).',
      'Access to this app is managed in your organization&#39;s account settings. Ask your administrator to grant you access, or sign out and use another account.',
    ]);
    expect(links(body)).toEqual([{ variant: 'primary', href: '/.auth/logout', label: 'Sign out' }]);
  });

  it('names the access contact when set', () => {
    const { body } = renderPage(
      { kind: 'no-access', user: { email: 'ada@example.com', sub: 'u-1' }, accessContact: 'it-help@example.com', signOutUrl: '/.auth/logout' },
      PLAIN,
    );
    expect(between(body, '<p>', '</p>')).toEqual(['You are signed in as ada@example.com.', 'Ask it-help@example.com to grant you access.']);
  });

  it('falls back to the subject when the provider gave no name or e-mail', () => {
    const { body } = renderPage({ kind: 'no-access', user: { sub: '248289761001' }, signOutUrl: '/.auth/logout' }, PLAIN);
    expect(between(body, '<p>', '</p>')[0]).toBe('You are signed in as 248289761001.');
  });
});

describe('signed-out page', () => {
  it('confirms the sign-out and offers to sign in again', () => {
    const { status, body } = renderPage(MODELS['signed-out'], ACME);
    expect(status).toBe(200);
    expect(between(body, '<h1>', '</h1>')).toEqual(['You are signed out']);
    expect(between(body, '<title>', '</title>')).toEqual(['You are signed out · Acme']);
    expect(between(body, '<p>', '</p>')).toEqual(['You have been signed out of Acme.']);
    expect(links(body)).toEqual([{ variant: 'primary', href: '/.auth/login?rd=%2F', label: 'Sign in again' }]);
  });
});

describe('error pages', () => {
  const DEFAULTS: [number, string, string][] = [
    [400, 'Bad request', 'The request could not be understood. Check the address and try again.'],
    [500, 'Something went wrong', 'An unexpected error occurred. Try again; if it keeps happening, report the request ID below to your support team.'],
    [502, 'The app is unreachable', 'The app could not be reached. It may be restarting; try again in a moment.'],
    [503, 'Sign-in is temporarily unavailable', 'Signing in is not possible right now. Try again in a moment.'],
    [504, 'The app took too long to respond', 'The app did not answer in time. Try again in a moment.'],
    [418, 'Request not accepted', 'The request could not be completed. Check the address and try again.'],
    [507, 'Something went wrong', 'An unexpected error occurred. Try again; if it keeps happening, report the request ID below to your support team.'],
  ];

  for (const [status, title, sentence] of DEFAULTS) {
    it(`${status} has its title, sentence and the request id`, () => {
      const page = renderPage({ kind: 'error', status, requestId: 'req-42' }, PLAIN);
      expect(page.status).toBe(status);
      expect(between(page.body, '<h1>', '</h1>')).toEqual([title]);
      expect(between(page.body, '<p>', '</p>')).toEqual([sentence, 'Request ID: <code>req-42</code>']);
      expect(page.body).toContain('<footer><p>Request ID: <code>req-42</code></p></footer>');
      expect(links(page.body)).toEqual([]);
    });
  }

  it('a status outside 400-599 renders as 500', () => {
    for (const status of [200, 302, 399, 600, 502.5, Number.NaN]) {
      const page = renderPage({ kind: 'error', status, requestId: 'r' }, PLAIN);
      expect(page.status).toBe(500);
      expect(between(page.body, '<h1>', '</h1>')).toEqual(['Something went wrong']);
    }
  });

  it('a named wording from the page strings replaces the status default; retry link when set', () => {
    const expired = renderPage({ kind: 'error', status: 400, requestId: 'r-1', wording: 'signInExpired', retryUrl: '/docs?page=2' }, PLAIN);
    expect(expired.status).toBe(400);
    expect(between(expired.body, '<h1>', '</h1>')).toEqual([PAGE_STRINGS_EN.error.signInExpired.title]);
    expect(between(expired.body, '<p>', '</p>')).toEqual([PAGE_STRINGS_EN.error.signInExpired.sentence, 'Request ID: <code>r-1</code>']);
    expect(links(expired.body)).toEqual([{ variant: 'primary', href: '/docs?page=2', label: 'Try again' }]);
    const failed = renderPage({ kind: 'error', status: 502, requestId: 'r-2', wording: 'signInFailed' }, PLAIN);
    expect(between(failed.body, '<h1>', '</h1>')).toEqual(['Sign-in failed']);
    expect(between(failed.body, '<p>', '</p>')[0]).toBe(PAGE_STRINGS_EN.error.signInFailed.sentence);
  });
});

describe('hostile input', () => {
  const HOSTILE = `<script>alert(1)</script>"onmouseover=alert(1) x='y'&`;
  const HOSTILE_ESCAPED = '&lt;script&gt;alert(1)&lt;/script&gt;&quot;onmouseover=alert(1) x=&#39;y&#39;&amp;';
  const BAD_URL = 'javascript:alert(1)';
  const HOSTILE_BRANDING: Branding = { title: HOSTILE, logoUrl: BAD_URL, accentColor: `#fff;}</style><script>` };

  const HOSTILE_MODELS: PageModel[] = [
    { kind: 'sign-on', providerLabel: HOSTILE, startUrl: BAD_URL, localLoginUrl: BAD_URL },
    { kind: 'declined', retryUrl: BAD_URL, localLoginUrl: HOSTILE },
    { kind: 'no-access', user: { name: HOSTILE, email: HOSTILE, sub: HOSTILE }, accessContact: HOSTILE, signOutUrl: BAD_URL },
    { kind: 'no-access', user: { sub: HOSTILE }, signOutUrl: HOSTILE },
    { kind: 'signed-out', signInUrl: BAD_URL },
    { kind: 'error', status: 500, requestId: HOSTILE, retryUrl: BAD_URL },
  ];

  for (const model of HOSTILE_MODELS) {
    it(`${model.kind}: every reflected value is escaped and every bad href becomes /`, () => {
      const page = renderPage(model, HOSTILE_BRANDING);
      expect(page.body.toLowerCase()).not.toContain('<script');
      expect(page.body).not.toContain('"onmouseover');
      expect(page.body.toLowerCase()).not.toContain('javascript:');
      expect(page.body).toContain(HOSTILE_ESCAPED);
      expect(unexpectedTags(page.body)).toEqual([]);
      expect(hrefs(page.body).length).toBeGreaterThan(0);
      for (const href of hrefs(page.body)) expect(href).toBe('/');
      expect(page.headers['content-security-policy']).toBe(expectedCsp(page));
      expect(paletteOf(page)).toBe(':root{--accent:#2563eb;--on-accent:#ffffff;--focus:#2563eb}');
    });
  }

  it('the hostile title is escaped in the heading, the document title and the brand line', () => {
    const { body } = renderPage(MODELS['sign-on'], { ...PLAIN, title: HOSTILE });
    expect(between(body, '<h1>', '</h1>')).toEqual([`Sign in to ${HOSTILE_ESCAPED}`]);
    expect(between(body, '<title>', '</title>')).toEqual([`Sign in to ${HOSTILE_ESCAPED}`]);
    const signedOut = renderPage(MODELS['signed-out'], { ...PLAIN, title: HOSTILE }).body;
    expect(signedOut).toContain(`<header><span>${HOSTILE_ESCAPED}</span></header>`);
  });

  it('a hostile local-login label is escaped', () => {
    const { body } = renderPage({ ...MODELS['sign-on'], localLoginUrl: '/login.html', localLoginLabel: HOSTILE } as PageModel, PLAIN);
    expect(links(body).at(-1)).toEqual({ variant: 'secondary', href: '/login.html', label: HOSTILE_ESCAPED });
    expect(body.toLowerCase()).not.toContain('<script');
  });

  const HREFS: [string, string][] = [
    ['/.auth/start?rd=%2Fa%3Fb', '/.auth/start?rd=%2Fa%3Fb'],
    ['/ok?x="><script>', '/ok?x=&quot;&gt;&lt;script&gt;'],
    ['https://idp.example.com/authorize?a=1&b=2', 'https://idp.example.com/authorize?a=1&amp;b=2'],
    ['http://127.0.0.1:8080/.auth/login', 'http://127.0.0.1:8080/.auth/login'],
    ['//evil.example/x', '/'],
    ['/\\evil.example/x', '/'],
    ['/\t/evil.example', '/'],
    ['/\n/evil.example', '/'],
    [' /x', '/'],
    ['JavaScript:alert(1)', '/'],
    ['java\tscript:alert(1)', '/'],
    ['data:text/html,<b>x</b>', '/'],
    ['vbscript:msgbox(1)', '/'],
    ['relative/path', '/'],
    ['', '/'],
  ];

  for (const [input, emitted] of HREFS) {
    it(`href ${JSON.stringify(input)} is emitted as ${JSON.stringify(emitted)}`, () => {
      const { body } = renderPage({ kind: 'signed-out', signInUrl: input }, PLAIN);
      expect(hrefs(body)).toEqual([emitted]);
    });
  }
});

describe('branding', () => {
  it('shows the logo with the title as alt text and allows only its origin in img-src', () => {
    const branding: Branding = { title: 'Acme', logoUrl: 'https://cdn.example.com/brand/logo.png?v=2&x=1', accentColor: '' };
    const page = renderPage(MODELS['signed-out'], branding);
    expect(page.body).toContain('<header><img src="https://cdn.example.com/brand/logo.png?v=2&amp;x=1" alt="Acme"></header>');
    expect(page.headers['content-security-policy']).toBe(expectedCsp(page, 'https://cdn.example.com data:'));
    expect(page.headers['content-security-policy']).toContain('; img-src https://cdn.example.com data:; ');
  });

  it('a logo without a title gets a generic alt text; a port stays in the origin', () => {
    const page = renderPage(MODELS['signed-out'], { title: '', logoUrl: 'http://127.0.0.1:9000/l.png', accentColor: '' });
    expect(page.body).toContain('<header><img src="http://127.0.0.1:9000/l.png" alt="App logo"></header>');
    expect(page.headers['content-security-policy']).toBe(expectedCsp(page, 'http://127.0.0.1:9000 data:'));
  });

  const BAD_LOGOS = [
    'javascript:alert(1)',
    'data:image/png;base64,AAAA',
    '/static/logo.png',
    'ftp://cdn.example.com/logo.png',
    'https://a;b.example/logo.png',
    "https://a'b.example/logo.png",
    'https://user:pw@cdn.example.com/logo.png',
    'https://cdn.example.com/logo.png\n',
    'https://[::1]/logo.png',
    'not a url',
  ];
  for (const logoUrl of BAD_LOGOS) {
    it(`logo ${JSON.stringify(logoUrl)} is refused: no img, no img-src`, () => {
      const page = renderPage(MODELS['signed-out'], { title: 'Acme', logoUrl, accentColor: '' });
      expect(page.body).not.toContain('<img');
      expect(page.body).toContain('<header><span>Acme</span></header>');
      expect(page.headers['content-security-policy']).toBe(expectedCsp(page));
      expect(page.headers['content-security-policy']).not.toContain('img-src');
    });
  }

  const ACCENTS: [string, string][] = [
    ['#0f766e', ':root{--accent:#0f766e;--on-accent:#ffffff;--focus:#0f766e}'],
    ['#0F766E', ':root{--accent:#0f766e;--on-accent:#ffffff;--focus:#0f766e}'],
    ['#abc', ':root{--accent:#aabbcc;--on-accent:#000000;--focus:#111827}'],
    ['#ffeb3b', ':root{--accent:#ffeb3b;--on-accent:#000000;--focus:#111827}'],
    // white on #767676 is 4.54:1, on #777777 4.48:1
    ['#767676', ':root{--accent:#767676;--on-accent:#ffffff;--focus:#767676}'],
    ['#777777', ':root{--accent:#777777;--on-accent:#000000;--focus:#777777}'],
    // #949494 is 3.03:1 against the white card, #959595 2.99:1
    ['#949494', ':root{--accent:#949494;--on-accent:#000000;--focus:#949494}'],
    ['#959595', ':root{--accent:#959595;--on-accent:#000000;--focus:#111827}'],
    ['', ':root{--accent:#2563eb;--on-accent:#ffffff;--focus:#2563eb}'],
    ['red', ':root{--accent:#2563eb;--on-accent:#ffffff;--focus:#2563eb}'],
    ['#12345', ':root{--accent:#2563eb;--on-accent:#ffffff;--focus:#2563eb}'],
    ['#1234567', ':root{--accent:#2563eb;--on-accent:#ffffff;--focus:#2563eb}'],
    [' #0f766e', ':root{--accent:#2563eb;--on-accent:#ffffff;--focus:#2563eb}'],
    ['#fff;}body{display:none', ':root{--accent:#2563eb;--on-accent:#ffffff;--focus:#2563eb}'],
    ['url(https://evil.example/x)', ':root{--accent:#2563eb;--on-accent:#ffffff;--focus:#2563eb}'],
  ];
  for (const [accentColor, palette] of ACCENTS) {
    it(`accent ${JSON.stringify(accentColor)} paints ${palette}`, () => {
      const page = renderPage(MODELS['sign-on'], { title: '', logoUrl: '', accentColor });
      expect(paletteOf(page)).toBe(palette);
      expect(page.headers['content-security-policy']).toBe(expectedCsp(page));
    });
  }

  it('the primary button text reaches 4.5:1 on any accent', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffff }), (rgb) => {
        const accent = `#${rgb.toString(16).padStart(6, '0')}`;
        const palette = paletteOf(renderPage(MODELS['sign-on'], { title: '', logoUrl: '', accentColor: accent }));
        const match = /--accent:(#[0-9a-f]{6});--on-accent:(#[0-9a-f]{6})/.exec(palette);
        expect(match?.[1]).toBe(accent);
        expect(contrast(match?.[1] ?? '', match?.[2] ?? '')).toBeGreaterThanOrEqual(4.5);
      }),
      { numRuns: 300 },
    );
  });

  it('the same branding object renders the same CSP on every call', () => {
    const branding: Branding = { title: 'Acme', logoUrl: 'https://cdn.example.com/l.png', accentColor: '#0f766e' };
    const first = renderPage(MODELS['sign-on'], branding);
    const second = renderPage(MODELS.error, branding);
    expect(second.headers['content-security-policy']).toBe(first.headers['content-security-policy']);
    expect(second.headers['content-security-policy']).toBe(expectedCsp(second, 'https://cdn.example.com data:'));
  });
});

function luminance(hex: string): number {
  const channels = [1, 3, 5].map((offset) => {
    const c = parseInt(hex.slice(offset, offset + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * (channels[0] ?? 0) + 0.7152 * (channels[1] ?? 0) + 0.0722 * (channels[2] ?? 0);
}

function contrast(a: string, b: string): number {
  const [high, low] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return ((high ?? 0) + 0.05) / ((low ?? 0) + 0.05);
}

describe('strings', () => {
  /** A pseudo-locale: every string and every string function result wrapped in ⟦…⟧. */
  function marked<T>(value: T): T {
    if (typeof value === 'string') return `⟦${value}⟧` as T;
    if (typeof value === 'function') {
      const original = value as (...args: unknown[]) => string;
      return ((...args: unknown[]) => `⟦${original(...args)}⟧`) as T;
    }
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, marked(inner)])) as T;
    }
    return value;
  }
  const PSEUDO: PageStrings = { ...marked(PAGE_STRINGS_EN), lang: 'x-pseudo', dir: 'rtl' };

  function visibleTexts(body: string): string[] {
    const texts = [...withoutStyles(body).matchAll(/>([^<]+)</g)].map((match) => (match[1] ?? '').trim());
    const alts = [...body.matchAll(/ alt="([^"]*)"/g)].map((match) => match[1] ?? '');
    return [...texts, ...alts].filter((text) => text !== '');
  }

  const MODELS_WITH_EVERY_BRANCH: PageModel[] = [
    ...Object.values(MODELS),
    { kind: 'sign-on', providerLabel: 'Company account', startUrl: '/s', localLoginUrl: '/login.html' },
    { kind: 'declined', retryUrl: '/s', localLoginUrl: '/login.html' },
    { kind: 'no-access', user: { sub: 'u-1' }, accessContact: 'IT', signOutUrl: '/o' },
    { kind: 'error', status: 418, requestId: 'req-7f3a', retryUrl: '/' },
    { kind: 'error', status: 599, requestId: 'req-7f3a' },
  ];

  for (const branding of [ACME, { title: 'Acme', logoUrl: 'https://cdn.example.com/l.png', accentColor: '' }, PLAIN]) {
    it(`every visible text comes from the strings object (logo: ${branding.logoUrl !== ''}, title: ${branding.title !== ''})`, () => {
      for (const model of MODELS_WITH_EVERY_BRANCH) {
        const { body } = renderPage(model, branding, PSEUDO);
        expect(body).toContain('<html lang="x-pseudo" dir="rtl">');
        const unmarked = visibleTexts(body).filter((text) => !(text.startsWith('⟦') && text.endsWith('⟧')) && text !== 'req-7f3a' && text !== branding.title);
        expect(unmarked).toEqual([]);
      }
    });
  }

  it('the default is English', () => {
    expect(renderPage(MODELS['signed-out'], PLAIN).body).toBe(renderPage(MODELS['signed-out'], PLAIN, PAGE_STRINGS_EN).body);
  });
});

describe('renderErrorJson', () => {
  it('is the stable JSON error shape, never cached', () => {
    expect(renderErrorJson(502, 'req-1', 'upstream_unreachable')).toEqual({
      status: 502,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' },
      body: '{"error":"upstream_unreachable","status":502,"request_id":"req-1"}',
    });
  });

  it('encodes hostile values as JSON strings and coerces a non-error status to 500', () => {
    const rendered = renderErrorJson(200, '"</script>', 'x"y');
    expect(rendered.status).toBe(500);
    expect(JSON.parse(rendered.body)).toEqual({ error: 'x"y', status: 500, request_id: '"</script>' });
  });
});
describe('confirm-sign-out page', () => {
  it('one POST form with the token and a Sign out button, then a secondary "Stay signed in" link; nothing else to click', () => {
    const page = renderPage({ kind: 'confirm-sign-out', action: '/.auth/logout', token: 'AbC_-123', cancelUrl: '/' }, ACME);
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("form-action 'self'");
    expect(page.body).toContain('<h1>Sign out?</h1>');
    expect(page.body).toContain('<p>This sign-out request did not come from Acme itself. Sign out only if you meant to; otherwise you stay signed in.</p>');
    expect(page.body).toContain(
      '<div class="actions"><form method="post" action="/.auth/logout"><input type="hidden" name="confirm" value="AbC_-123">' +
        '<button class="button primary" type="submit">Sign out</button></form><a class="button secondary" href="/">Stay signed in</a></div>',
    );
    expect(links(page.body)).toEqual([{ variant: 'secondary', href: '/', label: 'Stay signed in' }]);
  });

  it('without a session: no hidden field; the token and the action are escaped; a foreign action becomes /', () => {
    expect(renderPage({ kind: 'confirm-sign-out', action: '/.auth/logout', cancelUrl: '/' }, PLAIN).body).toContain(
      '<form method="post" action="/.auth/logout"><button class="button primary" type="submit">Sign out</button></form>',
    );
    expect(renderPage({ kind: 'confirm-sign-out', action: '/x?a=1&b="', token: '"><script>', cancelUrl: '/' }, PLAIN).body).toContain(
      '<form method="post" action="/x?a=1&amp;b=&quot;"><input type="hidden" name="confirm" value="&quot;&gt;&lt;script&gt;">',
    );
    expect(renderPage({ kind: 'confirm-sign-out', action: '//evil.example/x', cancelUrl: '/' }, PLAIN).body).toContain('<form method="post" action="/">');
  });

  it("the provider's origin joins form-action (the confirmed POST redirects there); anything but a plain origin is left out", () => {
    const csp = (providerOrigin?: string): string =>
      renderPage({ kind: 'confirm-sign-out', action: '/.auth/logout', cancelUrl: '/', providerOrigin }, PLAIN).headers['content-security-policy'] ?? '';
    const plain = csp();
    expect(plain).toContain("; form-action 'self'; frame-ancestors 'none'");
    expect(csp('https://login.example.com')).toBe(plain.replace("form-action 'self'", "form-action 'self' https://login.example.com"));
    expect(csp('http://127.0.0.1:9000')).toBe(plain.replace("form-action 'self'", "form-action 'self' http://127.0.0.1:9000"));
    for (const hostile of [
      "https://a.example; script-src 'unsafe-inline'",
      'https://a.example/path',
      'javascript:alert(1)',
      "'none'",
      'https://*.example',
      '',
    ]) {
      expect(csp(hostile)).toBe(plain);
    }
    expect(renderPage(MODELS['signed-out'], PLAIN).headers['content-security-policy']).toBe(plain);
  });
});
