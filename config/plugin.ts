import type { EggPlugin } from 'egg';

const plugin: EggPlugin = {
  mysql: { enable: true, package: 'egg-mysql' },
  oAuth2Server: { enable: true, package: 'egg-oauth2-server' },
};

export default plugin;
