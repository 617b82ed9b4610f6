/**
 * The one home of how triage's joint program is put together from its tools' programs: which tools, in which order,
 * the prefix each one's maps take there (the parser splits the output by it), and where each one's positional
 * parameters move to in the joint layout. join.ts writes program.bt from this and the tools' own programs; parser.ts
 * reads the prefixes; manifest.ts passes the layout (join.test.ts checks each part gets what its own tool would).
 */
import { MAX_CGROUPS } from '../../bpftrace-output.ts';

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** The joint program's positional parameters, in order, as program.bt's header and manifest.ts's args() have them. */
export const JOINT_LAYOUT = [
  { params: [1, 1], what: "profile's sampling rate (Hz)" },
  { params: [2, 2], what: 'cgroup v2 id (0 = any)' },
  { params: [3, 3], what: 'pid (0 = any)' },
  { params: [4, 10], what: 'further cgroup v2 ids (0 = unused)' },
  { params: [11, 26], what: "syscount's syscall numbers of this architecture" },
  { params: [27, 27], what: "syscount's errno (0 = any)" },
  { params: [28, 28], what: "oomkill's end-after (0 = never)" },
] as const;

/** Where every tool's scope goes: the first cgroup id, the pid, then the other MAX_CGROUPS - 1 (define.ts's order). */
const SCOPE = { cgroup: 2, pid: 3, moreCgroups: range(4, 4 + MAX_CGROUPS - 2) };

interface PartSpec {
  tool: string;
  /** Its maps' prefix in the joint program: `@failures` becomes `@sc_failures`. Lower-case letters (parser.ts's MAP_LINE). */
  prefix: string;
  /** The joint positions of its own leading parameters ($1… before the scope), in order. */
  leading?: readonly number[];
  /** What its program filters on, as its manifest's `filter` (define.ts): 'cgroup' has no pid slot. */
  scope?: 'cgroup-and-pid' | 'cgroup';
  /** The joint positions of its own trailing parameters (after the scope), in order. */
  trailing?: readonly number[];
  /**
   * What its program does that reaches beyond its own part once joined, each allowed only with the reason it is
   * acceptable (join.ts refuses the program otherwise): `exit` — exit() ends every part, not only this one.
   */
  joint?: { exit?: string };
}

/** The tools whose programs triage's program joins, in the checklist's order (program.bt's and the result's). */
export const TRIAGE_PARTS = [
  { tool: 'syscount', prefix: 'sc', leading: [27], trailing: range(11, 26) },
  { tool: 'runqlat', prefix: 'rq' },
  { tool: 'biolatency', prefix: 'bio' },
  { tool: 'tcpretrans', prefix: 'rt', scope: 'cgroup' },
  { tool: 'tcpconnect', prefix: 'tc' },
  {
    tool: 'oomkill',
    prefix: 'oom',
    trailing: [28],
    joint: {
      exit:
        "its end-after ($28) would end the whole joint program after the first kill, as it ends oomkill's own; triage passes 0 (never), so every part runs for the whole window",
    },
  },
  { tool: 'execsnoop', prefix: 'ex' },
  { tool: 'profile', prefix: 'pf', leading: [1] },
] as const satisfies readonly PartSpec[];
export type TriagePart = (typeof TRIAGE_PARTS)[number]['tool'];

/** The number of positional parameters the joint program takes. */
export const JOINT_PARAMS = JOINT_LAYOUT[JOINT_LAYOUT.length - 1]!.params[1];

/** Its own positional parameter n ($n in its program) → the joint one, for every parameter the part's tool takes. */
export function positionalMap(part: PartSpec): Map<number, number> {
  const scope = [SCOPE.cgroup, ...((part.scope ?? 'cgroup-and-pid') === 'cgroup-and-pid' ? [SCOPE.pid] : []), ...SCOPE.moreCgroups];
  const order = [...(part.leading ?? []), ...scope, ...(part.trailing ?? [])];
  return new Map(order.map((joint, i) => [i + 1, joint]));
}
