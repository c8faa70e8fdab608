// Boots GraphiQL against the endpoint this page was served from: POST for queries and
// mutations, graphql-transport-ws on the same path for subscriptions (bundled in GraphiQL).
(function () {
  const url = location.origin + location.pathname;
  const subscriptionUrl = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + location.pathname;
  // Same session token as the status page (/): sent on both transports.
  const token = sessionStorage.getItem('flowql.token') || '';
  const auth = token ? { Authorization: 'Bearer ' + token } : {};

  const fetcher = GraphiQL.createFetcher({ url, subscriptionUrl, headers: auth, wsConnectionParams: auth });
  const defaultQuery = [
    '# flowql: try a query, then a mutation or a subscription.',
    '{',
    '  serverInfo { version }',
    '  workflows(first: 5) { edges { node { id name } } pageInfo { hasNextPage endCursor } }',
    '}',
    '',
  ].join('\n');

  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, { fetcher, defaultQuery, defaultEditorToolsVisibility: true }),
  );
})();
