// Checks GraphQL against Shopify's real Admin API schema, version 2026-10 (the version Xeno
// speaks), as Shopify publishes it inside the npm package @shopify/dev-mcp@1.16.0:
//
//   node check.mjs --sim path/to/shopify-sim [--documents dir ...]
//
// 1. Every type, field, argument, enum value and union member of the simulator's schema
//    exists in Shopify's schema with the same type: the simulator is a faithful subset.
// 2. Every .graphql document under each --documents dir validates against Shopify's schema
//    (using no field Shopify has deprecated) and the simulator's.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  NoDeprecatedCustomRule, buildClientSchema, buildSchema, isEnumType, specifiedRules, isInputObjectType, isInterfaceType,
  isObjectType, isUnionType, parse, validate,
} from 'graphql';

const VERSION = '2026-10';
const PACKAGE = '@shopify/dev-mcp@1.16.0';
// sha256 of package/dist/data/admin_2026-10.json.gz in that package.
const SCHEMA_SHA256 = 'f3b522f264556925eada700e795e4a002a9cba83444ebcc6c0d724254a0c6593';
const here = new URL('.', import.meta.url).pathname;
const cacheDir = join(here, '.cache');
const cached = join(cacheDir, `admin_schema_${VERSION}.json`);

function fetchSchema() {
  if (existsSync(cached)) return JSON.parse(readFileSync(cached, 'utf8'));
  const work = mkdtempSync(join(tmpdir(), 'shopify-schema-'));
  const tarball = execFileSync('npm', ['pack', PACKAGE, '--silent'], { cwd: work, encoding: 'utf8' }).trim().split('\n').pop();
  execFileSync('tar', ['xzf', tarball], { cwd: work });
  const gz = readFileSync(join(work, `package/dist/data/admin_${VERSION}.json.gz`));
  const digest = createHash('sha256').update(gz).digest('hex');
  if (digest !== SCHEMA_SHA256) throw new Error(`schema archive hash ${digest} is not the published ${SCHEMA_SHA256}`);
  const text = gunzipSync(gz).toString('utf8');
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(cached, text);
  return JSON.parse(text);
}

function args() {
  const out = { sim: null, documents: [] };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--sim') out.sim = argv[++i];
    else if (argv[i] === '--documents') out.documents.push(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return out;
}

function shopifySchema() {
  const introspection = fetchSchema();
  return buildClientSchema(introspection.data ?? introspection);
}

const argsOf = (field) => Object.fromEntries((field.args ?? []).map((a) => [a.name, String(a.type)]));

function compareSim(real, sim) {
  const problems = [];
  for (const type of Object.values(sim.getTypeMap())) {
    if (type.name.startsWith('__') || ['String', 'Int', 'Float', 'Boolean', 'ID'].includes(type.name)) continue;
    if (['QueryRoot', 'MutationRoot'].includes(type.name)) continue;
    const twin = real.getType(type.name);
    if (!twin) { problems.push(`type ${type.name} does not exist in Shopify's schema`); continue; }
    if (twin.constructor !== type.constructor) { problems.push(`${type.name} is a ${twin.constructor.name} in Shopify's schema`); continue; }
    if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
      const realFields = twin.getFields();
      for (const [name, field] of Object.entries(type.getFields())) {
        compareField(problems, `${type.name}.${name}`, field, realFields[name]);
      }
    }
    if (isObjectType(type)) {
      const realInterfaces = twin.getInterfaces().map((i) => i.name);
      for (const i of type.getInterfaces()) if (!realInterfaces.includes(i.name)) problems.push(`${type.name} does not implement ${i.name} in Shopify's schema`);
    }
    if (isEnumType(type)) {
      const realValues = twin.getValues().map((v) => v.name);
      for (const v of type.getValues()) if (!realValues.includes(v.name)) problems.push(`${type.name}.${v.name} is not a value in Shopify's schema`);
    }
    if (isUnionType(type)) {
      const members = twin.getTypes().map((t) => t.name);
      for (const t of type.getTypes()) if (!members.includes(t.name)) problems.push(`${t.name} is not a member of ${type.name} in Shopify's schema`);
    }
  }
  // The roots are named differently; compare their fields with Shopify's QueryRoot/Mutation.
  for (const [simRoot, realRoot] of [[sim.getQueryType(), real.getQueryType()], [sim.getMutationType(), real.getMutationType()]]) {
    const realFields = realRoot.getFields();
    for (const [name, field] of Object.entries(simRoot.getFields())) compareField(problems, `${realRoot.name}.${name}`, field, realFields[name]);
  }
  return problems;
}

function compareField(problems, path, field, twin) {
  if (!twin) { problems.push(`${path} does not exist in Shopify's schema`); return; }
  if (String(field.type) !== String(twin.type)) problems.push(`${path} is ${field.type} here but ${twin.type} in Shopify's schema`);
  const realArgs = argsOf(twin);
  for (const [name, type] of Object.entries(argsOf(field))) {
    if (!(name in realArgs)) problems.push(`${path}(${name}:) does not exist in Shopify's schema`);
    else if (realArgs[name] !== type) problems.push(`${path}(${name}:) is ${type} here but ${realArgs[name]} in Shopify's schema`);
  }
  // Defaults decide what a client gets when it omits an argument (orders sort by PROCESSED_AT).
  for (const arg of field.args ?? []) {
    const real = (twin.args ?? []).find((a) => a.name === arg.name);
    if (real && JSON.stringify(real.defaultValue) !== JSON.stringify(arg.defaultValue)) {
      problems.push(`${path}(${arg.name}:) defaults to ${JSON.stringify(arg.defaultValue)} here but ${JSON.stringify(real.defaultValue)} in Shopify's schema`);
    }
  }
}

function documentsIn(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return documentsIn(path);
    return entry.name.endsWith('.graphql') ? [path] : [];
  });
}

const options = args();
const real = shopifySchema();
let failures = 0;
let simSchema = null;
if (options.sim) {
  const sdl = execFileSync(options.sim, ['--print-schema'], { encoding: 'utf8' });
  simSchema = buildSchema(sdl);
  const problems = compareSim(real, simSchema);
  for (const p of problems) console.error(`simulator: ${p}`);
  failures += problems.length;
  console.log(`simulator schema: ${problems.length ? `${problems.length} differences` : `a faithful subset of Shopify Admin ${VERSION}`}`);
}
for (const dir of options.documents) {
  const files = documentsIn(dir);
  for (const file of files) {
    const document = parse(readFileSync(file, 'utf8'));
    // Xeno moves off what Shopify has deprecated in this version.
    const errors = validate(real, document, [...specifiedRules, NoDeprecatedCustomRule]);
    for (const e of errors) console.error(`${file}: ${e.message}`);
    failures += errors.length;
    // The simulator must accept every document Xeno sends, too.
    const simErrors = simSchema ? validate(simSchema, document) : [];
    for (const e of simErrors) console.error(`${file} (simulator): ${e.message}`);
    failures += simErrors.length;
  }
  console.log(`${files.length} documents in ${dir} checked against Shopify Admin ${VERSION}${simSchema ? ' and the simulator' : ''}`);
}
process.exit(failures ? 1 : 0);
