#!/usr/bin/env node
// Entry point of the metamanip CLI: registers the TypeScript loader, then runs the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../scenarios/cli.ts');
process.exitCode = await main(process.argv.slice(2));
