(function(input) {
  const city = input.city || "Berlin";
  const response = fetch("https://api.example.com/weather?q=" + encodeURIComponent(city));
  if (response.body.error) {
    throw new HttpError(502, "Weather service said: " + response.body.error);
  }
  if (typeof response.body.temp !== "number") {
    throw new DataError();
  }
  return { city: city, temperature: response.body.temp };
})
