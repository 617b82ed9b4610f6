import { gunzipSync, gzipSync } from 'node:zlib';
import { Function as PprofFunction, Line, Location, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import { foldStacks, parseFolded, serializeFolded, type FoldedStack } from './folded.ts';

/** Label key under which the process name (the first folded frame) travels on each sample. */
export const COMM_LABEL = 'comm';

export interface PprofOptions {
  /** Sampling frequency of the capture; adds a `cpu/nanoseconds` sample type and sets `period`/`periodType`. */
  hz?: number;
  /** Put the process name in a `comm` string label rather than as the outermost frame (default true). */
  comm?: boolean;
}

/**
 * Converts folded stacks to a gzipped pprof Profile (profile.proto), readable by `go tool pprof`, Pyroscope and
 * Grafana. Sample types are `samples/count` and, with `hz`, `cpu/nanoseconds` (count × 1e9 / hz, rounded), with
 * `periodType` cpu/nanoseconds and `period` the nanoseconds between samples. Each distinct frame name gets one
 * Function and one Location with the same id (from 1, in order of first appearance); a sample's location ids are
 * leaf first, as pprof expects. Kernel frames keep their "_[k]" suffix in the function name.
 */
export function toPprof(folded: string, opts: PprofOptions = {}): Buffer {
  const { hz } = opts;
  if (hz !== undefined && !(Number.isFinite(hz) && hz > 0)) throw new RangeError(`hz must be a positive number, got ${hz}`);
  const useComm = opts.comm ?? true;
  const strings = new StringTable();

  const sampleType = [new ValueType({ type: strings.dedup('samples'), unit: strings.dedup('count') })];
  if (hz !== undefined) sampleType.push(new ValueType({ type: strings.dedup('cpu'), unit: strings.dedup('nanoseconds') }));

  const functions: PprofFunction[] = [];
  const locations: Location[] = [];
  const idOf = new Map<string, number>();
  const locationId = (name: string): number => {
    let id = idOf.get(name);
    if (id === undefined) {
      id = functions.length + 1;
      const nameIndex = strings.dedup(name);
      functions.push(new PprofFunction({ id, name: nameIndex, systemName: nameIndex }));
      locations.push(new Location({ id, line: [new Line({ functionId: id })] }));
      idOf.set(name, id);
    }
    return id;
  };

  const commKey = useComm ? strings.dedup(COMM_LABEL) : 0;
  const samples = parseFolded(folded).map(({ frames, count }) => {
    const [comm = '', ...rest] = frames;
    const stack = useComm ? rest : frames;
    const value = hz === undefined ? [count] : [count, Math.round((count * 1e9) / hz)];
    return new Sample({
      // Ids are handed out root first (so the process's own frames come first), then reversed to pprof's leaf-first order.
      locationId: stack.map(locationId).reverse(),
      value,
      label: useComm ? [{ key: commKey, str: strings.dedup(comm) }] : [],
    });
  });

  const profile = new Profile({
    sampleType,
    sample: samples,
    location: locations,
    function: functions,
    stringTable: strings,
    ...(hz === undefined
      ? {}
      : {
          periodType: { type: strings.dedup('cpu'), unit: strings.dedup('nanoseconds') },
          period: Math.round(1e9 / hz),
        }),
  });
  return gzipSync(profile.encode());
}

const GZIP_MAGIC = [0x1f, 0x8b] as const;

/**
 * Reads a pprof Profile (gzipped or not) back into folded text: frames root first, inlined frames of a location
 * expanded, the `comm` label (if any) as the first frame, counts from the `samples` sample type (else the first).
 */
export function fromPprof(buf: Buffer): string {
  const raw = buf[0] === GZIP_MAGIC[0] && buf[1] === GZIP_MAGIC[1] ? gunzipSync(buf) : buf;
  const profile = Profile.decode(raw);
  const str = (index: number | bigint): string => profile.stringTable.strings[Number(index)] ?? '';

  const functionName = new Map<number, string>();
  for (const fn of profile.function) functionName.set(Number(fn.id), str(fn.name));
  // Per location, its frames leaf first: pprof lists inlined functions before the caller they were inlined into.
  const locationFrames = new Map<number, string[]>();
  for (const loc of profile.location) {
    const frames = loc.line.map((line) => functionName.get(Number(line.functionId)) ?? '[unknown]');
    locationFrames.set(Number(loc.id), frames.length > 0 ? frames : ['[unknown]']);
  }

  const samplesIndex = profile.sampleType.findIndex((t) => str(t.type) === 'samples');
  const valueIndex = samplesIndex >= 0 ? samplesIndex : 0;
  const stacks: FoldedStack[] = profile.sample.map((sample) => {
    const leafFirst = sample.locationId.flatMap((id) => locationFrames.get(Number(id)) ?? ['[unknown]']);
    const comm = sample.label.find((l) => str(l.key) === COMM_LABEL && Number(l.str) !== 0);
    const frames = leafFirst.reverse();
    if (comm) frames.unshift(str(comm.str));
    return { frames, count: Number(sample.value[valueIndex] ?? 0) };
  });
  return serializeFolded(foldStacks(stacks));
}
