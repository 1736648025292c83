function deeper(n) { return deeper(n + 1) + 1; }
(function(input) { return deeper(0); })
