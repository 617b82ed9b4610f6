/**
 * Import rules checked by `npm run lint` (issue #12). For now one rule: no import cycles, type-only imports
 * included (tsPreCompilationDeps), because a cycle of types still ties two files into one room and is the first
 * step of a runtime cycle. A type two files both need lives in a third. The layer rules (core ← tools ← domain ←
 * adapters ← entry points) come with the rest of #12.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle (type-only imports count): move what both files need into a third, lower one.',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Count `import type` too: the cycle rule covers types (see above).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.mjs', '.js', '.json'] },
  },
};
