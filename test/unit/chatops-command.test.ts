import { describe, expect, it } from 'vitest';
import { ChatCommand, MAX_COMMAND_LENGTH, parseChatCommand } from '../../src/chatops/command.ts';
import { helpText, USAGE } from '../../src/chatops/help.ts';
import { escapeMrkdwn, truncateText, unescapeSlackText } from '../../src/chatops/mrkdwn.ts';

const known = { playbooks: ['enospc', 'cpu-profile', 'health-sweep', 'tcp-retrans'] };
const ID = 'inv_01j9z3k4m5n6p7q8r9s0t1v2w3';

describe('parseChatCommand', () => {
  it.each<[string, ChatCommand]>([
    ['', { kind: 'help' }],
    ['   ', { kind: 'help' }],
    ['help', { kind: 'help' }],
    ['HELP', { kind: 'help' }],
    ['?', { kind: 'help' }],
    ['help status', { kind: 'help', topic: 'status' }],
    ['help profile', { kind: 'help', topic: 'profile' }],
    [`status ${ID}`, { kind: 'status', id: ID }],
    [`  Status   ${ID} `, { kind: 'status', id: ID }],
    [`cancel ${ID}`, { kind: 'cancel', id: ID }],
    ['sweeps', { kind: 'sweeps' }],
    [
      'enospc pod=shop/cart-7d9f for=30s',
      { kind: 'investigate', playbook: 'enospc', target: { pod: 'shop/cart-7d9f' }, params: { duration: '30s' } },
    ],
    [
      'profile node=node-17 for=30s hz=99',
      { kind: 'investigate', playbook: 'cpu-profile', target: { node: 'node-17' }, params: { duration: '30s', hz: 99 } },
    ],
    [
      'mount fails with ENOSPC pod=shop/cart-7d9f',
      { kind: 'investigate', symptom: 'mount fails with ENOSPC', target: { pod: 'shop/cart-7d9f' }, params: {} },
    ],
    [
      'pod=shop/cart-7d9f   mount   fails',
      { kind: 'investigate', symptom: 'mount fails', target: { pod: 'shop/cart-7d9f' }, params: {} },
    ],
    [
      'node=node-17 enospc',
      { kind: 'investigate', playbook: 'enospc', target: { node: 'node-17' }, params: {} },
    ],
    [
      'Enospc pod=shop/cart-7d9f',
      { kind: 'investigate', playbook: 'enospc', target: { pod: 'shop/cart-7d9f' }, params: {} },
    ],
    [
      'enospc since the deploy pod=shop/cart-7d9f',
      { kind: 'investigate', playbook: 'enospc', symptom: 'since the deploy', target: { pod: 'shop/cart-7d9f' }, params: {} },
    ],
    ['health-sweep', { kind: 'investigate', playbook: 'health-sweep', target: {}, params: {} }],
    [
      'tcp-retrans ns=shop selector="app=cart,tier=web" duration=5 verbose=true all=false',
      {
        kind: 'investigate',
        playbook: 'tcp-retrans',
        target: { namespace: 'shop', labelSelector: 'app=cart,tier=web' },
        params: { duration: 5, verbose: true, all: false },
      },
    ],
    [
      'enospc namespace=shop labelSelector="app = cart" cgroup=/kubepods/pod1/ctr1 pid=4242',
      {
        kind: 'investigate',
        playbook: 'enospc',
        target: { namespace: 'shop', labelSelector: 'app = cart', cgroup: '/kubepods/pod1/ctr1', pid: 4242 },
        params: {},
      },
    ],
    // A pid that is not digits stays a string: the Target schema rejects it by name.
    ['enospc pid=abc', { kind: 'investigate', playbook: 'enospc', target: { pid: 'abc' }, params: {} }],
    ['enospc Pod=shop/a NS=shop', { kind: 'investigate', playbook: 'enospc', target: { pod: 'shop/a', namespace: 'shop' }, params: {} }],
    // Unknown keys keep their spelling; "1.5" is not all digits, "007" is.
    ['profile node=n1 rate=1.5 Mode=fast count=007', { kind: 'investigate', playbook: 'cpu-profile', target: { node: 'n1' }, params: { rate: '1.5', Mode: 'fast', count: 7 } }],
    // macOS and Slack turn straight quotes into curly ones.
    ['enospc ns=shop selector=\u201capp=cart,tier=web\u201d', { kind: 'investigate', playbook: 'enospc', target: { namespace: 'shop', labelSelector: 'app=cart,tier=web' }, params: {} }],
    ['"disk is full" node=n1', { kind: 'investigate', symptom: 'disk is full', target: { node: 'n1' }, params: {} }],
  ])('%j', (text, expected) => {
    const parsed = parseChatCommand(text, known);
    expect(parsed).toEqual(expected);
    expect(ChatCommand.parse(parsed)).toEqual(parsed);
  });

  it('undoes Slack escaping and link wrapping before anything else', () => {
    expect(parseChatCommand('enospc node=<http://node-17.example.com|node-17.example.com> note=a&amp;b&lt;c&gt;', known)).toEqual({
      kind: 'investigate',
      playbook: 'enospc',
      target: { node: 'node-17.example.com' },
      params: { note: 'a&b<c>' },
    });
    expect(parseChatCommand('why &lt;slow&gt; node=<http://n1.example>', known)).toEqual({
      kind: 'investigate',
      symptom: 'why <slow>',
      target: { node: 'http://n1.example' },
      params: {},
    });
  });

  it('uses the deployment\'s aliases on top of the default ones', () => {
    const k = { ...known, aliases: { disk: 'enospc', profile: 'cpu-profile' } };
    expect(parseChatCommand('disk node=n1', k)).toMatchObject({ kind: 'investigate', playbook: 'enospc' });
    expect(parseChatCommand('profile node=n1', k)).toMatchObject({ kind: 'investigate', playbook: 'cpu-profile' });
    expect(parseChatCommand('disk node=n1', known)).toMatchObject({ kind: 'investigate', symptom: 'disk' });
  });

  it('does not take prototype names for aliases or playbooks', () => {
    expect(parseChatCommand('constructor node=n1', known)).toEqual({ kind: 'investigate', symptom: 'constructor', target: { node: 'n1' }, params: {} });
    expect(parseChatCommand('toString node=n1 constructor=1', known)).toEqual({
      kind: 'investigate',
      symptom: 'toString',
      target: { node: 'n1' },
      params: { constructor: 1 },
    });
  });

  it.each<[string, string, RegExp]>([
    ['a status without an id', 'status', /`status` needs an investigation id/],
    ['a cancel without an id', 'cancel', /`cancel` needs an investigation id/],
    ['a malformed id', 'status inv_123', /`inv_123` is not an investigation id/],
    ['an upper-case id', `cancel ${ID.toUpperCase()}`, /is not an investigation id/],
    ['an id with a key=value', `status id=${ID}`, /is not an investigation id/],
    ['two ids', `status ${ID} ${ID}`, /takes one investigation id and nothing else/],
    ['arguments to sweeps', 'sweeps now', /`sweeps` takes nothing after it/],
    ['neither playbook nor symptom', 'pod=shop/cart-7d9f for=30s', /Say which playbook to run or what is wrong.*Playbooks: `enospc`, `cpu-profile`/],
    ['a duplicate key', 'enospc pod=shop/a pod=shop/b', /`pod` is given twice/],
    ['a key given under two names', 'enospc ns=shop namespace=web', /`ns` and `namespace` say the same thing/],
    ['for and duration together', 'enospc for=10s duration=20s', /`for` and `duration` say the same thing/],
    ['selector and labelSelector together', 'enospc selector=a=b labelSelector=c=d', /`selector` and `labelSelector`/],
    ['a duplicate parameter', 'profile hz=99 hz=199', /`hz` is given twice/],
    ['an empty value', 'enospc pod=', /`pod=` has no value/],
    ['an empty quoted value', 'enospc pod=""', /`pod=` has no value/],
    ['a key starting with a digit', 'enospc 1x=2', /`1x` is not a key/],
    ['a key with a dash', 'enospc max-depth=2', /`max-depth` is not a key/],
    ['a key starting with "_"', 'enospc __proto__=1', /`__proto__` is not a key/],
    ['a bare "="', 'enospc =5', /`=` is not a key/],
    ['an operator glued to a key', 'latency >=100ms', /`>` is not a key/],
    ['an unclosed quote', 'enospc selector="app=cart', /quote in `selector="app=cart` is never closed/],
    ['too long a text', `enospc ${'x'.repeat(MAX_COMMAND_LENGTH)}`, /That is 2007 characters; the limit is 2000/],
  ])('rejects %s', (_name, text, message) => {
    const parsed = parseChatCommand(text, known);
    expect(parsed.kind).toBe('invalid');
    if (parsed.kind !== 'invalid') return;
    expect(parsed.message).toMatch(message);
    expect(parsed.message.endsWith(USAGE)).toBe(true);
  });

  it('accepts a text of exactly the limit, counted after unescaping', () => {
    const symptom = 'x'.repeat(MAX_COMMAND_LENGTH);
    expect(parseChatCommand(symptom, known)).toMatchObject({ kind: 'investigate', symptom });
    const escaped = `${'&amp;'.repeat(MAX_COMMAND_LENGTH)}`;
    expect(parseChatCommand(escaped, known)).toMatchObject({ kind: 'investigate', symptom: '&'.repeat(MAX_COMMAND_LENGTH) });
  });

  it('never throws, whatever it is given', () => {
    const nasty = ['"', '=', '==', '""=""', '<', '>', '&', '<|>', '\u0000', 'a="b" c="', '\u201c', 'help "', '<@U123|ann> <#C1|ops>'];
    for (const text of nasty) {
      const parsed = parseChatCommand(text, known);
      expect(() => ChatCommand.parse(parsed)).not.toThrow();
    }
  });
});

