/**
 * A CPU profile's files, in one place: their names, how each is made from the folded stacks, and the PNG thumbnail
 * of a flame graph. The agent makes them after a profile capture, the API draws a missing thumbnail on request and
 * finds a profile's folded stacks for a diff, the report reads the SVGs back: all of them ask this module, so a
 * name or a title cannot differ between the file made and the file looked for.
 */
import { toPprof } from './pprof.ts';
import { renderFlamegraphPng } from './png.ts';
import { toSpeedscope } from './speedscope.ts';
import { renderFlamegraph } from './svg.ts';
import { formatMicros } from './units.ts';

export const FOLDED_ARTIFACT = 'stacks.folded';
export const FLAMEGRAPH_ARTIFACT = 'flamegraph.svg';
export const SPEEDSCOPE_ARTIFACT = 'profile.speedscope.json';
export const PPROF_ARTIFACT = 'profile.pb.gz';

/** Every profile ships in the formats SREs open it with: folded stacks, a flame graph, speedscope, pprof (go tool pprof, Pyroscope). */
export const PROFILE_ARTIFACTS = [FOLDED_ARTIFACT, FLAMEGRAPH_ARTIFACT, SPEEDSCOPE_ARTIFACT, PPROF_ARTIFACT] as const;

/** What a profile's files are made from: its folded stacks (folded.ts's format), how many samples, at what rate. */
export interface OnCpuStacks {
  kind?: 'on-cpu';
  folded: string;
  samples: number;
  hz: number;
}

/** An off-CPU capture's files: its folded stacks weighted by blocked time in µs, not by samples. */
export interface OffCpuStacks {
  kind: 'off-cpu';
  folded: string;
  totalUs: number;
  minBlockUs: number;
  windowMs: number;
}

/** Folded stacks a capture hands the agent to make files of: on-CPU samples, or off-CPU time. */
export type ProfileStacks = OnCpuStacks | OffCpuStacks;

export const OFFCPU_FOLDED_ARTIFACT = 'offcpu.folded';
/** Its own name, so it sits beside an on-CPU flamegraph.svg of the same investigation (the latency playbook). */
export const OFFCPU_FLAMEGRAPH_ARTIFACT = 'offcpu-flamegraph.svg';
export const OFFCPU_ARTIFACTS = [OFFCPU_FOLDED_ARTIFACT, OFFCPU_FLAMEGRAPH_ARTIFACT] as const;

/** A file to store beside a step's result. */
export interface FlamegraphFile {
  file: string;
  contentType: string;
  body: string | Buffer;
}

/** The files of PROFILE_ARTIFACTS, in that order (OFFCPU_ARTIFACTS for off-CPU stacks). */
export function profileArtifacts(stacks: ProfileStacks): FlamegraphFile[] {
  if (stacks.kind === 'off-cpu') return offCpuArtifacts(stacks);
  const { folded, samples, hz } = stacks;
  return [
    { file: FOLDED_ARTIFACT, contentType: 'text/plain; charset=utf-8', body: folded },
    {
      file: FLAMEGRAPH_ARTIFACT,
      contentType: 'image/svg+xml',
      body: renderFlamegraph(folded, { title: 'CPU profile', subtitle: `${samples} samples at ${hz} Hz, kernel frames marked _[k]`, countName: 'samples' }),
    },
    { file: SPEEDSCOPE_ARTIFACT, contentType: 'application/json', body: toSpeedscope(folded, { name: `CPU profile at ${hz} Hz`, hz }) },
    { file: PPROF_ARTIFACT, contentType: 'application/gzip', body: toPprof(folded, { hz }) },
  ];
}

/**
 * The files of OFFCPU_ARTIFACTS: the folded stacks and a flame graph of blocked time, in the off-CPU palette (blues,
 * as in Brendan Gregg's off-CPU graphs) with its frames' widths told as durations.
 */
function offCpuArtifacts({ folded, totalUs, minBlockUs, windowMs }: OffCpuStacks): FlamegraphFile[] {
  const subtitle = `${formatMicros(totalUs)} blocked, summed over threads, in a ${formatMicros(Math.round(windowMs * 1000))} capture; blocks of ${formatMicros(minBlockUs)} or more; kernel frames marked _[k]`;
  return [
    { file: OFFCPU_FOLDED_ARTIFACT, contentType: 'text/plain; charset=utf-8', body: folded },
    {
      file: OFFCPU_FLAMEGRAPH_ARTIFACT,
      contentType: 'image/svg+xml',
      body: renderFlamegraph(folded, { title: 'Off-CPU time', subtitle, countName: 'µs', unit: 'us', colors: 'offcpu' }),
    },
  ];
}

/** Where a flamegraph's thumbnail is stored: beside it, same name, `.png`. */
export const thumbnailName = (svgName: string) => svgName.replace(/\.svg$/, '.png');
/** A step's artifact of this file name ("cpu/node-17/stacks.folded" for FOLDED_ARTIFACT). */
export const isStepArtifact = (name: string, file: string) => name.endsWith(`/${file}`);
/** A flame graph, as the agent names it (FLAMEGRAPH_ARTIFACT) or as a step's artifact. */
export const isFlamegraphSvg = (name: string) =>
  [FLAMEGRAPH_ARTIFACT, OFFCPU_FLAMEGRAPH_ARTIFACT].some((file) => name === file || isStepArtifact(name, file));

/** A flame graph's thumbnail: the SVG drawn as a PNG (png.ts), as the agent stores it and the API draws it on request. */
export function flamegraphThumbnail(svg: string): Buffer {
  return renderFlamegraphPng(svg);
}

/**
 * PNG thumbnails of the flame graphs among `files` (for chat, which shows no SVG). A picture that cannot be drawn is
 * reported to `onError` and left out, never a failure: the SVG and every other file are still there.
 */
export function flamegraphThumbnails(files: readonly FlamegraphFile[], onError: (err: unknown, file: string) => void): FlamegraphFile[] {
  return files.flatMap((a) => {
    if (!isFlamegraphSvg(a.file)) return [];
    try {
      return [{ file: thumbnailName(a.file), contentType: 'image/png', body: flamegraphThumbnail(String(a.body)) }];
    } catch (err) {
      onError(err, a.file);
      return [];
    }
  });
}
