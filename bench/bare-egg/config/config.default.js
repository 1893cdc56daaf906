'use strict';

const path = require('node:path');

// egg's defaults, with only what production mode needs: the keys its cookies are signed with, and
// loopback (the bench passes the port). In production appInfo.root is EGG_HOME, a temporary folder the
// bench sets, so logs and the run/ dumps land there and not in the repository.
module.exports = appInfo => ({
  keys: 'bench-bare-egg-only-key',
  rundir: path.join(appInfo.root, 'run'),
  cluster: { listen: { hostname: '127.0.0.1' } },
});
