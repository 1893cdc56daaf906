import type { EggPlugin } from 'egg';

const plugin: EggPlugin = {
  mysql: { enable: true, package: 'egg-mysql' },
  oAuth2Server: { enable: true, package: 'egg-oauth2-server' },
  // egg's default plugins this server never uses: i18n runs a middleware on every request (locale
  // from query, cookie and headers); the others load code and config for nothing. Pages are rendered
  // by app/view/pages.ts, bodies are forms, answers are never JSONP.
  i18n: false,
  view: false,
  multipart: false,
  jsonp: false,
};

export default plugin;
