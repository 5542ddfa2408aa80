import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createDvcWorkspace, type DvcWorkspace } from '@mltrace/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';

describe('DVC workspace', () => {
  let workspace: DvcWorkspace | undefined;

  afterEach(async () => {
    await workspace?.cleanup();
  });

  it('pushes an added file to the local remote under files/md5 with the .dvc file hash', async () => {
    workspace = await createDvcWorkspace();
    const content = 'id,val\n1,a\n2,b\n';
    await workspace.writeFile('data/raw.csv', content);
    await workspace.dvc('add', '-q', 'data/raw.csv');
    const commit = await workspace.commit('Add raw data v1');
    await workspace.dvc('push', '-q');

    const dvcFile = await workspace.readFile('data/raw.csv.dvc');
    const md5 = /md5: ([0-9a-f]{32})/.exec(dvcFile)?.[1];
    expect(md5).toBe(createHash('md5').update(content).digest('hex'));
    expect(dvcFile).toContain('hash: md5');
    expect(commit).toMatch(/^[0-9a-f]{40}$/);
    expect(await workspace.git('ls-files')).toContain('data/raw.csv.dvc');

    const remoteObject = join(workspace.remoteDir!, 'files', 'md5', md5!.slice(0, 2), md5!.slice(2));
    expect(await readFile(remoteObject, 'utf8')).toBe(content);
  });
});
