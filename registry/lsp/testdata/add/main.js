(function(input) {
  return { sum: input.a + input.b };
})
