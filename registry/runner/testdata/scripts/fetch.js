(function(input) {
  var r = fetch(input.url, { method: input.method || "GET" });
  return { status: r.status, ok: r.ok, body: r.body };
})
