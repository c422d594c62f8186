/** One entry of `git ls-tree -z` output. */
export interface TreeEntry {
  mode: string;
  type: 'blob' | 'tree' | 'commit';
  object: string;
  name: string;
}

/**
 * Parses `git ls-tree -z` output: NUL-terminated records `<mode> SP <type> SP <object> TAB <name>`.
 * With `-z` names are verbatim (no quoting), so any byte but NUL may appear in them.
 */
export function parseLsTree(output: string): TreeEntry[] {
  const entries: TreeEntry[] = [];
  for (const record of output.split('\0')) {
    const tab = record.indexOf('\t');
    if (tab === -1) continue;
    const [mode, type, object] = record.slice(0, tab).split(' ');
    if (type !== 'blob' && type !== 'tree' && type !== 'commit') continue;
    entries.push({ mode, type, object, name: record.slice(tab + 1) });
  }
  return entries;
}
