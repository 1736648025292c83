(function(input) {
  return "sum: + input.a;
})
