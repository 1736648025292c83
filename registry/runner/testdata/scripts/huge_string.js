(function(input) { var a = []; for (;;) a.push("x".repeat(3e8)); })
