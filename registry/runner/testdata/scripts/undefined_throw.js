(function(input) {
  var x = input.missing.deeper;
  return {};
})
