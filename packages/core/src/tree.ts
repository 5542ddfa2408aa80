/**
 * Text trees with mltrace's connectors, for terminals: what `mltrace trace`, `impact` and `why`
 * print. Pure.
 * @module
 */
/** What a node of a tree shows: its label, lines under it (warnings), and its children. */
export interface TreeNodeView<T> {
  label: string;
  notes?: string[];
  children?: T[];
}

/**
 * Renders a forest with mltrace's `├─`, `└─` and `│` connectors. `expand` is called once per
 * node, in the order the lines are printed (pre-order), so a caller can print a node reached a
 * second time as a reference instead of expanding it again. Iterative: a 10,000-run chain does
 * not overflow the stack.
 */
export function renderTree<T>(roots: T[], expand: (node: T) => TreeNodeView<T>): string[] {
  const lines: string[] = [];
  const stack: Array<{ node: T; prefix: string; last: boolean; root: boolean }> = roots
    .map((node) => ({ node, prefix: '', last: true, root: true }))
    .reverse();
  for (let item = stack.pop(); item; item = stack.pop()) {
    const view = expand(item.node);
    const children = view.children ?? [];
    lines.push(item.root ? view.label : `${item.prefix}${item.last ? '└─ ' : '├─ '}${view.label}`);
    const childPrefix = item.root ? '' : `${item.prefix}${item.last ? '   ' : '│  '}`;
    for (const note of view.notes ?? []) {
      lines.push(`${childPrefix}${children.length > 0 ? '│  ' : '   '}${note}`);
    }
    for (let i = children.length - 1; i >= 0; i--) {
      stack.push({
        node: children[i] as T,
        prefix: childPrefix,
        last: i === children.length - 1,
        root: false,
      });
    }
  }
  return lines;
}
