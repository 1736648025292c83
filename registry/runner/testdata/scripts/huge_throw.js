(function(input) {
  throw new Error("x".repeat(input.n));
})
