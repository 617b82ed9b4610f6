import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { unmetByCapabilities, type Capabilities, type Requirement } from '../core/capabilities.ts';
import { durationMs, parseDurationMs } from '../core/duration.ts';
import { ErrnoName } from '../core/errno.ts';
import { bySeverity, ConfidenceLevel, type Confidence, type Evidence, type Finding, type Summary } from '../core/investigation.ts';
import { fieldEvidence, RESULT_FILE, rowEvidence, wholeArtifacts } from '../findings/evidence.ts';
import { stepProblems, type Draft } from '../findings/step-problems.ts';
import { overBudgetFindings } from '../findings/capture-cost.ts';
import { compileExpression, compileTemplate, ExpressionError, fromCel, type Expression, type ExpressionContext, type ParseMode, type Template } from './expressions.ts';
import type { Playbook, PlanContext, CompiledStep, StepDecision, SummaryInput, ToolCatalogue } from './playbook.ts';
import { planContext } from './plan-context.ts';
import { PlaybookDoc, type ConfidenceSpec, type EvidenceSpec, type FindingRule, type ParamSpec, type StepSpec, type Value } from './schema.ts';
import { parallelStepProblems } from './step-reads.ts';
import { SUMMARIZERS } from './summarizers.ts';
import { compileVocabulary } from './vocabulary.ts';

/** A playbook file that does not hold: every problem with its file and path inside the document. */
export class PlaybookError extends Error {
  constructor(
    readonly file: string,
    readonly problems: { path: string; message: string }[],
  ) {
    super(`${file}: ${problems.map((p) => `${p.path || '(document)'}: ${p.message}`).join('; ')}`);
  }
}

type Problems = { path: string; message: string }[];

function paramSchema(spec: ParamSpec): z.ZodType {
  switch (spec.type) {
    case 'duration': {
      const [min, max, def] = [parseDurationMs(spec.min)!, parseDurationMs(spec.max)!, parseDurationMs(spec.default)!];
      return durationMs({ min, max }).default(def);
    }
    case 'integer':
      return z.number().int().min(spec.min).max(spec.max).default(spec.default);
    case 'errno':
      return spec.default === undefined ? ErrnoName.optional() : ErrnoName.default(spec.default as z.output<typeof ErrnoName>);
    case 'string': {
      const s = z.string().max(spec.maxLength).regex(new RegExp(`^(?:${spec.pattern})$`), `must match ${spec.pattern}`);
      return spec.default === undefined ? s.optional() : s.default(spec.default);
    }
    case 'boolean':
      return spec.default === undefined ? z.boolean().optional() : z.boolean().default(spec.default);
  }
}

function checkParamSpec(name: string, spec: ParamSpec, problems: Problems) {
  const at = `params.${name}`;
  if (spec.type === 'duration') {
    const [min, max, def] = [parseDurationMs(spec.min), parseDurationMs(spec.max), parseDurationMs(spec.default)];
    if (min === undefined || max === undefined || def === undefined || min > max || def < min || def > max) {
      problems.push({ path: at, message: 'need min ≤ default ≤ max' });
    }
  }
  if (spec.type === 'integer' && !(spec.min <= spec.default && spec.default <= spec.max)) {
    problems.push({ path: at, message: 'need min ≤ default ≤ max' });
  }
  if (spec.type === 'string') {
    try {
      new RegExp(spec.pattern);
    } catch (err) {
      problems.push({ path: `${at}.pattern`, message: (err as Error).message });
    }
  }
}

type CompiledValue = (ctx: PlanContext) => unknown;

function compileValue(v: Value, path: string, problems: Problems, parse: ParseMode): CompiledValue {
  if (typeof v === 'object' && !Array.isArray(v)) {
    const expr = tryExpr(v.expr, path, problems, parse);
    return (ctx) => fromCel(expr?.evaluate(ctx));
  }
  return () => v;
}

