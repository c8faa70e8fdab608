// The GraphQL API, nothing else: fetch POST /graphql for queries and mutations,
// graphql-transport-ws (vendored graphql-ws UMD, window.graphqlWs) for subscriptions.

const ENDPOINT = '/graphql';
const WS_URL = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${ENDPOINT}`;
const TOKEN_KEY = 'flowql.token'; // shared with the GraphiQL page

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY) || '',
  set(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
    resetSocket(); // new credentials need a new connection_init
  },
};

const authorization = () => (token.get() ? { Authorization: `Bearer ${token.get()}` } : {});

/** A failed GraphQL request: `errors` are the response's errors ({message, extensions: {code}}). */
export class GraphQLError extends Error {
  constructor(errors) {
    super(errors.map((e) => e.message).join('; '));
    this.errors = errors;
  }
}

export async function gql(query, variables = {}) {
  let body;
  try {
    const res = await fetch(ENDPOINT, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...authorization() },
      body: JSON.stringify({ query, variables }),
    });
    body = await res.json().catch(() => ({ errors: [{ message: `HTTP ${res.status} ${res.statusText}` }] }));
  } catch (err) {
    throw new GraphQLError([{ message: `network error: ${err.message}` }]);
  }
  if (body.errors?.length) throw new GraphQLError(body.errors);
  return body.data;
}

// --- subscriptions ---------------------------------------------------------------------

/** WebSocket close codes of a refused connection_init, as the GraphQL error codes they mean. */
const REFUSED = { 4401: 'UNAUTHENTICATED', 4403: 'FORBIDDEN' };

let client = null;
let socket = null;
const connectionListeners = new Set();

/** Call `fn(state)` with 'connecting' | 'live' | 'reconnecting' whenever the socket changes. */
export function onConnection(fn) {
  connectionListeners.add(fn);
}
const emit = (state) => connectionListeners.forEach((fn) => fn(state));

function wsClient() {
  client ??= window.graphqlWs.createClient({
    url: WS_URL,
    connectionParams: authorization,
    keepAlive: 10_000, // ping: notices a dead connection even when no event flows
    retryAttempts: Infinity,
    // Retry every drop but a refused token: that needs a new token (a new client) first.
    shouldRetry: (event) => !REFUSED[event?.code],
    retryWait: (retries) => new Promise((r) => setTimeout(r, Math.min(250 * 2 ** retries, 5000))),
    on: {
      connecting: () => emit('connecting'),
      connected: (s) => { socket = s; emit('live'); },
      // 1000: the lazy client closed an unused socket; anything else is a drop, retried.
      closed: (event) => { socket = null; emit(event?.code === 1000 ? 'idle' : 'reconnecting'); },
    },
  });
  return client;
}

/**
 * Subscribe; graphql-ws re-sends the subscription itself after a reconnect, and the server
 * replays stored transitions first, so `next` must be idempotent. Returns an unsubscribe.
 */
export function subscribe(query, variables, { next, error, complete }) {
  return wsClient().subscribe({ query, variables }, {
    next: (result) => (result.errors?.length ? error(new GraphQLError(result.errors)) : next(result.data)),
    error: (err) => error(err instanceof Error ? err : new GraphQLError(Array.isArray(err) ? err : [{
      message: err?.reason || `connection closed (${err?.code ?? 'error'})`,
      extensions: REFUSED[err?.code] ? { code: REFUSED[err.code] } : {},
    }])),
    complete,
  });
}

function resetSocket() {
  client?.dispose();
  client = null;
  socket = null;
  emit('idle');
}

/** Close the live socket as a network drop would; used by the browser test. */
export function dropSocket() {
  socket?.close(4000, 'dropped on purpose');
}
