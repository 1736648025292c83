async function main(input) { throw new DataError("bad data: " + input.a); }
