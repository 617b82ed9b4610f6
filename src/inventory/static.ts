import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { NotFoundError, UnsupportedTargetError, ValidationError, type FieldError } from '../core/errors.ts';
import { NodeName, type Target } from '../core/target.ts';
import { passThrough, targetsPods, type Inventory, type NodeEntry, type Resolution } from './inventory.ts';
// Kubernetes' label rules, so a static host can later become a node without relabelling.
import { LabelKey, LabelValue } from './label-selector.ts';

export const StaticHost = z
  .object({
    name: NodeName,
    labels: z.record(LabelKey, LabelValue).default({}),
  })
  .strict();
export type StaticHost = z.infer<typeof StaticHost>;

export const StaticInventoryFile = z
  .object({
    hosts: z.array(StaticHost).min(1, 'list at least one host'),
  })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.hosts.forEach((host, i) => {
      if (seen.has(host.name)) {
        ctx.addIssue({ code: 'custom', path: ['hosts', i, 'name'], message: `host "${host.name}" is listed twice` });
      }
      seen.add(host.name);
    });
  });

/**
 * Plain hosts without Kubernetes, from a YAML file `hosts: [{ name: node-17, labels: { zone: a } }]`. Node targets are
 * checked against the list; pod, namespace and selector targets need the Kubernetes inventory.
 */
export class StaticInventory implements Inventory {
  readonly kind = 'static' as const;
  private readonly hosts: ReadonlyMap<string, StaticHost>;

  constructor(
    hosts: StaticHost[],
    /** Where the hosts came from, for messages. */
    readonly source = 'static inventory',
  ) {
    this.hosts = new Map(hosts.map((h) => [h.name, h]));
  }

  /** Reads and validates the file; every problem is a ValidationError naming the file and the path in it. */
  static async fromFile(file: string): Promise<StaticInventory> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new ValidationError(`${file}: cannot read the static inventory: ${reason}`, [{ path: file, message: reason }]);
    }
    return new StaticInventory(parseStaticInventory(text, file), file);
  }

  async resolve(target: Target): Promise<Resolution> {
    if (targetsPods(target)) {
      const field = target.pod !== undefined ? 'pod' : target.labelSelector !== undefined ? 'labelSelector' : 'namespace';
      throw new UnsupportedTargetError(`${field} targets need the Kubernetes inventory; ${this.source} knows hosts only`);
    }
    if (target.node !== undefined && !this.hosts.has(target.node)) {
      throw new NotFoundError(`node ${target.node} is not in ${this.source} (known: ${[...this.hosts.keys()].sort().join(', ')})`);
    }
    return passThrough(target);
  }

  async nodes(): Promise<NodeEntry[]> {
    return [...this.hosts.values()]
      .map((h) => ({ name: h.name, labels: { ...h.labels } }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}

/** Parses the YAML text of a static inventory; `file` only labels the errors. */
export function parseStaticInventory(text: string, file: string): StaticHost[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    const errors: FieldError[] = doc.errors.map((e) => {
      const { line, col } = lines.linePos(e.pos[0]);
      return { path: `${file}:${line}:${col}`, message: e.message };
    });
    throw new ValidationError(`${file}: not valid YAML: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, errors);
  }
  const parsed = StaticInventoryFile.safeParse(doc.toJS());
  if (!parsed.success) {
    const errors: FieldError[] = parsed.error.issues.map((issue) => ({
      path: `${file}#${issue.path.length === 0 ? '(root)' : issue.path.join('.')}`,
      message: issue.message,
    }));
    throw new ValidationError(`${file}: invalid static inventory: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, errors);
  }
  return parsed.data.hosts;
}
