// Types of build.mjs for the TypeScript that calls it (test/helpers/global-setup.ts, bench/).
export function build(opts?: { ifStale?: boolean }): Promise<{ tookMs: number; outputs: string[] } | null>;
