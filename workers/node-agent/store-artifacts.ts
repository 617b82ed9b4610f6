import type { Logger } from 'pino';
import type { ExtraArtifact } from '../../bpf/tool.ts';
import type { ArtifactRef } from '../../src/core/investigation.ts';
import type { CaptureJob, UnstoredArtifact } from '../../src/queue/jobs.ts';
import type { ArtifactStore } from '../../src/storage/artifact-store.ts';
import { artifactKey, contentTypeFor } from '../../src/storage/keys.ts';
import { classifyStorageError, describeStorageFailure } from '../../src/storage/storage-errors.ts';
import type { ArtifactSpool } from './spool.ts';

interface Failed {
  reason: string;
  since: string;
}

/**
 * Stores a capture's files; what storage does not take goes to the spool, to be uploaded later, and is listed in
 * `unstored` with the reason in words. Never throws for storage: a good capture's result must reach the
 * orchestrator whatever storage does.
 */
export async function storeArtifacts(
  job: Pick<CaptureJob, 'investigationId' | 'stepId' | 'node'>,
  files: readonly ExtraArtifact[],
  deps: { store: ArtifactStore; spool: ArtifactSpool; log: Logger },
): Promise<{ artifacts: ArtifactRef[]; unstored: UnstoredArtifact[] }> {
  const artifacts: ArtifactRef[] = [];
  const unstored: UnstoredArtifact[] = [];
  // Once storage is unreachable or hung, the other files are not tried: each try could take the whole S3 bound.
  let down: Failed | null = null;
  for (const f of files) {
    const name = `${job.stepId}/${job.node}/${f.file}`;
    const key = artifactKey(job.investigationId, name);
    const contentType = f.contentType || contentTypeFor(name);
    let failed: Failed | null = down;
    if (!failed) {
      try {
        const { size } = await deps.store.put(key, f.body, contentType);
        artifacts.push({ name, key, contentType, size });
        continue;
      } catch (err) {
        const failure = classifyStorageError(err);
        failed = { reason: describeStorageFailure(failure, 'upload'), since: new Date().toISOString() };
        deps.log.warn({ err, investigation: job.investigationId, artifact: name }, `artifact not stored: ${failed.reason}; keeping it in the spool`);
        if (failure.kind === 'unreachable' || failure.kind === 'timeout') down = failed;
      }
    }
    const notKept = await deps.spool.add(
      { investigationId: job.investigationId, stepId: job.stepId, node: job.node, name, key, contentType, since: failed.since },
      f.body,
    );
    unstored.push({ name, since: failed.since, reason: notKept ? `${failed.reason}; lost: ${notKept}` : failed.reason });
  }
  return { artifacts, unstored };
}
