/**
 * A progress bar line for a terminal: `reading commits [########............] 12/30`. Without a
 * known total (0), the label and the count alone.
 */
export function progressBar(label: string, done: number, total: number, width = 20): string {
  if (total <= 0) return `${label} ${done}…`;
  const ratio = Math.min(1, Math.max(0, done / total));
  const filled = Math.round(ratio * width);
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}
