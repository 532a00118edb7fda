#!/usr/bin/env node
// Native-solc command line on top of solc-js (the official WebAssembly build).
//
// py-solc-x and brownie shell out to a `solc` binary. No native binary can be fetched
// offline, so this script answers the two calls they make:
//   --version           in the native format ("Version: 0.8.x+commit...")
//   --standard-json     standard JSON on stdin, standard JSON on stdout
// Imports are resolved from the base/include/allow paths the caller passes, then from
// the working directory and from every node_modules folder above it and above this file.
'use strict';

const fs = require('fs');
const path = require('path');
const solc = require('solc');

function parseArgs(argv) {
  const opts = { version: false, standardJson: false, roots: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const value = () => (inline !== undefined ? inline : argv[++i]);
    switch (flag) {
      case '--version': opts.version = true; break;
      case '--standard-json': opts.standardJson = true; break;
      case '--base-path': case '--include-path': opts.roots.push(value()); break;
      case '--allow-paths': opts.roots.push(...value().split(',').filter(Boolean)); break;
      default: break; // e.g. --pretty-json: harmless to ignore for machine callers
    }
  }
  return opts;
}

function nodeModulesAbove(start) {
  const dirs = [];
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    dirs.push(path.join(dir, 'node_modules'));
    if (dir === path.dirname(dir)) return dirs;
  }
}

function makeResolver(roots) {
  const searchDirs = [...roots.map((r) => path.resolve(r)), process.cwd(),
    ...nodeModulesAbove(process.cwd()), ...nodeModulesAbove(__dirname)];
  return (importPath) => {
    const candidates = path.isAbsolute(importPath)
      ? [importPath]
      : searchDirs.map((dir) => path.join(dir, importPath));
    for (const file of candidates) {
      try {
        return { contents: fs.readFileSync(file, 'utf8') };
      } catch (err) {
        if (err.code !== 'ENOENT' && err.code !== 'ENOTDIR') return { error: String(err) };
      }
    }
    return { error: `File not found: ${importPath} (searched ${searchDirs.join(', ')})` };
  };
}

// A synchronous write loop: process.exit() after an async write truncates piped output
// at 64 KiB, and a non-blocking pipe can answer EAGAIN.
function writeAll(fd, text) {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off, buf.length - off);
    } catch (err) {
      if (err.code !== 'EAGAIN') throw err;
    }
  }
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.version) {
    const native = solc.version().replace(/\.Emscripten\.clang$/, '.Linux.g++');
    writeAll(1, `solc, the solidity compiler commandline interface\nVersion: ${native}\n`);
    return;
  }
  if (!opts.standardJson) {
    writeAll(2, 'solc-adapter: only --version and --standard-json are supported\n');
    process.exitCode = 2;
    return;
  }
  const input = fs.readFileSync(0, 'utf8');
  writeAll(1, solc.compile(input, { import: makeResolver(opts.roots) }));
}

main();
