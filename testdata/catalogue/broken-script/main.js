(function(input) {
  return { greeting: "Hi " + };
})
