// Branding resolved once per Branding object: the palette CSS, the logo and the page CSP that allows exactly them.
import type { Branding } from './render.js';
import { BASE_STYLE_HASH_SOURCE, cspHashSource, paletteStyle, resolvePalette } from './style.js';
import { hasUnsafeUrlCharacter } from './html.js';

export interface Theme {
  appTitle: string | undefined;
  logo: { src: string; origin: string } | undefined;
  paletteCss: string;
  contentSecurityPolicy: string;
}

const themes = new WeakMap<Branding, Theme>();

export function themeFor(branding: Branding): Theme {
  let theme = themes.get(branding);
  if (theme === undefined) {
    theme = resolveTheme(branding);
    themes.set(branding, theme);
  }
  return theme;
}

function resolveTheme(branding: Branding): Theme {
  const paletteCss = paletteStyle(resolvePalette(branding.accentColor));
  const logo = parseLogoUrl(branding.logoUrl);
  const directives = ["default-src 'none'", `style-src ${BASE_STYLE_HASH_SOURCE} ${cspHashSource(paletteCss)}`];
  if (logo) directives.push(`img-src ${logo.origin} data:`);
  directives.push("form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'");
  return {
    appTitle: branding.title === '' ? undefined : branding.title,
    logo,
    paletteCss,
    contentSecurityPolicy: directives.join('; '),
  };
}

/** Only absolute http(s) logos whose host is a plain DNS name or IPv4 address: the origin goes into the CSP verbatim. */
function parseLogoUrl(logoUrl: string): { src: string; origin: string } | undefined {
  if (logoUrl === '' || hasUnsafeUrlCharacter(logoUrl)) return undefined;
  let url: URL;
  try {
    url = new URL(logoUrl);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.username !== '' || url.password !== '') return undefined;
  if (!/^[a-z0-9.-]+$/.test(url.hostname)) return undefined;
  return { src: url.href, origin: url.origin };
}
