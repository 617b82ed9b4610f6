import { describe, it, expect } from 'vitest';
import { getTool } from '../../index.ts';
import { funcgraph, FuncgraphParams } from './manifest.ts';
import { parseFuncgraph, parseGraphLine, parseRet, type ParseOptions } from './parser.ts';
import { FuncgraphResult, type FuncgraphCall } from './result.ts';
import { toolFixture } from '../../../test/helpers/recordings.ts';

const fixture = (name: string): string => toolFixture('funcgraph', name);

const parse = (text: string, opts: Partial<ParseOptions> = {}) => {
  const result = parseFuncgraph(text, { function: 'f', depth: 10, ...opts });
  // Every result must satisfy the schema the agent stores it under.
  expect(FuncgraphResult.parse(result)).toEqual(result);
  return result;
};

/** A call node with no return value or caller fields, for compact expectations. */
const call = (name: string, durationUs: number | null, children: FuncgraphCall[] = []): FuncgraphCall => ({
  name,
  durationUs,
  children,
});
const leaf = (name: string, durationUs: number) => call(name, durationUs);
const nodes = (c: FuncgraphCall): number => 1 + c.children.reduce((sum, child) => sum + nodes(child), 0);
const names = (c: FuncgraphCall | undefined) => c?.children.map((x) => `${x.name} ${x.durationUs}`);

