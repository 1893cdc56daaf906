import type { Application } from 'egg';
import { sessionUser } from './oauth/authorize';
import { TOKEN_PATHS } from './oauth/endpoints';

export default (app: Application) => {
  const { router, controller, middleware, oAuth2Server } = app;
  // RFC 6749 §2.3, RFC 7009 §2.1, RFC 7662 §2.1: one client authentication for every endpoint that needs one.
  // Public clients (no secret) name themselves where RFC 6749 §2.1 and RFC 7009 §2.1 let them.
  const clientAuth = middleware.clientAuth();
  const clientOrPublicClient = middleware.clientAuth({ allowPublic: true });

  for (const path of TOKEN_PATHS) {
    // all(): a GET gets an RFC 6749 §3.2 invalid_request answer rather than a bare 404.
    router.all(path, middleware.tokenRequest({}, app), clientOrPublicClient, oAuth2Server.token());
  }
  router.post('/oauth/revoke', clientOrPublicClient, controller.revocation.revoke);
  router.post('/oauth/introspect', clientAuth, controller.introspection.introspect);
  // GET as in Spring's docs, POST (form) as Spring's RemoteTokenServices sends it.
  router.get('/oauth/check_token', clientAuth, controller.checkToken.check);
  router.post('/oauth/check_token', clientAuth, controller.checkToken.check);
  router.get('/.well-known/oauth-authorization-server', controller.metadata.show);
  router.get('/.well-known/jwks.json', controller.metadata.jwks);
  // A login code by SMS, for the password grant's auth_type=sms (Spring's form of it).
  router.post('/api/sms/codes', clientAuth, controller.sms.send);

  // RFC 6749 §4.1 with PKCE: the browser signs in on our own pages (a session cookie, CSRF tokens).
  const authorize = [ middleware.authorizeRequest(), oAuth2Server.authorize({ authenticateHandler: sessionUser }), controller.authorize.redirect ];
  router.get('/oauth/authorize', ...authorize);
  router.post('/oauth/authorize', ...authorize);
  router.get('/login', controller.login.show);
  router.post('/login', controller.login.submit);
  router.post('/logout', controller.login.logout);

  router.get('/health', controller.health.show);
  router.get('/health/ready', controller.health.ready);
  router.get('/metrics', controller.metrics.show);

  // The browser page and the client it logs in with; its scripts and styles are static files under /public/.
  router.get('/', controller.frontend.index);
  router.get('/frontend/config.json', controller.frontend.clientConfig);

  router.get('/api/currentUser', oAuth2Server.authenticate(), controller.user.current);
  router.get('/api/getUser', oAuth2Server.authenticate(), middleware.requireRole({ role: 'admin' }), controller.user.list);
};
