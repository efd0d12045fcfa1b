// Writes docs/commands/<command>.md from each command's --help text, so the pages and the CLI agree
// (test/cli.test.ts fails when a page is stale).
import { mkdirSync, writeFileSync } from 'node:fs';
import { COMMAND_NAMES, commandPage } from '../scenarios/cli.ts';

mkdirSync('docs/commands', { recursive: true });
for (const name of COMMAND_NAMES) writeFileSync(`docs/commands/${name}.md`, commandPage(name));
console.log(`wrote docs/commands/{${COMMAND_NAMES.join(',')}}.md`);
