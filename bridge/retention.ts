// A size cap on a recordings folder (`--record-max-mb`): past it the oldest complete .mcap files are
// deleted until the folder is back under the cap, never a file being written (by this gateway or by
// any other: a file still being written has no MCAP footer yet).

import { open, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** The 8 bytes an MCAP file starts and ends with; a file ended cleanly ends with them. */
const MCAP_MAGIC = Uint8Array.from([0x89, 0x4d, 0x43, 0x41, 0x50, 0x30, 0x0d, 0x0a]);

export interface RetentionOptions {
  dir: string;
  /** The cap on the folder's .mcap files, in bytes. */
  maxBytes: number;
  /** True for a file (name in `dir`) this process is writing: never deleted, whatever it looks like. */
  isWriting?: (name: string) => boolean;
  /**
   * A file without its footer (cut off by a crash) counts as complete once untouched this long
   * (default 1 hour); until then it may be another process's recording in progress.
   */
  staleMs?: number;
  /** Once over the cap, files go until the folder holds at most this fraction of it (default 0.9), so that not every new file costs a sweep. */
  lowWater?: number;
  /** One line per sweep that deleted files or could not get under the cap. */
  log?: (line: string) => void;
}

export interface SweepResult {
  /** Bytes of .mcap files in the folder before and after the sweep. */
  bytesBefore: number;
  bytesAfter: number;
  /** Files deleted, oldest first. */
  deleted: string[];
}

interface FileState { name: string; bytes: number; modifiedMs: number }

const MB = 1024 * 1024;
const formatMb = (bytes: number) => `${(bytes / MB).toFixed(bytes < 10 * MB ? 1 : 0)} MB`;

/** Whether a file ends with the MCAP magic: its footer was written, nobody is writing it. */
export async function endsWithMcapFooter(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size < 2 * MCAP_MAGIC.length) return false;
    const tail = new Uint8Array(MCAP_MAGIC.length);
    await handle.read(tail, 0, tail.length, size - tail.length);
    return tail.every((byte, i) => byte === MCAP_MAGIC[i]);
  } finally {
    await handle.close();
  }
}

/**
 * Keeps a recordings folder under a size cap. `fileEnded(bytes)` after each file a recorder ends
 * (cheap: the folder is only listed again once the bytes known to be there pass the cap), `sweep()`
 * to check the folder now (at start).
 */
export class RecordingRetention {
  readonly dir: string;
  readonly maxBytes: number;
  readonly #isWriting: (name: string) => boolean;
  readonly #staleMs: number;
  readonly #lowWater: number;
  readonly #log: (line: string) => void;
  /** Bytes in the folder as of the last sweep plus the files ended since; null before the first sweep. */
  #knownBytes: number | null = null;
  #sweeping: Promise<SweepResult> | null = null;
  #again = false;
  #deletedFiles = 0;

  constructor(options: RetentionOptions) {
    if (!(options.maxBytes > 0)) throw new RangeError(`maxBytes must be a positive number of bytes, got ${options.maxBytes}`);
    this.dir = options.dir;
    this.maxBytes = options.maxBytes;
    this.#isWriting = options.isWriting ?? (() => false);
    this.#staleMs = options.staleMs ?? 60 * 60 * 1000;
    this.#lowWater = options.lowWater ?? 0.9;
    this.#log = options.log ?? ((line) => console.warn(line));
  }

  /** Files deleted so far. */
  get deletedFiles(): number { return this.#deletedFiles; }

  /** A file of `bytes` was just completed in the folder; sweeps when the folder may be over the cap. Resolves when any sweep it started is done. */
  fileEnded(bytes: number): Promise<void> {
    if (this.#knownBytes !== null) this.#knownBytes += bytes;
    if (this.#knownBytes !== null && this.#knownBytes <= this.maxBytes) return Promise.resolve();
    return this.sweep().then(() => undefined);
  }

  /** Lists the folder and deletes the oldest complete files while it is over the cap. One sweep at a time; a call during one runs another after it. */
  sweep(): Promise<SweepResult> {
    if (this.#sweeping) {
      this.#again = true;
      return this.#sweeping;
    }
    const run = async (): Promise<SweepResult> => {
      let result: SweepResult;
      do {
        this.#again = false;
        result = await this.#sweepOnce();
      } while (this.#again);
      return result;
    };
    this.#sweeping = run().finally(() => { this.#sweeping = null; });
    return this.#sweeping;
  }

  async #sweepOnce(): Promise<SweepResult> {
    const files = await this.#list();
    const bytesBefore = files.reduce((sum, f) => sum + f.bytes, 0);
    let bytes = bytesBefore;
    const deleted: string[] = [];
    if (bytes > this.maxBytes) {
      const target = this.maxBytes * this.#lowWater;
      // Oldest first: by the time the file was last written (its end), then by name (its start).
      const byAge = [...files].sort((a, b) => a.modifiedMs - b.modifiedMs || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const file of byAge) {
        if (bytes <= target) break;
        if (!(await this.#deletable(file))) continue;
        try {
          await unlink(join(this.dir, file.name));
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') continue;
        }
        bytes -= file.bytes;
        deleted.push(file.name);
      }
      this.#deletedFiles += deleted.length;
      const cap = `the ${formatMb(this.maxBytes)} cap on ${this.dir}/ (--record-max-mb)`;
      if (deleted.length) {
        this.#log(`recordings: deleted the ${deleted.length} oldest file${deleted.length === 1 ? '' : 's'} (${formatMb(bytesBefore - bytes)}) to stay under ${cap}`);
      }
      if (bytes > this.maxBytes) {
        this.#log(`recordings: ${this.dir}/ holds ${formatMb(bytes)}, over ${cap}, and no more files can go: the rest are being written (or were cut off by a crash less than ${Math.round(this.#staleMs / 60_000)} min ago)`);
      }
    }
    this.#knownBytes = bytes;
    return { bytesBefore, bytesAfter: bytes, deleted };
  }

  async #list(): Promise<FileState[]> {
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((name) => name.endsWith('.mcap'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const files: FileState[] = [];
    for (const name of names) {
      const info = await stat(join(this.dir, name)).catch(() => null);
      if (info?.isFile()) files.push({ name, bytes: info.size, modifiedMs: info.mtimeMs });
    }
    return files;
  }

  /** Complete: not being written here, and ended with its footer (or cut off and untouched for staleMs). */
  async #deletable(file: FileState): Promise<boolean> {
    if (this.#isWriting(file.name)) return false;
    try {
      if (await endsWithMcapFooter(join(this.dir, file.name))) return true;
    } catch {
      return false;
    }
    return Date.now() - file.modifiedMs > this.#staleMs;
  }
}
