// The JSON report of the fixture (written by render_fixture_report next to the HTML) must
// validate against docs/findings.schema.json, and the schema must reject a broken report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const HERE = dirname(fileURLToPath(import.meta.url));
const schema = JSON.parse(readFileSync(join(HERE, '../../docs/findings.schema.json'), 'utf8'));
const report = JSON.parse(readFileSync(join(HERE, 'out/report-50.json'), 'utf8'));

const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats(ajv);
const validate = ajv.compile(schema);

test('fixture JSON report validates against the documented schema', () => {
  const ok = validate(report);
  assert.ok(ok, JSON.stringify(validate.errors, null, 2));
  assert.equal(report.findings.length, 50);
  // Every finding has an id, and no two share one.
  const ids = new Set(report.findings.map((f) => f.id));
  assert.equal(ids.size, report.findings.length);
  // The checks section lists passed and not-evaluated rules besides the failed ones.
  const st = (s) => report.checks.filter((c) => c.status === s).map((c) => c.rule_id);
  assert.deepEqual(st('passed'), ['HV018', 'HV019']);
  assert.deepEqual(st('not_evaluated'), ['HV012', 'HV011']);
  // A list evidence value is an array of strings (schema 3), an empty one too.
  const r = structuredClone(report);
  r.findings[0].evidence.x = ['cifs/a, b', 'cifs/c'];
  r.findings[0].evidence.y = [];
  assert.ok(validate(r), JSON.stringify(validate.errors, null, 2));
});

test('the schema rejects what the docs forbid', () => {
  const cases = [
    (r) => { r.schema_version = 1; },
    (r) => { delete r.findings[0].id; },
    (r) => { r.findings[0].id = 'ABC'; },
    (r) => { r.findings[0].evidence.x = { nested: true }; },
    (r) => { r.findings[0].evidence.x = 1.5; },
    (r) => { r.findings[0].evidence.x = ['cifs/a', 1]; },
    (r) => { r.findings[0].first_seen = 'yesterday'; },
    (r) => { r.findings[0].severity = 'severe'; },
    (r) => { r.delegations[0].delegation_type = 'bogus'; },
    (r) => { delete r.complete; },
    (r) => { r.readiness[0].cells[0].ready = 'yes'; },
    (r) => { r.checks[0].status = 'skipped'; },
    (r) => { delete r.checks.find((c) => c.status === 'not_evaluated').reason; },
    (r) => { r.checks.find((c) => c.status === 'passed').reason = 'why'; },
    (r) => { r.summary.by_category.pop(); },
    (r) => { r.fix_first[0].unblocks = -1; },
    (r) => { r.hosts[0].inventory = 'maybe'; },
    (r) => { r.hosts[0].migration_enabled = 'yes'; },
  ];
  for (const mutate of cases) {
    const r = structuredClone(report);
    mutate(r);
    assert.equal(validate(r), false, mutate.toString());
  }
});
