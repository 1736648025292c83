(function(input) { var a = []; for (;;) a.push(new Uint8Array(1e8)); })
