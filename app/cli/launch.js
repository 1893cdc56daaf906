'use strict';

// Runs a command-line tool of app/cli: its compiled .js after `npm run tsc` (production), else its
// TypeScript source through ts-node (development).
const fs = require('node:fs');
const path = require('node:path');

const TOOLS = [ 'admin', 'migrate' ];
const tool = process.argv[2];
if (!TOOLS.includes(tool)) {
  console.error(`usage: node app/cli/launch.js <${TOOLS.join('|')}> [arguments]`);
  process.exit(2);
}
if (!fs.existsSync(path.join(__dirname, `${tool}.js`))) {
  process.env.TS_NODE_PREFER_TS_EXTS = 'true';
  require('ts-node').register({ transpileOnly: true, project: path.join(__dirname, '../../tsconfig.json') });
}
process.argv.splice(2, 1);
require(path.join(__dirname, tool));
