// s3rver 3.x ships no types; this covers only what embedded-s3.ts uses.
declare module 's3rver' {
  import type { AddressInfo } from 'node:net';
  import type { RequestListener, Server } from 'node:http';

  interface S3rverOptions {
    address?: string;
    port?: number;
    directory?: string;
    silent?: boolean;
    resetOnClose?: boolean;
    allowMismatchedSignatures?: boolean;
    vhostBuckets?: boolean;
    serviceEndpoint?: string;
    configureBuckets?: Array<{ name: string; configs?: Array<string | Buffer> }>;
  }

  class S3rver {
    constructor(options?: S3rverOptions);
    /** Creates the configured buckets in the store (run() does this before listening). */
    configureBuckets(): Promise<void>;
    /** Koa's request handler (S3rver extends Koa), to serve from a server of our own. */
    callback(): RequestListener;
    /** winston; run()'s server releases it on close. */
    logger: { exceptions: { unhandle(): void }; close(): void };
    /** Resolves with the bound address once configured buckets exist and the server listens. */
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
    /** Set by run(); undefined before. */
    httpServer?: Server;
  }

  export = S3rver;
}
