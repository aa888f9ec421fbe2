#!/usr/bin/env node
'use strict';
/**
 * Makes `npm start` and `npm test` work on a fresh clone: runs `npm ci` when node_modules is
 * missing or older than package-lock.json. Uses only Node's standard library.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const marker = path.join(root, 'node_modules', '.package-lock.json');
const lock = path.join(root, 'package-lock.json');
const [major] = process.versions.node.split('.').map(Number);
if (major < 20) {
  console.error(`CityFlow needs Node 20 or newer (this is ${process.version}).`);
  process.exit(1);
}
const stale = !fs.existsSync(marker) || fs.statSync(marker).mtimeMs < fs.statSync(lock).mtimeMs;
if (stale) {
  console.log('installing dependencies (npm ci)…');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status || 1);
}
