'use strict';

// The floor the server's GET /health is compared with: egg's default middleware, then one tiny body.
module.exports = app => {
  app.router.get('/', ctx => {
    ctx.body = 'hello';
  });
};
