import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { previewValue, scrubText } from '../src/sanitize.js';
import { DEFAULT_REDACT_KEYS, REDACTED, secretKeyTest } from '../src/workflow/redact.js';

const options = {
  isSecretKey: secretKeyTest(DEFAULT_REDACT_KEYS),
  maxStringChars: 64,
  maxPayloadChars: 1024,
};

describe('stored copies of arguments and results', () => {
  it('redact values under secret-looking keys, at any depth', () => {
    const preview = previewValue(
      {
        user: 'ana',
        password: 'hunter2',
        nested: { apiKey: 'sk-live-123', headers: { Authorization: 'x' } },
      },
      options,
    );
    expect(preview).toEqual({
      user: 'ana',
      password: REDACTED,
      nested: { apiKey: REDACTED, headers: { Authorization: REDACTED } },
    });
  });

  it('redact secret-looking values and credentials inside URIs whatever the key', () => {
    const preview = previewValue(
      [
        'Bearer abcdefghijklmnop',
        'postgres://app:hunter2@db/lineage',
        'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJlLXh5eg',
      ],
      options,
    );
    expect(JSON.stringify(preview)).not.toContain('hunter2');
    expect(preview).toEqual([REDACTED, `postgres://app:${REDACTED}@db/lineage`, REDACTED]);
  });

  it('replace a long string by its start, length and sha256', () => {
    const big = 'x'.repeat(5_000_000);
    const preview = previewValue({ blob: big }, options) as {
      blob: { $truncated: string; length: number; sha256: string };
    };
    expect(preview.blob.length).toBe(5_000_000);
    expect(preview.blob.sha256).toBe(createHash('sha256').update(big).digest('hex'));
    expect(preview.blob.$truncated).toHaveLength(64);
  });

  it('replace binary data by its size and sha256', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    expect(previewValue(bytes, options)).toEqual({
      $bytes: 3,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    });
  });

  it('cut a large structure down to the payload cap and mark it truncated', () => {
    const rows = Array.from({ length: 10_000 }, (_, i) => ({ id: i, label: `row number ${i}` }));
    const preview = previewValue({ rows }, options) as { $truncated: boolean; chars: number };
    expect(preview.$truncated).toBe(true);
    expect(JSON.stringify(preview).length).toBeLessThanOrEqual(options.maxPayloadChars * 1.5);
    expect(preview.chars).toBeGreaterThan(options.maxPayloadChars);
  });

  it('handle cycles, dates, bigints, errors and functions without throwing', () => {
    const value: Record<string, unknown> = { when: new Date(0), n: 10n, err: new Error('boom'), fn: () => 1 };
    value.self = value;
    expect(previewValue(value, options)).toEqual({
      when: '1970-01-01T00:00:00.000Z',
      n: '10',
      err: { name: 'Error', message: 'boom' },
      fn: null,
      self: '[Circular]',
    });
  });
});

describe('error messages', () => {
  it('lose URI passwords, secret query parameters and bearer credentials', () => {
    const text = scrubText(
      'cannot reach postgres://app:hunter2@db/x nor https://h/x?token=abc123&y=1 with Bearer abcdefghijkl',
    );
    expect(text).not.toMatch(/hunter2|abc123|abcdefghijkl/);
    expect(text).toContain('y=1');
  });
});