describe('funcgraph parser on recorded output', () => {
  it('graphs two complete calls with their durations and overhead marks (ftrace.rst, set_graph_function __do_fault)', () => {
    const result = parse(fixture('ftrace-rst-do_fault.txt'), { function: '__do_fault', graphFunction: true });
    const faultCall = (total: number, filemap: number, lock: number, findGet: number, sleep: number, spin: [number, number, number, number], unlock: [number, number, number]) => ({
      ...call('__do_fault', total, [
        call('filemap_fault', filemap, [call('find_lock_page', lock, [leaf('find_get_page', findGet), call('__might_sleep', sleep)])]),
        leaf('_spin_lock', spin[0]),
        leaf('page_add_file_rmap', spin[1]),
        leaf('native_set_pte_at', spin[2]),
        leaf('_spin_unlock', spin[3]),
        call('unlock_page', unlock[0], [leaf('page_waitqueue', unlock[1]), leaf('__wake_up_bit', unlock[2])]),
      ]),
      cpu: 0,
    });
    expect(result).toEqual({
      function: '__do_fault',
      depth: 10,
      calls: [
        faultCall(14.237, 4.979, 3.904, 0.804, 1.329, [0.653, 0.578, 0.525, 0.585], [2.786, 0.541, 0.639]),
        faultCall(14.012, 5.098, 3.95, 0.698, 1.412, [0.631, 0.571, 0.526, 0.586], [2.793, 0.533, 0.638]),
      ],
      totalCalls: 2,
      maxDurationUs: 14.237,
      omittedCalls: 0,
      errors: [],
      lostEvents: 0,
      truncated: false,
      unparsedLines: 0,
    });
  });

  it('follows a context switch: the banner names the task switched out, and the next task gets its own stack (perf-tools do_nanosleep)', () => {
    const result = parse(fixture('perf-tools-do_nanosleep.txt'), { function: 'do_nanosleep', graphFunction: true });
    expect(result.totalCalls).toBe(2);
    expect(result.unparsedLines).toBe(0);
    expect(result.maxDurationUs).toBeNull(); // neither call returned within the excerpt
    const [first, second] = result.calls;
    expect(first).toMatchObject({ name: 'do_nanosleep', durationUs: null, pid: 3210, comm: 'platfor', cpu: 0 });
    expect(second).toMatchObject({ name: 'do_nanosleep', durationUs: null, pid: 2854, comm: 'vmstat', cpu: 0 });
    expect(first && nodes(first)).toBe(77);
    expect(second && nodes(second)).toBe(9);
    expect(names(first)).toEqual(['hrtimer_start_range_ns 3.998', 'schedule null']);
    // The task was switched out inside __schedule: everything up to the switch is there, the returns are not.
    const schedule = first?.children[1]?.children[0];
    expect(schedule?.name).toBe('__schedule');
    expect(names(schedule)).toEqual([
      'rcu_note_context_switch 0.05',
      '_raw_spin_lock_irq 0.055',
      'deactivate_task 6.228',
      'put_prev_task_fair 1.367',
      'pick_next_task_fair 3.879',
      'paravirt_start_context_switch 0.057',
      'xen_load_sp0 1.441',
      'xen_load_tls 6.63',
      'xen_end_context_switch 1.286',
      'xen_write_msr_safe 0.172',
    ]);
    // "} /* load_TLS_descriptor */" (funcgraph-tail) closes the call it names.
    expect(names(schedule?.children[7])).toEqual([
      'paravirt_get_lazy_mode 0.049',
      'paravirt_get_lazy_mode 0.051',
      'load_TLS_descriptor 1.744',
      'load_TLS_descriptor 1.583',
      'load_TLS_descriptor 1.586',
      'paravirt_get_lazy_mode 0.052',
    ]);
    expect(second?.children).toEqual([
      call('hrtimer_start_range_ns', 4.523, [
        call('__hrtimer_start_range_ns', 4.05, [
          call('lock_hrtimer_base.isra.24', 0.831, [leaf('_raw_spin_lock_irqsave', 0.217)]),
          leaf('idle_cpu', 0.066),
          leaf('ktime_get', 0.123),
          leaf('enqueue_hrtimer', 1.172),
          leaf('_raw_spin_unlock_irqrestore', 0.089),
        ]),
      ]),
    ]);
  });

  it('rebuilds a call that began before the capture from the names on its returns (perf-tools -Htp vfs_read, abstime column)', () => {
    const result = parse(fixture('perf-tools-vfs_read-pid.txt'), { function: 'vfs_read', graphFunction: true });
    expect(result).toMatchObject({ totalCalls: 2, maxDurationUs: 19354058, unparsedLines: 0, omittedCalls: 0 });
    const [first, second] = result.calls;
    expect(first && nodes(first)).toBe(137);
    expect(first).toMatchObject({ name: 'vfs_read', durationUs: 19354058, cpu: 0 });
    expect(names(first)).toEqual(['tty_read 19354052', '__fsnotify_parent 0.352', 'fsnotify 0.178']);
    const ttyRead = first?.children[0];
    expect(names(ttyRead)).toEqual(['n_tty_read 19354047', 'tty_ldisc_deref 0.554', 'get_seconds 0.074']);
    const nTtyRead = ttyRead?.children[0];
    expect(names(nTtyRead)).toEqual([
      'schedule_timeout 19354027',
      'down_read 0.121',
      'copy_from_read_buf 4.183',
      'copy_from_read_buf 0.084',
      'n_tty_set_room 0.078',
      'n_tty_write_wakeup 0.082',
      '__wake_up 2.463',
      'n_tty_set_room 0.071',
      'up_read 0.082',
      'remove_wait_queue 1.239',
      'mutex_unlock 0.142',
    ]);
    const schedule = nTtyRead?.children[0]?.children[0];
    expect(schedule?.name).toBe('schedule');
    expect(names(schedule)).toEqual(['__schedule 19354026']);
    expect(names(schedule?.children[0])).toEqual(['finish_task_switch 54.448']);
    expect(names(schedule?.children[0]?.children[0])).toEqual(['xen_evtchn_do_upcall 40.563', '__mmdrop 11.433']);

    // A return whose entry is missing inside a known call ("} /* ldsem_down_read */") becomes a child there.
    expect(second).toEqual({
      ...call('vfs_read', null, [
        call('rw_verify_area', 3.337, [
          call('security_file_permission', 2.662, [
            call('apparmor_file_permission', 0.778, [leaf('common_file_perm', 0.183)]),
            leaf('__fsnotify_parent', 0.081),
            leaf('fsnotify', 0.104),
          ]),
        ]),
        call('tty_read', null, [leaf('tty_paranoia_check', 0.067), call('tty_ldisc_ref_wait', 0.637, [leaf('ldsem_down_read', 0.08)])]),
      ]),
      cpu: 0,
    });
  });

  it('names orphan returns from their tails and reads every overhead mark (ftrace.rst, CPU 3)', () => {
    const result = parse(fixture('ftrace-rst-overhead-cpu3.txt'));
    expect(result.calls).toEqual([
      {
        ...call('schedule_preempt_disabled', 33998.59, [
          call('schedule', 2034.948, [
            call('__schedule', 140.417, [
              call('__schedule', 1889.063, [
                leaf('__switch_to', 1837.709),
                call('finish_task_switch', 3.177, [leaf('_raw_spin_unlock_irq', 0.313)]),
              ]),
            ]),
          ]),
        ]),
        cpu: 3,
      },
    ]);
    expect(result.maxDurationUs).toBe(33998.59);
  });

  it('keeps unnamed orphan returns as (unknown), or as the graph function at depth 0 (ftrace.rst, CPU 1)', () => {
    const text = fixture('ftrace-rst-overhead-cpu1.txt');
    const tree = (rootName: string) => [
      {
        ...call(rootName, 119760.2, [
          call('(unknown)', 457.395, [
            call('(unknown)', 227.812, [
              call('(unknown)', 217.24, [
                call('(unknown)', 64.479, [call('(unknown)', 61.77, [leaf('msecs_to_jiffies', 0.26), leaf('__rcu_read_unlock', 0.313)])]),
                leaf('rcu_bh_qs', 0.313),
                leaf('__local_bh_enable', 0.313),
              ]),
              leaf('idle_cpu', 0.365),
              call('rcu_irq_exit', 3.125, [leaf('rcu_eqs_enter_common.isra.47', 0.417)]),
            ]),
          ]),
        ]),
        cpu: 1,
      },
    ];
    expect(parse(text).calls).toEqual(tree('(unknown)'));
    expect(parse(text, { function: 'irq_exit', graphFunction: true }).calls).toEqual(tree('irq_exit'));
  });

  it('keeps one stack per CPU when CPUs interleave (ftrace.rst, CPUs 1 and 2)', () => {
    const result = parse(fixture('ftrace-rst-interleaved.txt'));
    const unknown = (children: FuncgraphCall[]) => call('(unknown)', null, children);
    expect(result.calls).toEqual([
      { ...call('(unknown)', 3594274, [call('handle_IPI', 3.49, [leaf('scheduler_ipi', 0.417)])]), cpu: 2 },
      {
        ...unknown([
          unknown([
            unknown([
              unknown([
                call('(unknown)', 18.542, [
                  call('(unknown)', 15.729, [call('(unknown)', 12.917, [call('(unknown)', 9.791, [leaf('(unknown)', 6.979)])])]),
                ]),
              ]),
            ]),
          ]),
        ]),
        cpu: 1,
      },
    ]);
    expect(result.totalCalls).toBe(2);
    expect(result.maxDurationUs).toBe(3594274);
  });

  it('reads the comm-pid column (ftrace.rst, funcgraph-proc)', () => {
    const result = parse(fixture('ftrace-rst-proc.txt'));
    expect(result.unparsedLines).toBe(0);
    expect(result.calls).toHaveLength(1);
    let node = result.calls[0];
    expect(node).toMatchObject({ name: '(unknown)', pid: 4802, comm: 'sh', cpu: 0 });
    for (let depth = 0; depth < 7; depth++) node = node?.children[0];
    expect(node).toEqual(
      call('(unknown)', 49.37, [
        call('d_free', 5.151, [
          call('call_rcu', 4.04, [
            call('__call_rcu', 2.899, [leaf('rcu_process_gp_end', 0.616), leaf('check_for_new_grace_period', 0.586)]),
          ]),
        ]),
      ]),
    );
  });

  it('accepts the older "} /* name() */" tails (ftrace.rst, funcgraph-tail)', () => {
    const result = parse(fixture('ftrace-rst-tail.txt'));
    expect(result.calls[0]?.children[0]?.children).toEqual([
      call('putname', 2.861, [call('kmem_cache_free', 1.757, [leaf('__phys_addr', 0.518)])]),
    ]);
  });

  it('reads return values: errors as numbers with their errno name, pointers as text (ftrace.rst, funcgraph-retval)', () => {
    const result = parse(fixture('ftrace-rst-retval.txt'));
    expect(result.calls[0]?.children).toEqual([
      {
        ...call('cgroup_migrate', 7.143, [
          { ...leaf('cgroup_migrate_add_task', 0.651), ret: '0xffff93fcfd346c00' },
          {
            ...call('cgroup_migrate_execute', 4.369, [
              {
                ...call('cpu_cgroup_can_attach', 2.335, [
                  {
                    ...call('cgroup_taskset_first', 1.232, [{ ...leaf('cgroup_taskset_next', 0.732), ret: '0xffff93fc8fb20000' }]),
                    ret: '0xffff93fc8fb20000',
                  },
                  { ...leaf('sched_rt_can_attach', 0.38), ret: 0 },
                ]),
                ret: -22,
                errno: 'EINVAL',
              },
            ]),
            ret: -22,
            errno: 'EINVAL',
          },
        ]),
        ret: -22,
        errno: 'EINVAL',
      },
    ]);
    expect(result.errors).toEqual([
      { function: 'cgroup_migrate', errno: 'EINVAL', count: 1 },
      { function: 'cgroup_migrate_execute', errno: 'EINVAL', count: 1 },
      { function: 'cpu_cgroup_can_attach', errno: 'EINVAL', count: 1 },
    ]);
  });

  it('cannot tell errors in funcgraph-retval-hex output (which the tool therefore turns off)', () => {
    const result = parse(fixture('ftrace-rst-retval-hex.txt'));
    const migrate = result.calls[0]?.children[0]?.children[0];
    expect(migrate).toMatchObject({ name: 'cgroup_migrate', durationUs: 7.143, ret: 0xffffffea });
    expect(migrate?.errno).toBeUndefined();
    expect(result.errors).toEqual([]);
  });

  it('skips trace_printk comments inside the graph (ftrace.rst)', () => {
    const result = parse(fixture('ftrace-rst-comment.txt'));
    expect(result.unparsedLines).toBe(0);
    let node = result.calls[0];
    for (let depth = 0; depth < 5; depth++) node = node?.children[0];
    expect(node).toEqual(leaf('__might_sleep', 1.449));
  });

  it('leaves calls still running at the end without a duration, headers skipped (ftrace.rst sys_open)', () => {
    const result = parse(fixture('ftrace-rst-sys_open.txt'), { function: 'sys_open' });
    expect(result).toMatchObject({ totalCalls: 1, maxDurationUs: null, unparsedLines: 0 });
    expect(result.calls[0]).toEqual({
      ...call('sys_open', null, [
        call('do_sys_open', null, [
          call('getname', 7.876, [
            call('kmem_cache_alloc', 2.478, [leaf('__might_sleep', 1.382)]),
            call('strncpy_from_user', 3.807, [call('might_fault', 2.553, [leaf('__might_sleep', 1.389)])]),
          ]),
          call('alloc_fd', null, [leaf('_spin_lock', 0.668), leaf('expand_files', 0.57), leaf('_spin_unlock', 0.586)]),
        ]),
      ]),
      cpu: 0,
    });
  });
});

