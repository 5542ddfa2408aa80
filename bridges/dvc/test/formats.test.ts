import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseDvcConfig, remoteLocation } from '../src/config.js';
import { DvcFileError } from '../src/errors.js';
import { parseDvcYamlFast } from '../src/fast-yaml.js';
import { parseDvcFile, parseDvcYaml, parseLockFile } from '../src/formats.js';
import { parseGtoTag } from '../src/gto.js';
import { orderProducersFirst } from '../src/history.js';
import { importSourcePointer } from '../src/pointers.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';
// DVC's own template syntax, written into dvc.yaml.
const ITEM = '$' + '{item}';
const at = (file: string) => ({ file, commit: SHA });

describe('DVC file formats', () => {
  it('reads a DVC 3 directory output with its .dir hash, size, nfiles and md5 algorithm', () => {
    const file = parseDvcFile(
      'outs:\n- md5: 0e04c3e5b51733a4e26c912bad6623d7.dir\n  size: 8\n  nfiles: 2\n  hash: md5\n  path: images\n',
      at('data/images.dvc'),
    );
    expect(file.kind).toBe('add');
    expect(file.outs).toEqual([
      {
        path: 'images',
        repoPath: 'data/images',
        hash: '0e04c3e5b51733a4e26c912bad6623d7.dir',
        algorithm: 'md5',
        size: 8,
        nfiles: 2,
        isDir: true,
      },
    ]);
  });

  it('treats an entry without a hash key as a legacy md5-dos2unix hash, whatever the key order', () => {
    const file = parseDvcFile(
      "outs:\n- path: raw.csv\n  md5: '01234567890123456789012345678901'\n",
      at('raw.csv.dvc'),
    );
    expect(file.outs[0]).toMatchObject({
      hash: '01234567890123456789012345678901',
      algorithm: 'md5-dos2unix',
    });
  });

  it('reads a dvc import with its source url and rev_lock, and a dvc import-url with its external dependency', () => {
    const imported = parseDvcFile(
      [
        'md5: 23fac541b4566edf401f4a34f64c7f97',
        'frozen: true',
        'deps:',
        '- path: data/raw.csv',
        '  repo:',
        '    url: /src/repo',
        '    rev: v1',
        '    rev_lock: 32d3f82a8e968e9d0b26e85dd0213d8df6325cdf',
        'outs:',
        '- md5: 91b3d3f95c7f570eb157b3b1bc7c4a3a',
        '  size: 15',
        '  hash: md5',
        '  path: raw_v1.csv',
      ].join('\n'),
      at('raw_v1.csv.dvc'),
    );
    expect(imported).toMatchObject({
      kind: 'import',
      frozen: true,
      import: {
        url: '/src/repo',
        path: 'data/raw.csv',
        rev: 'v1',
        revLock: '32d3f82a8e968e9d0b26e85dd0213d8df6325cdf',
      },
    });
    const url = parseDvcFile(
      'deps:\n- md5: b6e6\n  size: 19\n  hash: md5\n  path: /mnt/share/raw.csv\nouts:\n- md5: b6e6\n  hash: md5\n  path: url_raw.csv\n',
      at('url_raw.csv.dvc'),
    );
    expect(url.kind).toBe('import-url');
    expect(url.deps[0]).toMatchObject({ path: '/mnt/share/raw.csv', repoPath: undefined, hash: 'b6e6' });
  });

  it('reads a DVC 2 lock file with Windows paths as repo-relative POSIX paths with md5-dos2unix hashes', () => {
    const lock = parseLockFile(
      [
        "schema: '2.0'",
        'stages:',
        '  prepare:',
        '    cmd: python src\\prepare.py',
        '    deps:',
        '    - path: data\\raw.csv',
        '      md5: e5ebd4c02cefbe7955977c67ada242b7',
        '      size: 10',
        '    outs:',
        '    - path: data\\prepared',
        '      md5: 01eb08488f976eaecc58cc2050c63cee.dir',
        '      size: 12',
        '      nfiles: 2',
      ].join('\n'),
      at('pipelines/dvc.lock'),
    );
    expect(lock.schema).toBe('2.0');
    const [stage] = lock.stages;
    expect(stage?.address).toBe('pipelines/dvc.yaml:prepare');
    expect(stage?.deps[0]).toMatchObject({ repoPath: 'pipelines/data/raw.csv', algorithm: 'md5-dos2unix' });
    expect(stage?.outs[0]).toMatchObject({ repoPath: 'pipelines/data/prepared', isDir: true, nfiles: 2 });
  });

  it('reads a DVC 1 lock file, whose stage names are top-level keys', () => {
    const lock = parseLockFile(
      // md5s of 3 characters or more: DVC's schema refuses shorter ones.
      'train:\n  cmd: python train.py\n  deps:\n  - path: data.csv\n    md5: aa0\n  outs:\n  - path: model.pkl\n    md5: bb0\n',
      at('dvc.lock'),
    );
    expect(lock.schema).toBe('1');
    expect(lock.stages.map((s) => [s.name, s.outs[0]?.hash])).toEqual([['train', 'bb0']]);
  });

  it('rejects a lock file with an unknown schema, naming the file and the commit', () => {
    const error = (() => {
      try {
        parseLockFile("schema: '3.0'\nstages: {}\n", at('dvc.lock'));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(DvcFileError);
    expect((error as DvcFileError).message).toBe(
      `dvc.lock at ${SHA.slice(0, 12)}: unknown lock file schema "3.0" (this bridge reads schema '2.0' and DVC 1 lock files)`,
    );
    expect(error).toMatchObject({ file: 'dvc.lock', commit: SHA, code: 'invalid_input' });
  });

  it('rejects malformed YAML with the line, the file and the commit', () => {
    expect(() => parseLockFile("schema: '2.0'\nstages:\n  train: [unclosed\n", at('dvc.lock'))).toThrow(
      new RegExp(`^dvc\\.lock at ${SHA.slice(0, 12)}: malformed YAML \\(line \\d+, column \\d+\\)`),
    );
  });

  it('applies dvc.yaml wdir and cache: false to lock outputs, foreach templates included', () => {
    const yaml = parseDvcYaml(
      [
        'stages:',
        '  report:',
        '    foreach: [a, b]',
        '    do:',
        '      wdir: reports',
        `      cmd: make ${ITEM}`,
        '      outs:',
        `      - out/${ITEM}.txt:`,
        '          cache: false',
        `      - out/${ITEM}.bin:`,
        '          remote: archive',
        'artifacts:',
        '  model:',
        '    path: model.pkl',
        '    type: model',
      ].join('\n'),
      at('dvc.yaml'),
    );
    const lock = parseLockFile(
      "schema: '2.0'\nstages:\n  report@a:\n    cmd: make a\n    outs:\n    - path: out/a.txt\n      hash: md5\n      md5: aa0\n      size: 1\n    - path: out/a.bin\n      hash: md5\n      md5: bb0\n      size: 1\n",
      at('dvc.lock'),
      yaml.stages,
    );
    expect(lock.stages[0]?.outs).toMatchObject([
      { repoPath: 'reports/out/a.txt', cache: false },
      { repoPath: 'reports/out/a.bin', remote: 'archive' },
    ]);
    expect(yaml.artifacts.get('model')).toEqual({ path: 'model.pkl', type: 'model' });
  });
});

describe('remote object URLs', () => {
  const config = parseDvcConfig(
    '[core]\n    remote = local\n[\'remote "local"\']\n    url = ../../remote\n[remote "s3"]\n    url = s3://bucket/prefix/\n[\'remote "cv"\']\n    url = s3://versioned\n    version_aware = true\n',
  );

  it('puts DVC 3 objects under files/md5 and legacy objects at the top, resolving a relative URL against .dvc/', () => {
    expect(
      remoteLocation({ hash: 'cb583ba345bc7ea478a361b56d3691a7', algorithm: 'md5' }, config, '/w/repo/.dvc'),
    ).toEqual({
      remote: 'local',
      url: '/w/remote/files/md5/cb/583ba345bc7ea478a361b56d3691a7',
    });
    expect(
      remoteLocation(
        { hash: 'e5ebd4c02cefbe7955977c67ada242b7', algorithm: 'md5-dos2unix' },
        config,
        '/w/repo/.dvc',
      )?.url,
    ).toBe('/w/remote/e5/ebd4c02cefbe7955977c67ada242b7');
  });

  it("uses the output's own remote, and gives none for cache: false, cloud-versioned remotes or external etags", () => {
    expect(remoteLocation({ hash: 'ab12.dir', algorithm: 'md5', remote: 's3' }, config, '/r/.dvc')?.url).toBe(
      's3://bucket/prefix/files/md5/ab/12.dir',
    );
    expect(
      remoteLocation({ hash: 'ab12', algorithm: 'md5', cache: false }, config, '/r/.dvc'),
    ).toBeUndefined();
    expect(
      remoteLocation({ hash: 'ab12', algorithm: 'md5', remote: 'cv' }, config, '/r/.dvc'),
    ).toBeUndefined();
    expect(remoteLocation({ hash: 'ab12', algorithm: 'etag' }, config, '/r/.dvc')).toBeUndefined();
  });
});

describe('GTO tags', () => {
  it.each([
    ['model@v1.2.0', { artifact: 'model', action: 'register', version: 'v1.2.0' }],
    ['model@v1.2.0!', { action: 'deregister', version: 'v1.2.0' }],
    ['model#prod#3', { action: 'assign', stage: 'prod', counter: 3 }],
    ['model#prod!#4', { action: 'unassign', stage: 'prod', counter: 4 }],
    ['model@deprecated', { action: 'deprecate' }],
    [
      'nlp/models=churn@v2.0.0-rc.1+build.5',
      { artifact: 'nlp/models:churn', dir: 'nlp/models', name: 'churn', version: 'v2.0.0-rc.1+build.5' },
    ],
  ])('parses %s with GTO grammar', (tag, expected) => {
    expect(parseGtoTag(tag)).toMatchObject(expected);
  });

  it.each(['model@1.0.0', 'v1.0.0', 'model#', 'model@v1.0'])('does not take %s for a GTO tag', (tag) => {
    expect(parseGtoTag(tag)).toBeUndefined();
  });
});

describe('pointers and ordering', () => {
  it('points a local import at the source repository file and a remote one at url#path', () => {
    expect(importSourcePointer({ url: '../source', path: 'data/raw.csv' }, 'h1', '/w/consumer', '')).toEqual({
      uri: 'file:///w/source/data/raw.csv',
      version: 'h1',
      type: 'data',
    });
    expect(
      importSourcePointer({ url: 'git@github.com:org/repo.git', path: 'd.csv' }, 'h2', '/w/c', '').uri,
    ).toBe('ssh://git@github.com/org/repo.git#d.csv');
    expect(
      importSourcePointer({ url: 'https://github.com/org/repo', path: 'd.csv' }, 'h3', '/w/c', '').uri,
    ).toBe('https://github.com/org/repo#d.csv');
  });

  it('orders the runs of a commit so that producers come before their consumers', () => {
    const run = (component: string, inputs: string[], outputs: string[]) => ({
      component,
      startedAt: new Date(0),
      inputs: inputs.map((uri) => ({ uri, version: 'v' })),
      outputs: outputs.map((uri) => ({ uri, version: 'v' })),
    });
    const ordered = orderProducersFirst([
      run('train', ['b'], ['c']),
      run('eval', ['c'], []),
      run('prepare', ['a'], ['b']),
    ]);
    expect(ordered.map((r) => r.component)).toEqual(['prepare', 'train', 'eval']);
  });
});

describe('the fast YAML reader', () => {
  const accepted = [
    "schema: '2.0'\nstages:\n  train:\n    cmd: python src\\train.py --lr 0.1\n    deps:\n    - path: data/x.csv\n      hash: md5\n      md5: 0e04c3e5b51733a4e26c912bad6623d7.dir\n      size: 15\n    params:\n      params.yaml:\n        train.lr: 0.01\n        seed: 42\n        flag: true\n        none: null\n        empty:\n        list: []\n        map: {}\n        neg: -3\n        dotted: .5\n        name: -foo\n    outs:\n    - path: model.pkl\n      md5: '0123456789'\n      cache: false\n",
    "outs:\n- md5: 'it''s'\n  path: a b/c.csv\n  labels:\n  - x\n  - y\n  meta:\n    nested:\n      deep: 1.\nfrozen: false\n",
    'stages:\n  evaluate:\n    foreach:\n      - a\n      - b\n    do:\n      cmd: echo http://x/y#frag\n      deps:\n        - model#prod\n',
    '- one\n- two:\n    three: 3\n-\n  - four\n',
    "a: 'wrapped\n  single quote'\nb: plain\n  wrapped\ncmd: a very long command\n  continued here\n",
    'cmd: "echo \'{\\"acc\\": 0.5}\' > m.json\\tend \\u00e9 \\\\"\n',
  ];
  const refused = [
    'a: [1, 2]\n',
    'a: |\n  text\n',
    'a: &x 1\nb: *x\n',
    'a: "bad \\q escape"\n',
    'a: "x" y\n',
    'a: b # comment\n',
    'a: 1\na: 2\n',
    'a: 1e5\n',
    'a: 0x1F\n',
    '1.0: x\n',
    'a: .inf\n',
    '---\na: 1\n',
    'a: 1\r\n',
    'a: 12345678901234567890\n',
    'a: b\n\n  c\n',
    'a: b\n  # not a comment\n',
  ];

  it('reads the long commands DVC 3.67 wrapped over several lines (plain, double-quoted, escaped breaks)', () => {
    // Written by `dvc stage add` + `dvc repro` (ruamel wraps scalars at 80 columns).
    const text = readFileSync(new URL('./fixtures/wrapped-commands.dvc.lock', import.meta.url), 'utf8');
    const fast = parseDvcYamlFast(text) as { stages: Record<string, { cmd: string }> };
    expect(fast).toEqual(parseYaml(text));
    expect(fast.stages.long?.cmd).toBe(
      'echo "aaaaaaaaaaaaaaaaaa bbbbbbbbbbbbbbbbbbbbbbbb \\"cccccccccccccccccc\\" dddddddddddddddddddddddddd eeeeeeeeeeeeeeeeeeeeeee ffffffffffffffffffffff gggggggggg" > long.txt && echo \'x: y\' >> long.txt && echo "tab\there" >> long.txt',
    );
  });

  it.each(accepted)('reads DVC-style YAML exactly as the yaml library does (%#)', (text) => {
    const fast = parseDvcYamlFast(text);
    expect(fast).not.toBeUndefined();
    expect(fast).toEqual(parseYaml(text));
  });

  it.each(refused)('leaves what it does not fully know to the yaml library (%#)', (text) => {
    expect(parseDvcYamlFast(text)).toBeUndefined();
  });
});
