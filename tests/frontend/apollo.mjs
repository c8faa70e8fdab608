// Apollo Client 4 in Node against a running `flowql serve`, as a browser app would use it:
// HttpLink for queries and mutations, GraphQLWsLink (graphql-ws) for subscriptions, a plain
// InMemoryCache. Prints one JSON line of findings; exits 1 on the first broken expectation.
//   node tests/frontend/apollo.mjs http://127.0.0.1:PORT
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const base = process.argv[2];
const operations = new URL('../../graphql/operations/', import.meta.url);
const doc = (name) => gql(readFileSync(new URL(`${name}.graphql`, operations), 'utf8'));

const requests = [];
const countingFetch = (url, init) => {
  requests.push(JSON.parse(init.body).operationName);
  return fetch(url, init);
};
const ws = createClient({ url: `${base.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket });
const link = ApolloLink.split(
  ({ query }) => {
    const definition = getMainDefinition(query);
    return definition.kind === 'OperationDefinition' && definition.operation === 'subscription';
  },
  new GraphQLWsLink(ws),
  new HttpLink({ uri: `${base}/graphql`, fetch: countingFetch }),
);
const client = new ApolloClient({ link, cache: new InMemoryCache() });

function check(condition, message, detail) {
  if (!condition) {
    console.log(JSON.stringify({ ok: false, failed: message, detail }));
    process.exit(1);
  }
}

/** Every result an observable emits, and a way to wait for the first that matches. */
function record(observable) {
  const results = [];
  const waiters = [];
  const subscription = observable.subscribe({
    next: (result) => {
      results.push(result);
      for (const waiter of [...waiters]) {
        if (waiter.predicate(result)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(result);
        }
      }
    },
    error: (error) => waiters.forEach((w) => w.reject(error)),
  });
  return {
    results,
    stop: () => subscription.unsubscribe(),
    waitFor: (predicate, timeoutMs = 10000) => new Promise((resolve, reject) => {
      const found = results.find(predicate);
      if (found) return resolve(found);
      const timer = setTimeout(() => reject(new Error('timed out waiting for a matching result')), timeoutMs);
      waiters.push({ predicate, resolve: (r) => { clearTimeout(timer); resolve(r); }, reject });
    }),
  };
}

const findings = {};

// 1. run -> watched query -> sendEvent: the watched query shows SUCCEEDED from the cache.
const created = await client.mutate({
  mutation: doc('CreateWorkflow'),
  variables: { workflow: { name: 'apollo', stages: [{ wait_event: { event: 'approved' } }] } },
});
const workflowID = created.data.createWorkflow.id;
const ran = await client.mutate({ mutation: doc('RunWorkflow'), variables: { workflowID, variables: {} } });
const instanceID = ran.data.runWorkflow.id;
check(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(instanceID),
  'instance ids are UUIDv7', instanceID);

const watched = record(client.watchQuery({ query: doc('Instance'), variables: { instanceID } }));
const first = await watched.waitFor((r) => r.data?.instance);
findings.before = first.data.instance.status;
check(first.data.instance.status === 'RUNNING', 'the instance runs before the event', first.data.instance.status);
const fetchedBefore = requests.filter((name) => name === 'Instance').length;

const succeeded = watched.waitFor((r) => r.data?.instance?.status === 'SUCCEEDED');
const answer = await client.mutate({ mutation: doc('SendEvent'), variables: { instanceID, eventName: 'approved' } });
check(answer.data.sendEvent.status === 'SUCCEEDED', 'sendEvent answers with the instance that took the event',
  answer.data.sendEvent.status);
const after = await succeeded;
watched.stop();
findings.after = after.data.instance.status;
findings.stageIDs = after.data.instance.stages.map((s) => s.id);
check(after.data.instance.stages[0].status === 'SUCCEEDED', 'the cached stage is updated too',
  after.data.instance.stages);
check(after.data.instance.stages[0].history.length > 0, 'the cached stage keeps its history',
  after.data.instance.stages[0]);
const refetches = requests.filter((name) => name === 'Instance').length - fetchedBefore;
findings.instanceQueriesSent = requests.filter((name) => name === 'Instance').length;
check(fetchedBefore === 1 && refetches === 0, 'no refetch: the mutation result updated the cache', requests);
const normalized = client.cache.extract();
check(normalized[`Stage:${instanceID}:0`]?.status === 'SUCCEEDED', 'stages are normalized by id',
  Object.keys(normalized));

// 2. A subscription streams over graphql-ws: the stored transitions, then live ones, until
// the instance terminates.
const second = await client.mutate({ mutation: doc('RunWorkflow'), variables: { workflowID, variables: {} } });
const secondID = second.data.runWorkflow.id;
const transitions = [];
const streamed = new Promise((resolve, reject) => {
  client.subscribe({ query: doc('StageTransitions'), variables: { instanceID: secondID } }).subscribe({
    next: ({ data }) => {
      transitions.push(`${data.stageTransitions.status}/${data.stageTransitions.instanceStatus}`);
      if (data.stageTransitions.status === 'WAITING') {
        client.mutate({ mutation: doc('SendEvent'), variables: { instanceID: secondID, eventName: 'approved' } })
          .catch(reject);
      }
    },
    error: reject,
    complete: resolve,
  });
});
await Promise.race([streamed, new Promise((_, reject) => setTimeout(() => reject(new Error('stream timed out')), 15000))]);
findings.transitions = transitions;
check(transitions.join(' ') === 'RUNNING/RUNNING WAITING/RUNNING SUCCEEDED/SUCCEEDED',
  'the subscription streams every transition in order and completes', transitions);

// 3. node(id) refetches a normalized object by its id.
const node = await client.query({ query: doc('Node'), variables: { nodeID: `${instanceID}:0` }, fetchPolicy: 'network-only' });
check(node.data.node.__typename === 'Stage' && node.data.node.id === `${instanceID}:0`, 'node(id) finds a stage',
  node.data.node);

// 4. Apollo's persisted query link (APQ): a hash over GET first, the query once, then the
// hash alone.
const sent = [];
const apqClient = new ApolloClient({
  cache: new InMemoryCache(),
  link: new PersistedQueryLink({ sha256: (text) => createHash('sha256').update(text).digest('hex'), useGETForHashedQueries: true })
    .concat(new HttpLink({
      uri: `${base}/graphql`,
      fetch: (url, init) => {
        sent.push(`${init.method ?? 'POST'} ${init.body && JSON.parse(init.body).query ? 'query' : 'hash'}`);
        return fetch(url, init);
      },
    })),
});
for (let round = 0; round < 2; round += 1) {
  const info = await apqClient.query({ query: doc('ServerInfo'), fetchPolicy: 'network-only' });
  check(info.data.serverInfo.version, 'a persisted query answers', info);
}
findings.persistedQueryRequests = sent;
check(sent.join(', ') === 'GET hash, POST query, GET hash', 'APQ: not found, registered, then by hash', sent);

await ws.dispose();
console.log(JSON.stringify({ ok: true, ...findings }));
process.exit(0);