describe('unescapeSlackText', () => {
  it.each([
    ['<http://x.example|x.example>', 'x.example'],
    ['<https://x.example>', 'https://x.example'],
    ['<mailto:a@b.example|a@b.example>', 'a@b.example'],
    ['<@U123|ann> and <#C1|ops>', 'ann and ops'],
    ['a &amp; b &lt;c&gt;', 'a & b <c>'],
    // A user who typed "&lt;" gets it back, not "<".
    ['&amp;lt;', '&lt;'],
  ])('%j → %j', (input, output) => expect(unescapeSlackText(input)).toBe(output));
});

describe('escapeMrkdwn and truncateText', () => {
  it('escapes exactly the three control characters', () => {
    expect(escapeMrkdwn('a & <b> *c* _d_')).toBe('a &amp; &lt;b&gt; *c* _d_');
  });

  it('cuts to the limit with an ellipsis, never inside an entity or an emoji', () => {
    expect(truncateText('abcdef', 6)).toBe('abcdef');
    expect(truncateText('abcdefg', 6)).toBe('abcde…');
    expect(truncateText('abc&amp;def', 7)).toBe('abc…');
    expect(truncateText('ab\u{1F525}cd', 4)).toBe('ab…');
    expect(truncateText('abc', 0)).toBe('');
  });
});

