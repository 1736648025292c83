// Throws one of the error classes as upstream's tasks make them: with
// input.args as the constructor's arguments.
(function(input) {
  var E = globalThis[input.name];
  var e = input.args.length === 0 ? new E() : input.args.length === 1 ? new E(input.args[0]) : new E(input.args[0], input.args[1]);
  return { name: e.name, message: e.message, status: e.status === undefined ? "none" : e.status, isError: e instanceof Error, isOwn: e instanceof E };
})
