import { SluiceError } from '../../errors.ts';

/** The URL of an import, checked before anything is fetched: it must parse and be http or https. */
export function parseHttpUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SluiceError('INVALID_ARGUMENT', `Invalid URL: ${url}`, { url });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    const shown = withoutCredentials(parsed).href;
    throw new SluiceError('INVALID_ARGUMENT', `Only http and https URLs can be imported, not ${parsed.protocol} (${shown})`, { url: shown });
  }
  return parsed;
}

/** The URL as it may be fetched and appear in messages, and its credentials as a Basic authorization. */
export function withoutCredentials(url: URL): { href: string; authorization?: string } {
  if (url.username === '' && url.password === '') return { href: url.href };
  const bare = new URL(url.href);
  bare.username = '';
  bare.password = '';
  const credentials = `${decodeComponent(url.username)}:${decodeComponent(url.password)}`;
  return { href: bare.href, authorization: `Basic ${Buffer.from(credentials).toString('base64')}` };
}

function decodeComponent(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
