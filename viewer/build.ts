// Bundles the viewer (TypeScript + three.js + the shared protocol codec) with esbuild into
// viewer/dist/, which the gateway serves. Skips the work when nothing it was built from changed;
// writes each file atomically so a server (or a parallel build) never reads half a file.
// Run as a script: `npx tsx viewer/build.ts [--force] [--no-minify]`.

import { build } from 'esbuild';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const VIEWER_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(VIEWER_DIR, '..');
/** Static files copied next to the bundle. */
const STATIC_FILES = ['index.html', 'style.css'];
const STAMP = '.build-inputs.json';

export interface BuildOptions {
  /** Output folder; default viewer/dist. */
  outDir?: string;
  /** Default true. */
  minify?: boolean;
  /** Rebuild even when the output is newer than every input. */
  force?: boolean;
}

/** Builds the viewer and returns the folder to serve (index.html, main.js, style.css). */
export async function buildViewer(options: BuildOptions = {}): Promise<string> {
  const outDir = resolve(options.outDir ?? join(VIEWER_DIR, 'dist'));
  const minify = options.minify ?? true;
  if (!options.force && (await upToDate(outDir, minify))) return outDir;

  const result = await build({
    entryPoints: [join(VIEWER_DIR, 'src', 'main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    minify,
    sourcemap: 'linked',
    outdir: outDir,
    entryNames: '[name]',
    metafile: true,
    write: false,
    logLevel: 'silent',
    legalComments: 'linked',
  });
  await mkdir(outDir, { recursive: true });
  for (const file of result.outputFiles) await writeAtomically(file.path, file.contents);
  for (const name of STATIC_FILES) await writeAtomically(join(outDir, name), await readFile(join(VIEWER_DIR, name)));
  const inputs = [...Object.keys(result.metafile.inputs).map((p) => resolve(ROOT, p)), ...STATIC_FILES.map((name) => join(VIEWER_DIR, name))];
  await writeAtomically(join(outDir, STAMP), new TextEncoder().encode(JSON.stringify({ minify, inputs }, null, 1)));
  return outDir;
}

/** True when the last build's inputs (from its metafile) are all older than its stamp. */
async function upToDate(outDir: string, minify: boolean): Promise<boolean> {
  try {
    const stampPath = join(outDir, STAMP);
    const stamp = JSON.parse(await readFile(stampPath, 'utf8')) as { minify: boolean; inputs: string[] };
    if (stamp.minify !== minify) return false;
    const built = (await stat(stampPath)).mtimeMs;
    for (const name of ['main.js', ...STATIC_FILES]) await stat(join(outDir, name));
    for (const input of stamp.inputs) if ((await stat(input)).mtimeMs > built) return false;
    // A new file in the viewer's sources can only matter through an edited (newer) importer.
    return true;
  } catch {
    return false;
  }
}

let counter = 0;
async function writeAtomically(path: string, contents: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.${counter++}.tmp`;
  await writeFile(temporary, contents);
  await rename(temporary, path);
}


if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = performance.now();
  const args = process.argv.slice(2);
  buildViewer({ force: args.includes('--force'), minify: !args.includes('--no-minify') }).then(async (dir) => {
    const size = (await stat(join(dir, 'main.js'))).size;
    console.log(`viewer built in ${dir} (main.js ${(size / 1024).toFixed(0)} KiB, ${(performance.now() - started).toFixed(0)} ms)`);
  }, (error: Error) => {
    console.error(`viewer build failed: ${error.message}`);
    process.exitCode = 1;
  });
}
