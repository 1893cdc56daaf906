/** Token endpoints: the RFC 6749 path and the path the original browser front end posts to. */
export const TOKEN_PATHS = [ '/oauth/token', '/api/user/token' ];

/**
 * The browser pages of the server's own login: the only paths that a session cookie authenticates,
 * so the only ones that take CSRF tokens and answer errors as HTML. Every other endpoint authenticates
 * its client or Bearer token on each request and sets no cookie.
 */
export const BROWSER_PAGES = [ '/login', '/logout', '/oauth/authorize' ];
