(function(input) { while (true) {} })
