import { parseFolded } from './folded.ts';

/**
 * speedscope's JSON file format, as far as this exporter writes it. Field names follow
 * `FileFormat.File` / `FileFormat.SampledProfile` in jlfwong/speedscope `src/lib/file-format-spec.ts`
 * (checked at commit e4040538376bbaa81f3746f11530717a1f2544b1; the JSON schema generated from it is served at
 * https://www.speedscope.app/file-format-schema.json): `$schema`, `shared.frames[].name`, `profiles[]` with
 * `type: "sampled"`, `name`, `unit`, `startValue`, `endValue`, `samples` (stacks of indices into `shared.frames`,
 * root first) and `weights` (one per sample), plus the optional `name`, `activeProfileIndex` and `exporter`.
 */
export const SPEEDSCOPE_SCHEMA = 'https://www.speedscope.app/file-format-schema.json';

export type SpeedscopeUnit = 'none' | 'nanoseconds';

export interface SpeedscopeFrame {
  name: string;
}

export interface SpeedscopeSampledProfile {
  type: 'sampled';
  name: string;
  unit: SpeedscopeUnit;
  startValue: number;
  endValue: number;
  samples: number[][];
  weights: number[];
}

export interface SpeedscopeFile {
  $schema: typeof SPEEDSCOPE_SCHEMA;
  shared: { frames: SpeedscopeFrame[] };
  profiles: SpeedscopeSampledProfile[];
  name: string;
  activeProfileIndex: number;
  exporter: string;
}

export interface SpeedscopeOptions {
  /** Shown as the file's and the profile's name in speedscope. */
  name: string;
  /** Sampling frequency of the capture; with it, weights are CPU time in nanoseconds (count × 1e9 / hz). */
  hz?: number;
  /** Defaults to "nanoseconds" when `hz` is given, else "none" (weights are sample counts). */
  unit?: SpeedscopeUnit;
}

function checkHz(hz: number | undefined): void {
  if (hz !== undefined && !(Number.isFinite(hz) && hz > 0)) throw new RangeError(`hz must be a positive number, got ${hz}`);
}

/**
 * Converts folded stacks to a speedscope file: one sampled profile with one sample per distinct stack (the process
 * name stays the root frame, as speedscope's own folded-stack importer keeps it). Frames are deduplicated by name
 * and numbered in order of first appearance over the sorted stacks, so the same input always gives the same bytes.
 * Nanosecond weights are rounded to whole nanoseconds per stack; `endValue` is the sum of the weights.
 */
export function toSpeedscope(folded: string, opts: SpeedscopeOptions): string {
  checkHz(opts.hz);
  const unit: SpeedscopeUnit = opts.unit ?? (opts.hz !== undefined ? 'nanoseconds' : 'none');
  const { hz } = opts;
  if (unit === 'nanoseconds' && hz === undefined) throw new Error('speedscope unit "nanoseconds" needs the sampling frequency (hz)');
  const weightOf = (count: number): number => (unit === 'nanoseconds' && hz !== undefined ? Math.round((count * 1e9) / hz) : count);

  const frames: SpeedscopeFrame[] = [];
  const frameIndex = new Map<string, number>();
  const samples: number[][] = [];
  const weights: number[] = [];
  for (const { frames: stack, count } of parseFolded(folded)) {
    samples.push(
      stack.map((name) => {
        let index = frameIndex.get(name);
        if (index === undefined) {
          index = frames.push({ name }) - 1;
          frameIndex.set(name, index);
        }
        return index;
      }),
    );
    weights.push(weightOf(count));
  }

  const file: SpeedscopeFile = {
    $schema: SPEEDSCOPE_SCHEMA,
    shared: { frames },
    profiles: [
      {
        type: 'sampled',
        name: opts.name,
        unit,
        startValue: 0,
        endValue: weights.reduce((sum, w) => sum + w, 0),
        samples,
        weights,
      },
    ],
    name: opts.name,
    activeProfileIndex: 0,
    exporter: 'tracehound',
  };
  return JSON.stringify(file);
}