describe('funcgraph line classification', () => {
  it('reads entries, leaves and returns with every optional column', () => {
    expect(parseGraphLine(' 0)               |  path_mount() {')).toEqual({ kind: 'entry', cpu: 0, depth: 0, name: 'path_mount' });
    expect(parseGraphLine(' 0)   0.215 us    |    security_sb_mount();')).toEqual({
      kind: 'leaf', cpu: 0, depth: 1, name: 'security_sb_mount', durationUs: 0.215,
    });
    expect(parseGraphLine(' 0) + 12.345 us   |  }')).toEqual({ kind: 'exit', cpu: 0, depth: 0, durationUs: 12.345 });
    expect(parseGraphLine(' 0) + 12.345 us   |  } /* path_mount */')).toMatchObject({ kind: 'exit', name: 'path_mount' });
    expect(parseGraphLine(' 0) + 12.345 us   |  } /* path_mount = -28 */')).toMatchObject({ kind: 'exit', name: 'path_mount', ret: '-28' });
    expect(parseGraphLine(' 1)   0.380 us    |    sched_rt_can_attach(); /* = 0x0 */')).toMatchObject({ kind: 'leaf', ret: '0x0' });
    expect(parseGraphLine(' 3) ! 140.417 us  |      } /* __schedule */')).toMatchObject({ depth: 2, durationUs: 140.417 });
    expect(parseGraphLine(' 2) $ 3594274 us  |  }')).toMatchObject({ durationUs: 3594274 });
    expect(parseGraphLine('12) @ 119760.2 us |  }')).toMatchObject({ cpu: 12, durationUs: 119760.2 });
    expect(parseGraphLine(' 0)   mount-311    |               |  path_mount() {')).toEqual({
      kind: 'entry', cpu: 0, depth: 0, name: 'path_mount', task: { comm: 'mount', pid: 311 },
    });
    expect(parseGraphLine(' 1)   <...>-1204   | # 1837.709 us |  } /* x */')).toMatchObject({
      task: { comm: '<...>', pid: 1204 }, durationUs: 1837.709,
    });
    expect(parseGraphLine('7238523.638085 |   0)   19354058 us |  } /* vfs_read */')).toMatchObject({ kind: 'exit', name: 'vfs_read', durationUs: 19354058 });
  });

  it('keeps module suffixes and argument lists out of the way of the name', () => {
    expect(parseGraphLine(' 34)               |    vmx_handle_exit [kvm_intel]() {')).toMatchObject({ kind: 'entry', name: 'vmx_handle_exit [kvm_intel]' });
    expect(parseGraphLine(' 34) ! 105.641 us  |      } /* handle_external_interrupt_irqoff [kvm_intel] */')).toMatchObject({
      kind: 'exit', name: 'handle_external_interrupt_irqoff [kvm_intel]',
    });
    expect(parseGraphLine(' 1)               |  do_sys_openat2(dfd=-100, filename=0x7ffd5c1f1e30, how=0xffffb0c2) {')).toMatchObject({
      kind: 'entry', name: 'do_sys_openat2',
    });
  });

  it('recognises markers and noise', () => {
    expect(parseGraphLine(' 0)   ==========> |')).toEqual({ kind: 'irq', cpu: 0, enter: true });
    expect(parseGraphLine(' 0)   <========== |')).toEqual({ kind: 'irq', cpu: 0, enter: false });
    expect(parseGraphLine(' 0)    sh-4802     |   ==========> |')).toMatchObject({ kind: 'irq', task: { comm: 'sh', pid: 4802 } });
    expect(parseGraphLine(' 0)  platfor-3210  =>  vmstat-2854  ')).toEqual({
      kind: 'switch', cpu: 0, prev: { comm: 'platfor', pid: 3210 }, next: { comm: 'vmstat', pid: 2854 },
    });
    expect(parseGraphLine('  2)    <idle>-0    =>  <...>-122943')).toMatchObject({ prev: { comm: '<idle>', pid: 0 }, next: { comm: '<...>', pid: 122943 } });
    expect(parseGraphLine('CPU:2 [LOST 11745 EVENTS]')).toEqual({ kind: 'lost', cpu: 2, count: 11745 });
    expect(parseGraphLine(' ------------------------------------------')).toEqual({ kind: 'blank' });
    expect(parseGraphLine('# tracer: function_graph')).toEqual({ kind: 'blank' });
    expect(parseGraphLine('##### CPU 3 buffer started ####')).toEqual({ kind: 'blank' });
    expect(parseGraphLine(' 0)               |  /* sys_sendmsg -> 0x34 */')).toEqual({ kind: 'comment', cpu: 0 });
    expect(parseGraphLine('[...]')).toBeNull();
    expect(parseGraphLine(` 0)   1.000 us    |${' '.repeat(2_000)}f();`)).toBeNull(); // deeper than any return stack
    expect(parseGraphLine(' 0)  something else entirely')).toBeNull();
  });

  it('reads return values', () => {
    expect(parseRet('-28')).toEqual({ ret: -28, errno: 'ENOSPC' });
    expect(parseRet('-512')).toEqual({ ret: -512, errno: 'ERESTARTSYS' });
    expect(parseRet('0x0')).toEqual({ ret: 0 });
    expect(parseRet('0xffffffea')).toEqual({ ret: 4294967274 });
    expect(parseRet('0x1fffffffffffff')).toEqual({ ret: Number.MAX_SAFE_INTEGER });
    expect(parseRet('0xFFFF93FCFD346C00')).toEqual({ ret: '0xffff93fcfd346c00' });
    expect(parseRet('-5000')).toEqual({ ret: -5000 }); // outside the errno range
    expect(parseRet('banana')).toBeUndefined();
  });
});

