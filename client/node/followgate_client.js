// A small Node client for followgate (@grpc/grpc-js + @grpc/proto-loader).
//
//   const { FollowgateClient } = require('./followgate_client');
//   const client = new FollowgateClient('localhost:50051', { ca, cert, key, token });
//   for await (const page of client.followerPages('urn:li:organizationalPage:1000')) ...
//
// Errors are grpc-js ServiceErrors; richErrorDetails(error) decodes the
// google.rpc details (ErrorInfo, RetryInfo, BadRequest) the server sends.
'use strict';

const path = require('path');

// The repository this file lives in: the protos and .tools/ are found from it.
const REPO_ROOT = path.join(__dirname, '..', '..');
// Where Debian's golang-github-gogo-googleapis-dev puts google/rpc/*.proto.
const DEBIAN_GOOGLEAPIS = '/usr/share/gocode/src/github.com/gogo/googleapis';

// Loads an npm package from the usual places (NODE_PATH, a node_modules above
// the caller) or else from the .tools/node_modules that scripts/install_deps.sh
// fills, so a fresh clone needs no NODE_PATH.
function requirePackage(name) {
  try {
    return require(name);
  } catch (error) {
    if (error.code !== 'MODULE_NOT_FOUND') throw error;
    return require(require.resolve(name, { paths: [path.join(REPO_ROOT, '.tools')] }));
  }
}

const grpc = requirePackage('@grpc/grpc-js');
const protoLoader = requirePackage('@grpc/proto-loader');
const protobuf = requirePackage('protobufjs');

const LOADER_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

class FollowgateClient {
  // options.protosDir: the folder holding followgate/v1/*.proto (default: this
  //   repository's protos/).
  // options.googleapisDir: the folder holding google/rpc/*.proto (default:
  //   Debian's, from golang-github-gogo-googleapis-dev).
  // options.ca, options.cert, options.key: PEM buffers (TLS when ca is set;
  //   mutual TLS with cert and key). options.token: caller token.
  constructor(target, options = {}) {
    const protosDir = options.protosDir || path.join(REPO_ROOT, 'protos');
    const definition = protoLoader.loadSync(
      ['followgate/v1/follows.proto', 'followgate/v1/invitations.proto'],
      { ...LOADER_OPTIONS, includeDirs: [protosDir, '/usr/include'] });
    const v1 = grpc.loadPackageDefinition(definition).followgate.v1;
    let credentials = options.ca
      ? grpc.credentials.createSsl(options.ca, options.key || null, options.cert || null)
      : grpc.credentials.createInsecure();
    if (options.token) {
      credentials = grpc.credentials.combineChannelCredentials(
        credentials,
        grpc.credentials.createFromMetadataGenerator((_, callback) => {
          const metadata = new grpc.Metadata();
          metadata.set('authorization', 'Bearer ' + options.token);
          callback(null, metadata);
        }));
    }
    this.follows = new v1.FollowsService(target, credentials);
    this.invitations = new v1.InvitationsService(target, credentials);
    this.googleapisDir = options.googleapisDir || DEBIAN_GOOGLEAPIS;
  }

  close() {
    this.follows.close();
    this.invitations.close();
  }

  // Yields FollowerPage messages (heartbeats skipped) after `resumeToken`.
  async *followerPages(followee, { filter = 'FOLLOWER_FILTER_ALL', resumeToken = '' } = {}) {
    const call = this.follows.StreamFollowers(
      { followee, follower_filter: filter, resume_token: resumeToken });
    for await (const page of call) {
      if (!page.heartbeat) yield page;
    }
  }

  // Runs an invitation batch to its end: { requestId, results (by index), progress }.
  invite(companyId, profileUrns, requestId) {
    return new Promise((resolve, reject) => {
      const results = new Map();
      let progress = null;
      const call = this.invitations.SendInvitations(
        { company_id: companyId, profile_urns: profileUrns, request_id: requestId });
      call.on('data', (response) => {
        for (const result of response.results) results.set(result.index, result);
        progress = response.progress;
      });
      call.on('error', reject);
      call.on('end', () => resolve({ requestId, results, progress }));
    });
  }

  // The google.rpc details of a failed call: { errorInfo, retryInfo, badRequest }.
  richErrorDetails(error) {
    const root = protobuf.loadSync(['status.proto', 'error_details.proto'].map(
      (f) => path.join(this.googleapisDir, 'google/rpc', f)));
    const values = error.metadata ? error.metadata.get('grpc-status-details-bin') : [];
    if (values.length === 0) return {};
    const status = root.lookupType('google.rpc.Status').decode(values[0]);
    const details = {};
    for (const any of status.details) {
      const name = any.type_url.split('/').pop();
      const type = root.lookupType(name);
      const key = { 'google.rpc.ErrorInfo': 'errorInfo', 'google.rpc.RetryInfo': 'retryInfo',
                    'google.rpc.BadRequest': 'badRequest' }[name];
      if (key) details[key] = type.toObject(type.decode(any.value), { longs: String });
    }
    return details;
  }
}

module.exports = { FollowgateClient };
