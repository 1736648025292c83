(function(input) {
  return {s: "y".repeat(input.n)};
})