describe('funcgraph trees from hand-written traces', () => {
  it('keeps a sleeping task’s calls apart from the task that ran meanwhile (banners, no comm-pid column)', () => {
    const text = [
      ' 0)               |  f() {',
      ' 0)               |    g() {',
      ' ------------------------------------------',
      ' 0)     a-10      =>     b-20    ',
      ' ------------------------------------------',
      '',
      ' 0)               |  f() {',
      ' 0)   1.000 us    |    h();',
      ' 0)   2.000 us    |  }',
      ' ------------------------------------------',
      ' 0)     b-20      =>     a-10    ',
      ' ------------------------------------------',
      '',
      ' 0) ! 500.000 us  |    }',
      ' 0) ! 502.000 us  |  }',
    ].join('\n');
    const result = parse(text, { function: 'f' });
    expect(result.calls).toEqual([
      { ...call('f', 502, [call('g', 500)]), pid: 10, comm: 'a', cpu: 0 },
      { ...call('f', 2, [leaf('h', 1)]), pid: 20, comm: 'b', cpu: 0 },
    ]);
  });

  it('follows a task that resumes on another CPU (comm-pid column)', () => {
    const text = [
      ' 0)    cat-100     |               |  f() {',
      ' 1)    sh-200      |   0.500 us    |  f();',
      ' 1)    cat-100     |   3.000 us    |    g();',
      ' 1)    cat-100     | + 20.000 us   |  } /* f = -28 */',
    ].join('\n');
    const result = parse(text);
    expect(result.calls).toEqual([
      { ...call('f', 20, [leaf('g', 3)]), ret: -28, errno: 'ENOSPC', pid: 100, comm: 'cat', cpu: 0 },
      { ...leaf('f', 0.5), pid: 200, comm: 'sh', cpu: 1 },
    ]);
    expect(result.errors).toEqual([{ function: 'f', errno: 'ENOSPC', count: 1 }]);
  });

  it('skips interrupt markers and counts lost events; a return that was lost leaves its call open', () => {
    const text = [
      ' 0)               |  f() {',
      ' 0)               |    g() {',
      ' 0)   ==========> |',
      ' 0)               |      smp_apic_timer_interrupt() {',
      ' 0)   1.000 us    |        irq_enter();',
      ' 0)   4.000 us    |      }',
      ' 0)   <========== |',
      'CPU:0 [LOST 42 EVENTS]',
      ' 0)   0.100 us    |    h();',
      ' 0) + 30.000 us   |  }',
    ].join('\n');
    const result = parse(text);
    expect(result.calls).toEqual([
      { ...call('f', 30, [call('g', null, [call('smp_apic_timer_interrupt', 4, [leaf('irq_enter', 1)])]), leaf('h', 0.1)]), cpu: 0 },
    ]);
    expect(result.lostEvents).toBe(42);
    expect(result.unparsedLines).toBe(0);
  });

  it('keeps the calls with errors, then the slowest, within maxCalls; in the order they ran', () => {
    const text = [
      ' 0)   1.000 us    |  f(); /* = 0x0 */',
      ' 0)   9.000 us    |  f(); /* = 0x0 */',
      ' 0)               |  f() {',
      ' 0)   0.100 us    |    g(); /* = -13 */',
      ' 0)   0.300 us    |  } /* f = 0x0 */',
      ' 0)   5.000 us    |  f(); /* = 0x0 */',
    ].join('\n');
    const result = parse(text, { maxCalls: 2 });
    expect(result.calls.map((c) => c.durationUs)).toEqual([9, 0.3]);
    expect(result).toMatchObject({ totalCalls: 4, omittedCalls: 2, maxDurationUs: 9 });
    expect(result.errors).toEqual([{ function: 'g', errno: 'EACCES', count: 1 }]);
  });

  it('prunes big graphs to maxNodes and says how much was left out', () => {
    const children = Array.from({ length: 10 }, (_, i) => ` 0)   0.100 us    |    c${i}();`);
    const text = [' 0)               |  f() {', ...children, ' 0)   5.000 us    |  }', ' 0)   1.000 us    |  f();'].join('\n');
    const result = parse(text, { maxNodes: 4 });
    expect(result.calls).toEqual([{ ...call('f', 5, [leaf('c0', 0.1), leaf('c1', 0.1), leaf('c2', 0.1)]), omittedDescendants: 7, cpu: 0 }]);
    expect(result).toMatchObject({ totalCalls: 2, omittedCalls: 1 });
  });

  it('counts lines it does not understand', () => {
    expect(parse('hello\n 0)   1.000 us    |  f();\n[...]\n').unparsedLines).toBe(2);
    expect(parse('')).toMatchObject({ calls: [], totalCalls: 0, maxDurationUs: null, unparsedLines: 0 });
  });
});

