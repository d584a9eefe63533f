#!/usr/bin/env node
// Speaks the part of the native solc command line that py-solc-x uses, on top of the
// official solcjs build (npm `solc`): `--version` and `--standard-json` (input on stdin).
// Imports resolve from the base path and then node_modules, like `--include-path`;
// flags solcjs lacks (`--allow-paths`) are accepted and ignored.
"use strict";
const fs = require("fs");
const path = require("path");

const projectRoot = path.resolve(__dirname, "..");
const solc = require(require.resolve("solc", { paths: [projectRoot, process.cwd()] }));

function argValue(flag) {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (process.argv.includes("--version")) {
  process.stdout.write(
    "solc, the solidity compiler commandline interface\nVersion: " + solc.version() + "\n"
  );
  process.exit(0);
}

if (!process.argv.includes("--standard-json")) {
  process.stderr.write("solc_wrapper: only --version and --standard-json are supported\n");
  process.exit(2);
}

const basePath = path.resolve(argValue("--base-path") || process.cwd());
const searchRoots = [basePath, path.join(projectRoot, "node_modules"), path.join(process.cwd(), "node_modules")];

function findImports(importPath) {
  for (const root of searchRoots) {
    const candidate = path.resolve(root, importPath);
    if (candidate.startsWith(root) && fs.existsSync(candidate)) {
      return { contents: fs.readFileSync(candidate, "utf8") };
    }
  }
  return { error: "File not found: " + importPath };
}

const input = fs.readFileSync(0, "utf8");
process.stdout.write(solc.compile(input, { import: findImports }));
