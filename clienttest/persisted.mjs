// Runs one query twice through Apollo Client's own persisted-queries link,
// hashed queries sent with GET as a polling dashboard would, and prints
// every HTTP exchange and both answers as JSON.
//   node persisted.mjs URL QUERY
import { ApolloClient, InMemoryCache, HttpLink, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { createHash } from 'node:crypto';

const [url, query] = process.argv.slice(2);
const exchanges = [];
const recordingFetch = async (uri, init) => {
  const res = await fetch(uri, init);
  const u = new URL(uri);
  const sent = init.method === 'GET' ? Object.fromEntries(u.searchParams) : JSON.parse(init.body);
  exchanges.push({
    method: init.method,
    withQuery: typeof sent.query === 'string' && sent.query.length > 0,
    withHash: JSON.stringify(sent.extensions || '').includes('sha256Hash'),
    status: res.status,
    etag: res.headers.get('etag'),
  });
  return res;
};

const link = new PersistedQueryLink({
  sha256: (q) => createHash('sha256').update(q).digest('hex'),
  useGETForHashedQueries: true,
}).concat(new HttpLink({ uri: url, fetch: recordingFetch }));
const client = new ApolloClient({ link, cache: new InMemoryCache() });

const answers = [];
for (let i = 0; i < 2; i++) {
  const result = await client.query({ query: gql(query), fetchPolicy: 'network-only' });
  answers.push(result.data);
}
console.log(JSON.stringify({ exchanges, answers }));
