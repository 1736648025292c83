(function(input) {
  throw new Error("x".repeat(12 << 20));
})
