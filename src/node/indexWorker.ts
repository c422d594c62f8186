// The index worker (dist/indexWorker.js): reads, parses and checks prompt repositories off the
// editor's thread. It answers IndexRequests posted by IndexClient, one at a time, in order.
import { parentPort, workerData } from 'node:worker_threads';
import type { IndexRequest, IndexServiceOptions } from './indexService';
import { IndexService } from './indexService';

const port = parentPort;
if (!port) throw new Error('indexWorker.js runs as a worker thread of the extension');
const options = workerData as Omit<IndexServiceOptions, 'log'>;
const service = new IndexService({ ...options, log: (message) => port.postMessage({ kind: 'log', message }) });
// The grammars load while the editor is still looking for the workspace's repositories.
service.preload();
port.on('message', (message: IndexRequest | { kind: 'dispose' }) => {
  if (message.kind === 'dispose') {
    void service.dispose().finally(() => port.postMessage({ kind: 'disposed' }));
    return;
  }
  void service.handle(message).then((response) => port.postMessage(response, response.kind === 'indexed' ? [response.state.versionBytes] : []));
});