function tryExpr(source: string, path: string, problems: Problems, parse: ParseMode, expect?: 'bool'): Expression | null {
  try {
    return compileExpression(source, { parse, ...(expect ? { expect } : {}) });
  } catch (err) {
    problems.push({ path, message: `invalid CEL: ${(err as Error).message}` });
    return null;
  }
}

function tryTemplate(source: string, path: string, problems: Problems, parse: ParseMode): Template | null {
  try {
    return compileTemplate(source, parse);
  } catch (err) {
    problems.push({ path, message: `invalid template: ${(err as Error).message}` });
    return null;
  }
}

interface CompiledAction {
  tool: string;
  title: string;
  requires: Requirement[];
  /** The tool's variants: it runs where one of them is met. */
  variants: ReadonlyArray<{ name: string; requires: readonly Requirement[] }>;
  duration: CompiledValue | null;
  params: [string, CompiledValue][];
}

function compileAction(a: Omit<StepSpec, 'id' | 'when' | 'fallback'>, at: string, tools: ToolCatalogue, problems: Problems, parse: ParseMode): CompiledAction {
  const tool = tools[a.tool];
  if (!tool) problems.push({ path: `${at}.tool`, message: `unknown tool "${a.tool}"; known: ${Object.keys(tools).sort().join(', ')}` });
  const params = Object.entries(a.params).map(([k, v]): [string, CompiledValue] => [k, compileValue(v, `${at}.params.${k}`, problems, parse)]);
  // Literal parameters are checked now; computed ones when the step is reached.
  if (tool && Object.values(a.params).every((v) => typeof v !== 'object' || Array.isArray(v))) {
    const r = tool.params.safeParse(a.params);
    if (!r.success) for (const i of r.error.issues) problems.push({ path: `${at}.params.${i.path.join('.')}`, message: i.message });
  }
  if (typeof a.duration === 'string' && parseDurationMs(a.duration) === undefined) {
    problems.push({ path: `${at}.duration`, message: 'expected a duration such as "10s", or { expr: … }' });
  }
  return {
    tool: a.tool,
    title: a.title,
    requires: [...(tool?.requires ?? []), ...a.requires],
    variants: tool?.variants ?? [],
    duration: a.duration === undefined ? null : compileValue(a.duration, `${at}.duration`, problems, parse),
    params,
  };
}

/** The action's time box in ms, within its tool's limits; a string when the duration expression gives no duration. */
function durationOf(action: CompiledAction, ctx: PlanContext, tools: ToolCatalogue): number | string {
  const tool = tools[action.tool]!;
  let ms = tool.limits.defaultDurationMs;
  if (action.duration) {
    const v = action.duration(ctx);
    const parsed = typeof v === 'number' ? v : typeof v === 'string' ? parseDurationMs(v) : undefined;
    if (parsed === undefined) return `duration ${JSON.stringify(v)} is not a duration`;
    ms = parsed;
  }
  if (tool.limits.maxDurationMs > 0) ms = Math.min(Math.max(ms, tool.limits.minDurationMs), tool.limits.maxDurationMs);
  return ms;
}

/** An upper bound of the action's time box before the step is reached: results it may depend on are not known yet. */
function longestBox(action: CompiledAction, ctx: PlanContext, tools: ToolCatalogue): number {
  const limits = tools[action.tool]!.limits;
  const longest = Math.max(limits.maxDurationMs, limits.defaultDurationMs);
  try {
    const ms = durationOf(action, ctx, tools);
    return typeof ms === 'number' ? ms : longest;
  } catch {
    return longest;
  }
}

function decide(action: CompiledAction, ctx: PlanContext, tools: ToolCatalogue): StepDecision {
  const tool = tools[action.tool]!;
  const ms = durationOf(action, ctx, tools);
  if (typeof ms === 'string') return { action: 'skip', reason: ms };
  const params: Record<string, unknown> = {};
  for (const [k, f] of action.params) {
    const v = f(ctx);
    if (v !== undefined && v !== null) params[k] = v;
  }
  const checked = tool.params.safeParse(params);
  if (!checked.success) {
    return { action: 'skip', reason: `parameters for ${action.tool} do not hold: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` };
  }
  return { action: 'run', tool: action.tool, title: action.title, durationMs: ms, params };
}

