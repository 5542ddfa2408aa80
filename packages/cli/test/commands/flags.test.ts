import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTemplate, type Workspace, workspace } from '../test-cli.js';

describe('flag, review, unflag, components and tags', { timeout: 180_000 }, () => {
  let ws: Workspace;

  beforeAll(async () => {
    ws = await workspace();
    // One cleaning run feeds two feature branches; each feeds a prediction. Only branch b's is bad.
    const log = (component: string, input: string, output: string, minute: number) =>
      ws.ok(
        'log',
        component,
        '-i',
        input,
        '-o',
        output,
        '--start',
        `2024-05-01T10:0${minute}:00Z`,
        '--end',
        `2024-05-01T10:0${minute}:30Z`,
      );
    await log('clean', 'raw.csv', 'clean.csv', 0);
    await log('featuregen_a', 'clean.csv', 'features_a.csv', 1);
    await log('featuregen_b', 'clean.csv', 'features_b.csv', 2);
    await log('predict', 'features_a.csv', 'predictions_a.csv', 3);
    await log('predict', 'features_b.csv', 'predictions_b.csv', 4);
  });

  afterAll(async () => {
    await ws.remove();
    await removeTemplate();
  });

  it('lists the flagged output, then ranks the runs only bad outputs share above the shared cleaning run', async () => {
    expect(await ws.ok('flag', 'predictions_b.csv')).toBe('flagged predictions_b.csv (1 version)\n');
    const out = await ws.ok('review');
    const lines = out.split('\n');
    expect(lines.slice(0, 5)).toEqual([
      '1 flagged output:',
      '  predictions_b.csv  [data]  ⚑ flagged',
      '',
      '3 suspects, most suspicious first (compared with 1 unflagged output of the same components):',
      '',
    ]);
    expect(lines.filter((line) => /^\S/.test(line)).slice(2)).toEqual([
      'predict  run 5',
      'featuregen_b  run 3',
      'clean  run 1',
    ]);
    expect(out).toContain(
      'predict  run 5\n  #1  score 1.000  count 1/1  coverage 100%\n  used 1 time in producing the flagged outputs, 0 times in the unflagged ones\n',
    );
    expect(out).toContain(
      'clean  run 1\n  #3  score 0.707  count 1/1  coverage 100%\n  used 1 time in producing the flagged outputs, 1 time in the unflagged ones\n',
    );
  });

  it('prints the review as JSON', async () => {
    const review = await ws.json<{
      flagged: Array<{ uri: string; flag: boolean }>;
      comparedUnflagged: number;
      suspects: Array<Record<string, unknown> & { run: { id: number; component: string } }>;
    }>('review');
    expect(Object.keys(review)).toEqual(['flagged', 'comparedUnflagged', 'suspects']);
    expect(review.flagged).toEqual([
      {
        id: expect.any(Number),
        uri: `file://${ws.cwd}/predictions_b.csv`,
        version: '',
        type: 'data',
        flag: true,
      },
    ]);
    expect(review.comparedUnflagged).toBe(1);
    expect(
      review.suspects.map((s) => [s.run.id, s.run.component, s.flaggedCount, s.unflaggedCount, s.coverage]),
    ).toEqual([
      [5, 'predict', 1, 0, 1],
      [3, 'featuregen_b', 1, 0, 1],
      [1, 'clean', 1, 1, 1],
    ]);
    expect(review.suspects[2]?.score).toBeCloseTo(Math.SQRT1_2, 6);
    expect(Object.keys(review.suspects[0] ?? {})).toEqual([
      'run',
      'score',
      'flaggedCount',
      'coverage',
      'unflaggedCount',
    ]);
  });

  it('limits the review to the --limit most suspicious runs', async () => {
    const review = await ws.json<{ suspects: unknown[] }>('review', '--limit', '1');
    expect(review.suspects).toHaveLength(1);
  });

  it('unflags one pointer or everything, and wants exactly one of the two', async () => {
    expect((await ws.run(['unflag'])).code).toBe(2);
    const both = await ws.run(['unflag', 'predictions_b.csv', '--all']);
    expect(both.code).toBe(2);
    expect(both.stderr).toBe('mltrace: error: give a pointer or --all, not both\n');

    expect(await ws.ok('unflag', 'predictions_b.csv')).toBe('unflagged 1 pointer\n');
    expect(await ws.ok('review')).toBe(
      'no flagged outputs; flag a bad one with `mltrace flag URI[@VERSION]`\n',
    );
    await ws.ok('flag', 'predictions_a.csv');
    await ws.ok('flag', 'predictions_b.csv');
    expect(await ws.json('unflag', '--all')).toEqual({ unflagged: 2 });
  });

  it('says an unknown pointer cannot be flagged, and exits 3', async () => {
    const result = await ws.run(['flag', 'nothing.csv']);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^mltrace: error: no pointer nothing\.csv\n/);
  });

  it('lists components, filtered by tag and owner, and the tags in use', async () => {
    await ws.ok(
      'component',
      'predict',
      '--owner',
      'alice',
      '--description',
      'scores features',
      '--tag',
      'serving',
    );
    await ws.ok('component', 'featuregen_b', '--owner', 'bob', '--tag', 'features', '--tag', 'serving');
    const all = await ws.json<{ components: Array<{ name: string }> }>('components');
    expect(all.components.map((c) => c.name)).toEqual(['clean', 'featuregen_a', 'featuregen_b', 'predict']);
    expect(await ws.json('components', '--tag', 'serving', '--owner', 'alice')).toEqual({
      components: [{ name: 'predict', description: 'scores features', owner: 'alice', tags: ['serving'] }],
    });
    expect(await ws.json('tags')).toEqual({ tags: ['features', 'serving'] });
    expect(await ws.ok('tags')).toBe('features\nserving\n');
    expect((await ws.ok('components', '--tag', 'serving')).split('\n')).toEqual([
      'NAME          OWNER  TAGS               DESCRIPTION',
      'featuregen_b  bob    features, serving  -',
      'predict       alice  serving            scores features',
      '',
    ]);
    expect(await ws.ok('components', '--owner', 'nobody')).toBe('no components match\n');
  });
});
