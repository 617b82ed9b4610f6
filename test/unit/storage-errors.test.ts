import { S3ServiceException } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { s3Limits } from '../../src/storage/s3-options.ts';
import { describeStorageError } from '../../src/storage/storage-errors.ts';

const answered = (status: number, name: string) =>
  new S3ServiceException({ name, $fault: status < 500 ? 'client' : 'server', $metadata: { httpStatusCode: status }, message: name });
const sysError = (code: string, name = 'Error') => Object.assign(new Error(`connect ${code} 127.0.0.1:9000`), { code, name });

describe('describeStorageError', () => {
  it('puts what storage did in words, never an errno', () => {
    const cases: [unknown, string][] = [
      [sysError('ECONNREFUSED'), 'object storage unreachable'],
      // Node's happy-eyeballs connect: one error per address, the code on the aggregate or its members.
      [Object.assign(new AggregateError([sysError('ECONNREFUSED'), sysError('ECONNREFUSED')]), { code: 'ECONNREFUSED' }), 'object storage unreachable'],
      [new AggregateError([sysError('EHOSTUNREACH')]), 'object storage unreachable'],
      [sysError('ENOTFOUND'), 'object storage unreachable'],
      // The SDK renames a reset "TimeoutError"; it is still nobody answering, not a slow answer.
      [sysError('ECONNRESET', 'TimeoutError'), 'object storage unreachable'],
      [Object.assign(new Error('a request has exceeded the configured 500 ms requestTimeout'), { name: 'TimeoutError', code: 'ETIMEDOUT' }), 'object storage timed out'],
      [Object.assign(new Error('socket timed out after 500 ms of inactivity'), { name: 'TimeoutError' }), 'object storage timed out'],
      [Object.assign(new Error('Request aborted'), { name: 'AbortError' }), 'object storage timed out'],
      [answered(403, 'AccessDenied'), 'object storage refused the upload (HTTP 403)'],
      [answered(404, 'NoSuchBucket'), 'object storage refused the upload (HTTP 404)'],
      [answered(503, 'SlowDown'), 'object storage failed the upload (HTTP 503)'],
      [new Error('Deserialization error: to see the raw response, inspect the hidden field {error}.$response'), 'object storage failed the upload'],
      [Object.assign(new Error('wrapped'), { cause: sysError('ECONNREFUSED') }), 'object storage unreachable'],
    ];
    for (const [err, words] of cases) {
      const said = describeStorageError(err, 'upload');
      expect(said, String(err)).toBe(words);
      expect(said).not.toMatch(/E[A-Z]{4,}/);
    }
    expect(describeStorageError(answered(403, 'Forbidden'))).toBe('object storage refused the request (HTTP 403)');
  });
});

describe('S3 limits', () => {
  it('default to 2s to connect, 15s to answer, 3 attempts, and are validated', () => {
    expect(s3Limits(loadConfig({}))).toEqual({ connectTimeoutMs: 2000, requestTimeoutMs: 15_000, maxAttempts: 3 });
    expect(s3Limits(loadConfig({ S3_CONNECT_TIMEOUT: '500ms', S3_REQUEST_TIMEOUT: '1m', S3_MAX_ATTEMPTS: '5' }))).toEqual({
      connectTimeoutMs: 500,
      requestTimeoutMs: 60_000,
      maxAttempts: 5,
    });
    let message = '';
    try {
      loadConfig({ S3_CONNECT_TIMEOUT: 'soon', S3_REQUEST_TIMEOUT: '1h', S3_MAX_ATTEMPTS: '0' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('S3_CONNECT_TIMEOUT: expected a duration');
    expect(message).toContain('S3_REQUEST_TIMEOUT: at most 5m');
    expect(message).toContain('S3_MAX_ATTEMPTS:');
  });
});
