(function(input) { return 42; })
