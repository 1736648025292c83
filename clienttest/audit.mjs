// Runs the GraphQL over HTTP audit of graphql-http against a live server
// and prints the results as JSON on stdout.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
const results = await auditServer({ url });
console.log(JSON.stringify(results.map(r => ({ id: r.id, name: r.name, status: r.status, reason: r.reason }))));
