/**
 * Dataset naming: between an OpenLineage dataset (namespace, name), per the OpenLineage naming
 * conventions, and an mltrace pointer URI.
 *
 * | OpenLineage namespace | name          | pointer URI                      |
 * | --------------------- | ------------- | -------------------------------- |
 * | `file`                | `/data/x.csv` | `file:///data/x.csv`             |
 * | `s3://bucket`         | `key/x.csv`   | `s3://bucket/key/x.csv`          |
 * | `postgres://h:5432`   | `db.s.t`      | `postgres://h:5432/db.s.t`       |
 * | `bigquery`            | `p.d.t`       | `bigquery:p.d.t`                 |
 * | `mltrace`             | `pred-42`     | `pred-42` (an opaque name as is) |
 */

/** The namespace of datasets whose pointer URI is an opaque name without a scheme. */
export const OPAQUE_NAMESPACE = 'mltrace';

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;

/** The pointer URI of an OpenLineage dataset. */
export function datasetToUri(namespace: string, name: string): string {
  const ns = namespace.trim();
  if (ns === OPAQUE_NAMESPACE) return name;
  if (ns === 'file') return `file://${name.startsWith('/') ? '' : '/'}${name}`;
  if (ns.includes('://')) {
    if (ns.endsWith('/')) return `${ns}${name.replace(/^\/+/, '')}`;
    return `${ns}/${name.replace(/^\/+/, '')}`;
  }
  // A namespace that is a bare scheme (`bigquery`, `models`): scheme:name.
  return `${ns.replace(/:$/, '')}:${name}`;
}

/** The OpenLineage dataset (namespace, name) of a pointer URI: the inverse of {@link datasetToUri}. */
export function uriToDataset(uri: string): { namespace: string; name: string } {
  if (uri.startsWith('file://')) {
    const rest = uri.slice('file://'.length);
    // file:///abs/path is local; file://host/path names a remote file system.
    if (rest.startsWith('/')) return { namespace: 'file', name: rest };
    const slash = rest.indexOf('/');
    return slash === -1
      ? { namespace: `file://${rest}`, name: '/' }
      : { namespace: `file://${rest.slice(0, slash)}`, name: rest.slice(slash) };
  }
  const scheme = SCHEME.exec(uri)?.[1];
  if (!scheme) return { namespace: OPAQUE_NAMESPACE, name: uri };
  const afterScheme = uri.slice(scheme.length + 1);
  if (afterScheme.startsWith('//')) {
    const rest = afterScheme.slice(2);
    const slash = rest.indexOf('/');
    if (slash === -1) return { namespace: `${scheme}://${rest}`, name: '' };
    return { namespace: `${scheme}://${rest.slice(0, slash)}`, name: rest.slice(slash + 1) };
  }
  return { namespace: scheme, name: afterScheme };
}
