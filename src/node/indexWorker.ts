// The index worker (dist/indexWorker.js): reads, parses and checks prompt repositories off the
// editor's thread. It answers IndexRequests posted by IndexClient, one at a time, in order. The
// same bundle, started by the index worker with `role: 'shard'`, is an index shard: it does a part
// of a cold build's parsing and checking (see indexShards.ts).
import { readdirSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { IndexRequest, IndexServiceOptions } from './indexService';
import { IndexService, postedResponse } from './indexService';
import type { ShardAssignment } from './indexShards';
import { runShardAssignment, runShardTask } from './indexShards';
import { createSourceParser } from './treeSitter';
import type { SourceParser } from './treeSitter';

const port = parentPort;
if (!port) throw new Error('indexWorker.js runs as a worker thread of the extension');

if ((workerData as { role?: string } | undefined)?.role === 'shard') {
  const { wasmDir } = workerData as { wasmDir?: string };
  // The grammars load as the thread starts: its first pieces are source files.
  let parser: Promise<SourceParser> | undefined = createSourceParser({ wasmDir });
  parser.catch(() => (parser = undefined));
  port.once('message', (assignment: ShardAssignment) => {
    void runShardAssignment(
      assignment,
      async (task) => runShardTask(task, task.sources.length > 0 ? await (parser ??= createSourceParser({ wasmDir })) : undefined),
      (message) => port.postMessage(message),
    );
  });
} else {
  const options = workerData as Omit<IndexServiceOptions, 'log'>;
  // This bundle is also the shards' (a cold build is split across threads).
  const service = new IndexService({ ...options, shardFile: __filename, log: (message) => port.postMessage({ kind: 'log', message }) });
  // The grammars load while the editor is still looking for the workspace's repositories, unless a
  // cache is there: a reopened workspace needs none to publish its findings, and they would only
  // compete for the processor (they load when a build needs them).
  if (!hasIndexCache(options.cacheDir)) service.preload();
  port.on('message', (message: IndexRequest | { kind: 'dispose' }) => {
    if (message.kind === 'dispose') {
      void service.dispose().finally(() => port.postMessage({ kind: 'disposed' }));
      return;
    }
    void service.handle(message).then((response) => port.postMessage(postedResponse(response), response.kind === 'indexed' ? [response.state.versionBytes] : []));
  });
}

function hasIndexCache(dir: string | undefined): boolean {
  try {
    return dir !== undefined && readdirSync(dir).some((name) => name.startsWith('index-') && name.endsWith('.bin'));
  } catch {
    return false;
  }
}
