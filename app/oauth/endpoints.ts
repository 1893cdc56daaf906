/** Token endpoints: the RFC 6749 path and the path the original browser front end posts to. */
export const TOKEN_PATHS = [ '/oauth/token', '/api/user/token' ];

/**
 * POST endpoints that authenticate the client on every request and set no cookie: exempt from CSRF,
 * exactly these paths.
 */
export const CLIENT_AUTHENTICATED_POSTS = [ ...TOKEN_PATHS, '/oauth/revoke', '/oauth/introspect', '/oauth/check_token' ];
