// s3rver 3.x ships no types; this covers only what embedded-s3.ts uses.
declare module 's3rver' {
  import type { AddressInfo } from 'node:net';
  import type { Server } from 'node:http';

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
    /** Resolves with the bound address once configured buckets exist and the server listens. */
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
    /** Set by run(); undefined before. */
    httpServer?: Server;
  }

  export = S3rver;
}
