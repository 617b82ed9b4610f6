import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IgnoreMode } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';

/** The bundle `npm run build` writes for the Lambda (scripts/build.mjs), relative to the repository root. */
export const LAMBDA_BUNDLE = 'dist/lambda.mjs';
/** Lambda's handler string for it: the file without its extension, then the export. */
export const LAMBDA_HANDLER = `${LAMBDA_BUNDLE.replace(/\.mjs$/, '')}.handler`;
/** Where the build lists the files of the function's code (`lambdaFiles`): the bundle, its chunks, the render worker. */
export const BUILD_INFO = 'dist/build-info.json';

/**
 * The function's code: the files the build lists for it and playbooks/, which the bundle reads at run time from
 * beside dist/. Everything else in the repository stays out of the asset (gitignore syntax, anchored at `root`).
 */
export function lambdaCode(root: string): lambda.Code {
  if (!existsSync(join(root, LAMBDA_BUNDLE)) || !existsSync(join(root, BUILD_INFO))) {
    throw new Error(`${join(root, LAMBDA_BUNDLE)} is missing: run npm run build first`);
  }
  const { lambdaFiles } = JSON.parse(readFileSync(join(root, BUILD_INFO), 'utf8')) as { lambdaFiles?: string[] };
  if (!lambdaFiles?.includes(LAMBDA_BUNDLE)) throw new Error(`${join(root, BUILD_INFO)} does not list ${LAMBDA_BUNDLE}: run npm run build again`);
  return lambda.Code.fromAsset(root, {
    ignoreMode: IgnoreMode.GIT,
    exclude: ['/*', '!/dist/', '/dist/*', ...lambdaFiles.map((f) => `!/${f}`), '!/playbooks/'],
  });
}
