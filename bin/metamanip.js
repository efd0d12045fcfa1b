#!/usr/bin/env node
// Entry point of the metamanip CLI: registers the TypeScript loader, then runs the CLI.
import { register } from 'tsx/esm/api';

register();
// Output piped into a reader that stops early (| head) is not an error.
process.stdout.on('error', (error) => { if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0); else throw error; });
const { main } = await import('../scenarios/cli.ts');
process.exitCode = await main(process.argv.slice(2));