function unmetOf(requires: readonly Requirement[], caps: Capabilities): string | null {
  const reasons = requires.map((r) => unmetByCapabilities(r, caps)).filter((r): r is string => typeof r === 'string');
  return reasons.length ? reasons.join('; ') : null;
}

/** Why a node with `caps` cannot run the action: its own and its tool's requirements, and none of its variants. */
function unmet(action: CompiledAction, caps: Capabilities | null): string | null {
  if (!caps) return null; // unknown here: the agent checks again on the node
  const own = unmetOf(action.requires, caps);
  if (own) return own;
  if (action.variants.length === 0) return null;
  const byVariant = action.variants.map((v) => ({ name: v.name, why: unmetOf(v.requires, caps) }));
  if (byVariant.some((v) => v.why === null)) return null;
  return byVariant.map((v) => (byVariant.length > 1 ? `${v.name} variant: ${v.why}` : v.why)).join('; ');
}

function compileStep(spec: StepSpec, i: number, tools: ToolCatalogue, problems: Problems, parse: ParseMode): CompiledStep {
  const at = `steps[${i}]`;
  const main = compileAction(spec, at, tools, problems, parse);
  const fallback = spec.fallback ? compileAction(spec.fallback, `${at}.fallback`, tools, problems, parse) : null;
  const when = spec.when ? tryExpr(spec.when, `${at}.when`, problems, parse, 'bool') : null;
  const expectThat = spec.expect ? tryExpr(spec.expect.that, `${at}.expect.that`, problems, parse, 'bool') : null;
  // A skipped branch is read by people in the steps table: it must say in words why it was not needed.
  if (spec.when && !spec.notNeeded) problems.push({ path: `${at}.notNeeded`, message: 'a step with `when` says in words why it may not be needed, e.g. "no mount(2) failed"' });
  if (spec.notNeeded && !spec.when) problems.push({ path: `${at}.notNeeded`, message: 'only a step with `when` can be not needed' });
  return {
    id: spec.id,
    title: spec.title,
    tool: spec.tool,
    ...(spec.parallel ? { parallel: true } : {}),
    condition(ctx) {
      if (!when) return null;
      try {
        return when.evaluate(ctx) === true ? null : { skip: 'not-needed', reason: `not needed: ${spec.notNeeded ?? when.source}` };
      } catch (err) {
        return { skip: 'unsupported', reason: `condition could not be evaluated: ${(err as ExpressionError).message}` };
      }
    },
    plan(ctx, caps) {
      const missing = unmet(main, caps);
      if (!missing) return decide(main, ctx, tools);
      if (!fallback) return { action: 'skip', reason: missing };
      const fallbackMissing = unmet(fallback, caps);
      if (fallbackMissing) return { action: 'skip', reason: `${missing}; fallback ${fallback.tool}: ${fallbackMissing}` };
      const d = decide(fallback, ctx, tools);
      return d.action === 'run' ? { ...d, fallbackReason: missing } : d;
    },
    timeBoxMs(ctx) {
      return Math.max(longestBox(main, ctx, tools), fallback ? longestBox(fallback, ctx, tools) : 0);
    },
    judge(result, ctx) {
      if (!expectThat || !spec.expect) return null;
      let holds: unknown;
      try {
        holds = expectThat.evaluate({ ...ctx, result });
      } catch (err) {
        return `its result could not be checked (${(err as ExpressionError).message})`;
      }
      if (holds === true) return null;
      const why = (result as { emptyBecause?: unknown } | null)?.emptyBecause;
      return `${spec.expect.because}, yet the capture showed none${typeof why === 'string' && why ? `: ${why}` : ''}`;
    },
  };
}

type CompiledFinding = (input: SummaryInput, ctx: ExpressionContext) => Draft;

