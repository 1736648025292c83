(function(input) {
  throw new globalThis[input.name]("it went wrong");
})
