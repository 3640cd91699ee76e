#!/usr/bin/env node
// The CLI is TypeScript run by Node's type stripping (Node >= 22.18; 24 preferred). An older
// Node would fail on the import with a stack trace, so say what to do in one line instead.
if (!process.features.typescript) {
  process.stderr.write(`postern: Node ${process.versions.node} cannot run TypeScript; use Node 24 (npx postern uses the project's own)\n`);
  process.exit(1);
}
await import('../src/cli/main.ts');
