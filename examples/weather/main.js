(function(input) {
  var url = "https://api.example.com/weather?city=" + encodeURIComponent(input.city);
  var response = fetch(url, { method: "GET" });
  return { city: input.city, celsius: response.body.temperature };
})
