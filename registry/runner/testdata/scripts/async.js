async function main(input) {
  var a = await Promise.resolve(input.a);
  return { sum: a + input.b };
}
