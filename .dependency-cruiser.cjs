// The layer rules of the code base (docs/ARCHITECTURE.md lists them; test/architecture.test.ts runs
// them). Imports run one way: protocol <- sim <- agent <- bridge, scenarios; viewer/src on protocol only.
// Each rule's `comment` says why it exists; the test prints it with every violation.

/** Our own top-level folders: a dependency into one of these is "ours" (npm packages and Node builtins are not). */
const OURS = '^(sim|agent|bridge|scenarios|protocol|viewer|bench|test|bin|scripts)/';

/** A layer may import its own folder and the folders below it, plus npm packages and Node builtins. */
const onlyFrom = (name, from, allowed, comment) => ({
  name,
  severity: 'error',
  comment,
  from: { path: from },
  to: { path: OURS, pathNot: allowed },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle ties modules into one unit that can only be loaded, tested and changed together; '
        + 'imports run one way (down the layer order), type-only imports included.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve to a file escapes every other rule (and fails at run time).',
      from: {},
      to: { couldNotResolve: true },
    },
    onlyFrom('protocol-imports-nothing-of-ours', '^protocol/', '^protocol/',
      'protocol/ is the bottom layer that the browser viewer, the gateway and the agent share: '
        + 'anything of ours it imported would be dragged into all of them (and into the browser bundle).'),
    {
      name: 'protocol-no-node-builtins',
      severity: 'error',
      comment: 'protocol/ is bundled for the browser (viewer/build.ts, platform browser), where Node builtins do not exist.',
      from: { path: '^protocol/' },
      to: { dependencyTypes: ['core'] },
    },
    onlyFrom('sim-only-on-protocol', '^sim/', '^(sim|protocol)/',
      'sim/ knows physics and tasks, nothing else: it is stepped alike from tests, worker threads, the '
        + 'gateway and the agent, so it must not depend on any of them.'),
    onlyFrom('agent-only-on-sim-protocol', '^agent/', '^(agent|sim|protocol)/',
      'agent/ knows learning and sees environments through the env interface; the wire (bridge/) and '
        + 'the runner (scenarios/) sit above it.'),
    {
      name: 'agent-knows-no-policy-wire-keys',
      severity: 'error',
      comment: 'The policy server\'s metadata and observation keys are wire conventions (protocol/policy.ts) '
        + 'that bridge/ speaks; the agent acts on plain arrays and knows no wire keys.',
      from: { path: '^agent/' },
      to: { path: '^protocol/policy\\.ts$' },
    },
    onlyFrom('bridge-only-on-agent-sim-protocol', '^bridge/', '^(bridge|agent|sim|protocol)/',
      'bridge/ knows the wire and calls sim/ and agent/; the runner (scenarios/), the viewer, '
        + 'benchmarks and tests sit above or beside it.'),
    // bench/ is left to the bench rules below, which allow the CLI's dynamic import of it.
    onlyFrom('scenarios-only-on-layers-below', '^scenarios/', '^(scenarios|bridge|agent|sim|protocol|bench)/|^viewer/[^/]+$',
      'scenarios/ turns a YAML file into a run of the layers below it (viewer tooling such as the build '
        + 'included); test/ is a leaf on top and viewer/src is a browser app.'),
    onlyFrom('viewer-src-only-on-protocol', '^viewer/src/', '^(viewer/src|protocol)/',
      'The viewer is a browser app: it shares only protocol/ with the server, so no server code is '
        + 'bundled into (or breaks) the page.'),
    {
      name: 'viewer-src-no-node-builtins',
      severity: 'error',
      comment: 'viewer/src is bundled for the browser, where Node builtins do not exist.',
      from: { path: '^viewer/src/' },
      to: { dependencyTypes: ['core'] },
    },
    onlyFrom('viewer-tooling-only-on-viewer-protocol', '^viewer/[^/]+$', '^(viewer|protocol)/',
      'The viewer\'s build and browser launcher (viewer/*.ts) serve the tests, the benchmark and the '
        + 'gateway alike, so they import none of them.'),
    {
      name: 'bench-not-on-test',
      severity: 'error',
      comment: 'Benchmarks are tools a person runs; test helpers are not part of the product they measure. '
        + 'What both need lives in the product (e.g. viewer/browser.ts).',
      from: { path: '^bench/' },
      to: { path: '^test/' },
    },
    {
      name: 'bench-is-a-leaf',
      severity: 'error',
      comment: 'Nothing imports bench/ at load time: loading the CLI, a test or the gateway must not load '
        + 'benchmark code (the CLI\'s `bench` command imports it dynamically when run).',
      from: { pathNot: '^bench/' },
      to: { path: '^bench/', dynamic: false },
    },
    {
      name: 'bench-loaded-only-by-the-cli',
      severity: 'error',
      comment: 'The one dynamic import of bench/ is the CLI\'s `bench` command (scenarios/cli.ts).',
      from: { pathNot: '^(bench/|scenarios/cli\\.ts$)' },
      to: { path: '^bench/', dynamic: true },
    },
    {
      name: 'families-do-not-import-families',
      severity: 'error',
      comment: 'A task family is a small declarative module; what families share (reward tails, expert '
        + 'motions, fixtures) lives in shared sim/ modules, not in another family. Only the registry '
        + '(sim/families/index.ts) imports the families.',
      from: { path: '^sim/families/', pathNot: '^sim/families/index\\.ts$' },
      to: { path: '^sim/families/' },
    },
  ],
  options: {
    // Type-only imports count: a layer that needs another's types depends on it all the same.
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    // Resolve packages through their "exports" maps, as Node does (e.g. tsx/esm/api).
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
