// Starts GraphiQL against this server: queries over HTTP, subscriptions
// over the graphql-transport-ws WebSocket on the same /graphql.
(function () {
  var wsURL = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/graphql';
  var fetcher = GraphiQL.createFetcher({
    url: '/graphql',
    wsClient: graphqlWs.createClient({ url: wsURL, lazy: true }),
  });
  var defaultQuery = [
    '# The latest version of every task, and what is broken.',
    '{',
    '  tasks { id version label availableVersions stale }',
    '  loadErrors { path line column message }',
    '}',
    '',
    '# Live changes: run this one and save a task file.',
    '# subscription { registryEvents { generation kind id version task { label stale } error { path line message } } }',
    '',
  ].join('\n');
  // ?query= opens with that operation, for links and for tests.
  var fromURL = new URLSearchParams(location.search).get('query');
  var props = { fetcher: fetcher, defaultQuery: defaultQuery, defaultEditorToolsVisibility: true };
  if (fromURL) props.query = fromURL;
  ReactDOM.createRoot(document.getElementById('graphiql')).render(React.createElement(GraphiQL, props));
})();
