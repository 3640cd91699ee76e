#!/usr/bin/env node
// The CLI is TypeScript run by Node's type stripping, on by default since Node 22.18 (package.json's
// engines; 24 preferred). An older Node would fail on the import with a stack trace, so say what
// to do in one line instead.
if (!process.features.typescript) {
  process.stderr.write(`postern: Node ${process.versions.node} cannot run TypeScript; use Node 22.18 or later (npm run postern and npx postern use the project's own Node 24)\n`);
  process.exit(1);
}
await import('../src/cli/main.ts');
