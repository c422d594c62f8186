/**
 * A lock between processes on one machine: `mkdir` is atomic, and a lock whose owner died is
 * taken over. Several test runs may start at once and all want the one cached install.
 */
import fs from 'node:fs';
import path from 'node:path';

function processAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}


/**
 * Runs `body` while holding the lock directory `lockDir` (created, with the holder's pid in it,
 * and removed afterwards); waits while another live process holds it.
 * @template T
 * @param {string} lockDir
 * @param {{ log: (line: string) => void, waitingFor: string }} options
 * @param {() => Promise<T>} body
 * @returns {Promise<T>}
 */
export async function withDirectoryLock(lockDir, { log, waitingFor }, body) {
  fs.mkdirSync(path.dirname(lockDir), { recursive: true });
  let announced = false;
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(path.join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      let owner = NaN;
      try {
        owner = Number(fs.readFileSync(path.join(lockDir, 'pid'), 'utf8'));
      } catch {
        // the owner is between mkdir and writing its pid
      }
      if (Number.isInteger(owner) && owner > 0 && !processAlive(owner)) {
        fs.rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (!announced) {
        log(`Another process (pid ${owner}) is ${waitingFor}; waiting for it.`);
        announced = true;
      }
      // Waiting for another process has no event to listen to; check twice a second.
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    return await body();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}
