(function(input) {
  if (!input.name) {
    throw new ValidationError("name is required");
  }
  return {};
})