/** What a rule that cannot be read yields: itself worth telling, since silence would hide a playbook bug. */
const ruleFailure = (at: string, err: unknown): Finding => ({
  severity: 'warning',
  title: `playbook rule ${at} could not be evaluated`,
  detail: (err as Error).message,
  confidence: { level: 'high', reason: 'the playbook engine reported the error itself' },
  evidence: [],
});

type CompiledEvidence = (steps: SummaryInput['steps'], ctx: ExpressionContext) => Evidence[];

/** A rule's evidence entry → the artifacts, rows and fields it names for one finding (one `item`). */
function compileEvidence(spec: EvidenceSpec, at: string, stepIds: Set<string>, problems: Problems, parse: ParseMode): CompiledEvidence {
  const step = typeof spec === 'string' ? spec : spec.step;
  if (!stepIds.has(step)) problems.push({ path: typeof spec === 'string' ? at : `${at}.step`, message: `no step "${step}" in this playbook` });
  if (typeof spec === 'string') return (steps) => wholeArtifacts(steps, step);
  if (spec.where && !spec.rows) problems.push({ path: `${at}.where`, message: '`where` picks rows: give the list it picks from in `rows`' });
  if (spec.rows && spec.fields) problems.push({ path: `${at}.fields`, message: 'rows of a list or fields of the result, not both: make two entries' });
  if (!spec.rows && !spec.fields) return (steps) => wholeArtifacts(steps, step, RESULT_FILE);
  if (spec.fields) {
    const fields = spec.fields.map((f) => f.split('.'));
    return (steps) => fieldEvidence(steps, step, fields);
  }
  const list = spec.rows!.split('.');
  // One evaluation per node: the condition mapped over the node's list (`result`), so `row` is CEL's own loop variable.
  const picks = spec.where ? tryExpr(`result.${spec.rows}.map(row, (${spec.where}) == true)`, `${at}.where`, problems, parse) : null;
  return (steps, ctx) =>
    steps
      .filter((s) => s.id === step && s.status === 'succeeded')
      .flatMap((s) => {
        const keep = picks ? picks.evaluate({ ...ctx, result: s.result }) : null;
        // Rows read from a line of the raw output point at it too (oomkill's kills: evidence.ts, lineEvidence).
        return rowEvidence([s], step, list, (_, i) => (Array.isArray(keep) ? keep[i] === true : true), { lines: true });
      });
}

type CompiledConfidence = (ctx: ExpressionContext) => Confidence;

function compileConfidence(spec: ConfidenceSpec, at: string, problems: Problems, parse: ParseMode): CompiledConfidence {
  const level = typeof spec.level === 'string' ? null : tryExpr(spec.level.expr, `${at}.level.expr`, problems, parse);
  const reason = tryTemplate(spec.reason, `${at}.reason`, problems, parse);
  return (ctx) => {
    const got = level ? level.evaluate(ctx) : spec.level;
    const parsed = ConfidenceLevel.safeParse(got);
    if (!parsed.success) throw new ExpressionError(`${at}.level gave ${JSON.stringify(fromCel(got))}; expected "high", "medium" or "low"`);
    return { level: parsed.data, reason: tidy(reason?.render(ctx) ?? '') };
  };
}

