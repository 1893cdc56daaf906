import type { Application } from 'egg';

/** Token endpoints: the RFC 6749 path and the path the original browser front end posts to. */
export const TOKEN_PATHS = [ '/oauth/token', '/api/user/token' ];

export default (app: Application) => {
  const { router, controller, middleware, oAuth2Server } = app;

  for (const path of TOKEN_PATHS) {
    // all(): a GET gets the engine's RFC 6749 §3.2 invalid_request answer rather than a bare 404.
    router.all(path, middleware.tokenRequest({}, app), oAuth2Server.token());
  }

  router.get('/api/currentUser', oAuth2Server.authenticate(), controller.user.current);
  router.get('/api/getUser', oAuth2Server.authenticate(), middleware.requireRole({ role: 'admin' }), controller.user.list);
};