describe('funcgraph manifest', () => {
  it('validates parameters strictly', () => {
    expect(FuncgraphParams.parse({ function: 'path_mount' })).toEqual({ function: 'path_mount', depth: 3 });
    expect(FuncgraphParams.parse({ function: 'lock_hrtimer_base.isra.24', depth: 10 }).depth).toBe(10);
    for (const bad of ['vfs_read;reboot', 'vfs_read ', '*read*', '../../../test/x', '1abc', '', 'a'.repeat(129), 'vfs_read:mod:ext4', '!vfs_read']) {
      expect(FuncgraphParams.safeParse({ function: bad }).success, bad).toBe(false);
    }
    expect(FuncgraphParams.safeParse({ function: 'a'.repeat(128) }).success).toBe(true);
    expect(FuncgraphParams.safeParse({ function: 'f', depth: 0 }).success).toBe(false);
    expect(FuncgraphParams.safeParse({ function: 'f', depth: 11 }).success).toBe(false);
    expect(FuncgraphParams.safeParse({ function: 'f', depth: 2.5 }).success).toBe(false);
    expect(FuncgraphParams.safeParse({ function: 'f', pid: 1 }).success).toBe(false);
  });

  it('declares a native tool that needs the function_graph tracer, and takes a list of functions to show', () => {
    expect(funcgraph.kind).toBe('native');
    expect(funcgraph.params.parse({ function: 'path_mount', functions: ['graft_tree', 'count_mounts'] })).toEqual({
      function: 'path_mount', depth: 3, functions: ['graft_tree', 'count_mounts'],
    });
    // Names only: set_ftrace_filter also takes globs and commands (`mod:`, `:traceoff`), which the pattern refuses.
    for (const bad of ['*', 'vfs_*', 'schedule:traceoff', '!vfs_read', 'a b']) expect(funcgraph.params.safeParse({ function: 'path_mount', functions: [bad] }).success).toBe(false);
    expect(funcgraph.params.safeParse({ function: 'path_mount', functions: [] }).success).toBe(false);
    // Its one variant: the tracer through tracefs.
    expect(funcgraph.requires).toEqual([]);
    expect(funcgraph.variants).toEqual([expect.objectContaining({ name: 'tracefs', requires: [{ kind: 'tracer', name: 'function_graph' }] })]);
    expect(funcgraph.limits).toEqual({
      minDurationMs: 1_000, maxDurationMs: 30_000, defaultDurationMs: 5_000, maxOutputBytes: 32 * 1024 * 1024, stopGraceMs: 2_000,
    });
    // The agent finds tools by name in bpf/index.ts: a manifest not registered there could never run.
    expect(getTool('funcgraph')).toBe(funcgraph);
  });
});