function compileFinding(rule: FindingRule, i: number, stepIds: Set<string>, problems: Problems, parse: ParseMode): CompiledFinding {
  const at = `findings[${i}]`;
  if ('use' in rule) {
    if (!stepIds.has(rule.step)) problems.push({ path: `${at}.step`, message: `no step "${rule.step}" in this playbook` });
    const summarizer = SUMMARIZERS[rule.use];
    return (input) =>
      summarizer({
        steps: input.steps, stepId: rule.step, params: input.params, args: rule.with, sweeps: input.sweeps ?? [],
        ...(input.investigation.target ? { target: input.investigation.target } : {}),
      });
  }
  const evidence = rule.evidence.map((e, j) => compileEvidence(e, `${at}.evidence[${j}]`, stepIds, problems, parse));
  // A critical finding that leaves the reader without a next step is half an answer.
  if (rule.severity === 'critical' && !rule.next) problems.push({ path: `${at}.next`, message: 'a critical finding says what to do next: commands and remedy' });
  // A finding the reader cannot weigh is a guess dressed as a fact.
  if (!rule.confidence) problems.push({ path: `${at}.confidence`, message: 'a finding says how sure it is: { level: high|medium|low or { expr }, reason }' });
  // A cause must show where it was seen: the rows of a result, not only a file name.
  if (rule.severity === 'critical' && !rule.evidence.some((e) => typeof e !== 'string' && (e.rows || e.fields))) {
    problems.push({ path: `${at}.evidence`, message: 'a critical finding points at the rows or fields that support it: { step, rows, where } or { step, fields }' });
  }
  const confidence = rule.confidence ? compileConfidence(rule.confidence, `${at}.confidence`, problems, parse) : null;
  const when = tryExpr(rule.when, `${at}.when`, problems, parse, 'bool');
  const forEach = rule.forEach ? tryExpr(rule.forEach, `${at}.forEach`, problems, parse) : null;
  const title = tryTemplate(rule.title, `${at}.title`, problems, parse);
  const detail = tryTemplate(rule.detail, `${at}.detail`, problems, parse);
  const commands = (rule.next?.commands ?? []).map((c, j) => tryTemplate(c, `${at}.next.commands[${j}]`, problems, parse));
  const remedy = rule.next ? tryTemplate(rule.next.remedy, `${at}.next.remedy`, problems, parse) : null;
  return (input, ctx) => {
    try {
      if (when?.evaluate(ctx) !== true) return { headline: '', findings: [] };
      const items = forEach ? (forEach.evaluate(ctx) as unknown[]) : [undefined];
      const findings: Finding[] = (Array.isArray(items) ? items : []).map((item) => {
        const c = item === undefined ? ctx : { ...ctx, item: fromCel(item) };
        const next = rule.next
          ? { next: { commands: commands.map((t) => tidy(t?.render(c) ?? '')).filter(Boolean), remedy: tidy(remedy?.render(c) ?? '') } }
          : {};
        return {
          severity: rule.severity,
          title: tidy(title?.render(c) ?? ''),
          detail: tidy(detail?.render(c) ?? ''),
          confidence: confidence!(c),
          evidence: uniqueEvidence(evidence.flatMap((e) => e(input.steps, c))),
          ...next,
        };
      });
      return { headline: '', findings };
    } catch (err) {
      return { headline: '', findings: [ruleFailure(at, err)] };
    }
  };
}

/** Two entries naming the same artifact and rows say it once. */
function uniqueEvidence(list: Evidence[]): Evidence[] {
  const seen = new Set<string>();
  return list.filter((e) => {
    const k = JSON.stringify([e.artifact, e.rows ?? null, e.lines ?? null]);
    return seen.has(k) ? false : (seen.add(k), true);
  });
}

/** Folded YAML leaves runs of spaces where a template's optional part rendered empty; a sentence reads with one. */
const tidy = (text: string) => text.replace(/[ \t]{2,}/g, ' ').replace(/ +([,.;:)])/g, '$1').trim();

/** A playbook file's YAML → its document, or a PlaybookError naming the line. */
export function parsePlaybookText(text: string, file: string): unknown {
  try {
    return parseYaml(text, { prettyErrors: true });
  } catch (err) {
    const e = err as YAMLParseError;
    throw new PlaybookError(file, [{ path: e.linePos?.[0] ? `line ${e.linePos[0].line}` : '', message: e.message.split('\n')[0] ?? 'invalid YAML' }]);
  }
}

/**
 * YAML text → a runnable playbook, or a PlaybookError listing every problem with its path.
 *
 * `prebuilt`: the document `text` parses to, when the build compiled it already (prebuilt-documents.ts): parsing YAML
 * and CEL is most of compiling a playbook in a process that just started. Its expressions are parsed when first
 * evaluated; everything else is checked as for any file.
 */
