/** Hosts of the loopback interface (RFC 8252 §7.3, §8.3). */
const LOOPBACK_HOSTS = new Set([ '127.0.0.1', '[::1]', 'localhost' ]);

function isLoopback(url: URL): boolean {
  return LOOPBACK_HOSTS.has(url.hostname) || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
}

/**
 * Why this URI cannot be registered as a redirect URI, or null when it can (RFC 6749 §3.1.2,
 * RFC 9700 §2.1, §4.1): absolute, http or https only (`javascript:` and the like never), no fragment,
 * and plain http in production only for a loopback host (a native app's local listener).
 */
export function redirectUriProblem(uri: string, { production }: { production: boolean }): string | null {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'is not an absolute URI';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be http or https';
  if (uri.includes('#')) return 'must not have a fragment';
  if (url.username || url.password) return 'must not carry credentials';
  if (production && url.protocol === 'http:' && !isLoopback(url)) return 'may be plain http only for a loopback host in production';
  return null;
}

/**
 * Whether `requested` is one of the registered redirect URIs: compared exactly (RFC 9700 §4.1.3), but
 * for a loopback URI the port may differ (RFC 8252 §7.3: a native app listens on whatever port it got).
 */
export function isRegisteredRedirectUri(registered: string[], requested: string): boolean {
  if (registered.includes(requested)) return true;
  let asked: URL;
  try {
    asked = new URL(requested);
  } catch {
    return false;
  }
  if (asked.protocol !== 'http:' || !isLoopback(asked)) return false;
  return registered.some(uri => {
    const known = new URL(uri);
    if (known.protocol !== 'http:' || !isLoopback(known)) return false;
    known.port = asked.port;
    return known.href === asked.href;
  });
}

/**
 * The redirect URI of a request: the one it names when that is registered, or, when it names none,
 * the client's only registered one (RFC 6749 §3.1.2.3: it may be left out only then); else null.
 */
export function resolveRedirectUri(registered: string[], requested: string | null | undefined): string | null {
  if (requested === undefined || requested === null) return registered.length === 1 ? registered[0] : null;
  return isRegisteredRedirectUri(registered, requested) ? requested : null;
}

/** Why this cannot be a resource indicator (RFC 8707 §2: an absolute URI without a fragment), or null. */
export function resourceProblem(uri: string): string | null {
  try {
    new URL(uri);
  } catch {
    return 'is not an absolute URI';
  }
  return uri.includes('#') ? 'must not have a fragment' : null;
}

/** RFC 8707 §2: a client may ask for the resources it is registered for, and for its own audience. */
export function mayRequestResource(client: { resources: string[]; audience: string | null }, resource: string): boolean {
  return client.resources.includes(resource) || resource === client.audience;
}
