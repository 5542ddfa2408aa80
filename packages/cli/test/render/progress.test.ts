import { describe, expect, it } from 'vitest';
import { progressBar } from '../../src/render/progress.js';

describe('progressBar', () => {
  it('fills the bar in proportion and shows the count, or the count alone without a total', () => {
    expect(progressBar('reading commits', 0, 4, 8)).toBe('reading commits [........] 0/4');
    expect(progressBar('reading commits', 1, 4, 8)).toBe('reading commits [##......] 1/4');
    expect(progressBar('writing runs', 4, 4, 8)).toBe('writing runs [########] 4/4');
    expect(progressBar('writing runs', 9, 4, 8)).toBe('writing runs [########] 9/4');
    expect(progressBar('reading', 3, 0)).toBe('reading 3…');
  });
});
