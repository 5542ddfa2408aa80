/**
 * One redaction policy in two languages: @mltrace/core's redact.ts and the Python package's
 * _redact.py read the same data (packages/core/src/redaction.json); this checks that they also
 * agree, string for string, on the cases of core's tests and more.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { redactText, redactUri, redactValue } from '@mltrace/core';
import { expect, it } from 'vitest';
import { PYTHON, pythonEnv } from './python-worker.js';

const SCRIPT = fileURLToPath(new URL('./redact_all.py', import.meta.url));

const texts = [
  'note: Authorization: Bearer abcdefghijklmnop0123',
  'curl -H "authorization: Basic dXNlcjpodW50ZXIy"',
  'token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
  '-----BEGIN RSA PRIVATE KEY-----\nMIIabc\n-----END RSA PRIVATE KEY-----',
  'key AKIAIOSFODNN7EXAMPLE and ghp_abcdefghijklmnopqrstuvwxyz0123456789 and sk-abcdefghijklmnopqrstuv',
  'const API_TOKEN = \'tok-literal-0042\';\nconst password = "hunter2-secret";\nconst token = getToken();',
  'connect failed: host=db password=hunter2 user=me',
  'upstream said: token=zzTokError0123456789ab',
  '{"message": "failed: password=pw-in-json-42"}',
  '{"db_password": "hunter2-secret-value", "lr": 0.1}',
  'postgres://bob:hunter2@db/x and https://u:p@h/?api_key=k&x=1',
  'GET /x?token=abc123def&X-Amz-Signature=deadbeef&page=2',
  'the token expired yesterday',
  'basic statistics of the data',
  'ssh://git@github.com/org/repo',
  'accuracy=0.93 rows=1000 max_tokens=512',
  'token abcdefgh12345678 and Token short1',
  'models:/taxi@champion',
];
const uris = [
  's3://AKIAEXAMPLE:supersecretkey@bucket/x',
  'https://ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/o/r',
  'ssh://git@github.com/o/r',
  'https://b.s3.amazonaws.com/k.csv?versionId=3&X-Amz-Signature=abc&X-Amz-Credential=AKIA%2F&token=t0k',
  'postgres://mltrace:pw@db:5432/lineage',
  'gs://b/k?X-Goog-Signature=1#frag',
];
const values = [
  {
    params: { db_password: 'hunter2-secret-value', lr: 0.1, apiKey: 'k', max_tokens: 3 },
    tags: [
      { key: 'mlflow.api_token', value: 'abc-secret-1' },
      { key: 'team', value: 'fraud' },
    ],
    note: 'password=in-a-note-1234',
  },
];

it('redacts the same inputs to the same text in TypeScript (@mltrace/core) and Python', async () => {
  const python = await new Promise<string>((resolve, reject) => {
    const child = execFile(PYTHON, [SCRIPT], { env: pythonEnv(process.env) }, (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
    );
    child.stdin?.end(JSON.stringify({ texts, uris, values }));
  });
  const ts = { texts: texts.map(redactText), uris: uris.map(redactUri), values: values.map(redactValue) };
  expect(JSON.parse(python)).toEqual(ts);
  // And the policy did its work (the comparison alone would pass on two no-ops).
  expect(JSON.stringify(ts)).not.toMatch(
    /hunter2|supersecretkey|tok-literal|AKIAIOSFODNN7EXAMPLE|abc-secret-1/,
  );
});
