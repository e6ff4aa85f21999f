// The Node client (client/node) against the running server over mutual TLS.
// Run by mtls_clients_test.py, which starts the server and sets the
// FOLLOWGATE_* environment.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const grpc = require('@grpc/grpc-js');
const { FollowgateClient } = require(process.env.FOLLOWGATE_CLIENT);

const PAGE = 'urn:li:organizationalPage:42';

function client() {
  return new FollowgateClient(process.env.FOLLOWGATE_TARGET, {
    protosDir: process.env.FOLLOWGATE_PROTOS,
    googleapisDir: '/usr/share/gocode/src/github.com/gogo/googleapis',
    ca: fs.readFileSync(process.env.FOLLOWGATE_TLS_CA),
    cert: fs.readFileSync(process.env.FOLLOWGATE_TLS_CERT),
    key: fs.readFileSync(process.env.FOLLOWGATE_TLS_KEY),
    token: process.env.FOLLOWGATE_TOKEN,
  });
}

test('streams every follower', async () => {
  const c = client();
  const urns = new Set();
  for await (const page of c.followerPages(PAGE, { filter: 'FOLLOWER_FILTER_MEMBERS' })) {
    for (const edge of page.edges) urns.add(edge.follower.urn);
  }
  c.close();
  assert.strictEqual(urns.size, 2345);
});

test('resumes right after a page from its token', async () => {
  const c = client();
  const pages = [];
  for await (const page of c.followerPages(PAGE, { filter: 'FOLLOWER_FILTER_MEMBERS' })) {
    pages.push(page);
  }
  const rest = [];
  for await (const page of c.followerPages(
      PAGE, { filter: 'FOLLOWER_FILTER_MEMBERS', resumeToken: pages[1].resume_token })) {
    rest.push(page);
  }
  c.close();
  assert.deepStrictEqual(rest.map((p) => p.sequence_number), ['2']);
  assert.strictEqual(rest[0].edges.length, pages[2].edges.length);
});

test('sends an invitation batch', async () => {
  const c = client();
  const urns = Array.from({ length: 75 }, (_, i) => `urn:li:fsd_profile:Node${i}`);
  const { results, progress } = await c.invite('105672170', urns, 'node-batch');
  c.close();
  assert.strictEqual(results.size, 75);
  assert.strictEqual(progress.sent, 75);
  assert.strictEqual(progress.upstream_requests, 2);
});

test('decodes rich error details', async () => {
  const c = client();
  await assert.rejects(
    async () => {
      for await (const _ of c.followerPages('urn:li:person:nope')) { /* unreachable */ }
    },
    (error) => {
      assert.strictEqual(error.code, grpc.status.INVALID_ARGUMENT);
      const details = c.richErrorDetails(error);
      assert.strictEqual(details.errorInfo.reason, 'INVALID_FIELD');
      assert.strictEqual(details.errorInfo.domain, 'followgate.dev');
      assert.strictEqual(details.badRequest.fieldViolations[0].field, 'followee');
      return true;
    });
  c.close();
});
