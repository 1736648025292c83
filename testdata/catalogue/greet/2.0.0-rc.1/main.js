(function(input) {
  var name = input.name.trim();
  return { greeting: "Hello, " + name + "!" };
})