export function compilePlaybook(text: string, file: string, tools: ToolCatalogue, prebuilt?: { document: unknown }): Playbook {
  if (prebuilt) return compilePlaybookDocument(prebuilt.document, file, tools, { parse: 'on-first-use' });
  return compilePlaybookDocument(parsePlaybookText(text, file), file, tools);
}

/**
 * A playbook file's parsed document → a runnable playbook, every problem checked. `parse`: when its expressions are
 * parsed, 'now' unless the build compiled this very document already (expressions.ts, ParseMode).
 */
export function compilePlaybookDocument(raw: unknown, file: string, tools: ToolCatalogue, { parse = 'now' }: { parse?: ParseMode } = {}): Playbook {
  const doc = PlaybookDoc.safeParse(raw);
  if (!doc.success) throw new PlaybookError(file, doc.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  const d = doc.data;
  const problems: Problems = [];

  const shape: Record<string, z.ZodType> = {};
  for (const [name, spec] of Object.entries(d.params)) {
    checkParamSpec(name, spec, problems);
    if (!problems.length) shape[name] = paramSchema(spec);
  }
  const vocabulary = compileVocabulary(d.routing, d.symptoms, problems);
  const ids = new Set<string>();
  d.steps.forEach((s, i) => {
    if (ids.has(s.id)) problems.push({ path: `steps[${i}].id`, message: `duplicate step id "${s.id}"` });
    ids.add(s.id);
  });
  const steps = d.steps.map((s, i) => compileStep(s, i, tools, problems, parse));
  // Steps dispatched at once cannot wait for each other's results.
  if (d.parallel) {
    d.steps.forEach((s, i) => {
      if (s.when) problems.push({ path: `steps[${i}].when`, message: 'a parallel playbook runs every step at once: no step may depend on another' });
      const computed = JSON.stringify([s.duration, s.params, s.fallback?.duration, s.fallback?.params]);
      if (/\bsteps\./.test(computed)) problems.push({ path: `steps[${i}]`, message: 'a parallel playbook runs every step at once: durations and parameters cannot read `steps`' });
    });
  }
  // A step marked parallel goes with the steps before it: it cannot wait for theirs either.
  problems.push(...parallelStepProblems(d.steps));
  const findings = d.findings.map((f, i) => compileFinding(f, i, ids, problems, parse));
  const headlines = d.headline.map((h, i) => ({
    when: tryExpr(h.when, `headline[${i}].when`, problems, parse, 'bool'),
    text: tryTemplate(h.text, `headline[${i}].text`, problems, parse),
  }));
  if (problems.length) throw new PlaybookError(file, problems);

  return {
    name: d.name,
    title: d.title,
    description: d.description,
    vocabulary,
    fleetWide: d.fleetWide,
    params: z.object(shape).strict() as unknown as z.ZodType<Record<string, unknown>>,
    steps,
    source: file,
    parallel: d.parallel,
    comparesWithSweeps: d.findings.some((f) => 'use' in f && f.use === 'triage'),
    summarize(input) {
      const ctx = planContext(input.params, input.investigation.target ?? {}, input.steps);
      const parts = findings.map((f) => f(input, ctx));
      const problems = stepProblems(input.steps);
      // Stable: within a severity, the playbook's order (the cause before its context).
      // What a capture cost is about the capture, not the target: a finding, never the headline.
      const costs = overBudgetFindings(input.steps);
      const all = [...parts.flatMap((p) => p.findings), ...problems.findings, ...costs].sort(bySeverity);
      const nextPlaybook = parts.find((p) => p.nextPlaybook)?.nextPlaybook;
      const done = (headline: string): Summary => ({ headline, findings: all, notes: problems.notes, ...(nextPlaybook ? { nextPlaybook } : {}) });
      for (const h of headlines) {
        try {
          if (h.when?.evaluate(ctx) === true && h.text) return done(tidy(h.text.render(ctx)));
        } catch {
          // a headline whose data is missing simply does not apply
        }
      }
      const fromSummarizer = parts.find((p) => p.headline)?.headline;
      return done(fromSummarizer ?? all.find((f) => !costs.includes(f))?.title ?? 'No findings');
    },
  };
}