describe('helpText', () => {
  const playbooks = [
    { name: 'enospc', title: 'Who gets ENOSPC, and why' },
    { name: 'cpu-profile', title: 'Where the CPU time goes' },
  ];

  it('shows every command with the examples, and the playbooks when given', () => {
    const text = helpText(undefined, playbooks);
    for (const example of [
      '/investigate enospc pod=shop/cart-7d9f for=30s',
      '/investigate profile node=node-17 for=30s hz=99',
      '/investigate mount fails with ENOSPC pod=shop/cart-7d9f',
      '/investigate status <id>',
      '/investigate cancel <id>',
      '/investigate sweeps',
    ]) {
      expect(text).toContain(`\`${example}\``);
    }
    expect(text).toContain('• `enospc` — Who gets ENOSPC, and why');
    expect(text).toContain('• `cpu-profile` — Where the CPU time goes');
    expect(text.endsWith(USAGE)).toBe(true);
    expect(helpText()).not.toContain('Playbooks:');
  });

  it('explains one command', () => {
    const text = helpText('cancel');
    expect(text).toContain('`/investigate cancel <id>` stops an investigation');
    expect(text).not.toContain('sweeps` lists');
  });

  it('explains one playbook, by name or alias', () => {
    expect(helpText('enospc', playbooks).split('\n')[0]).toBe('`enospc` — Who gets ENOSPC, and why');
    expect(helpText('profile', playbooks).split('\n')[0]).toBe('`cpu-profile` — Where the CPU time goes');
  });

  it('falls back to the whole help for an unknown topic, and says so', () => {
    const text = helpText('frobnicate', playbooks);
    expect(text.split('\n')[0]).toBe('There is no help on "frobnicate"; here is all of it.');
    expect(text).toContain('Playbooks:');
  });
});
