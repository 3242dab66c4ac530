"""Test scripts shared by the Postman collection's requests (JavaScript, run by Postman and newman)."""

# Every request checks at least this much; the walk-through's requests check their own outcome.
GENERIC_TEST = [
    "pm.test('no server error', function () { pm.expect(pm.response.code).to.be.below(500); });",
    "if (pm.response.code >= 400) {",
    "  pm.test('error envelope', function () {",
    "    var body = pm.response.json();",
    "    pm.expect(body.code).to.eql(pm.response.code);",
    "    pm.expect(body.message).to.be.a('string');",
    "  });",
    "}",
]
# The login request keeps the tokens for the requests after it.
STORE_TOKENS = [
    "if (pm.response.code === 200 || pm.response.code === 201) {",
    "  var tokens = pm.response.json();",
    "  pm.environment.set('accessToken', tokens.access_token);",
    "  pm.environment.set('refreshToken', tokens.refresh_token);",
    "  pm.collectionVariables.set('accessToken', tokens.access_token);",
    "  pm.collectionVariables.set('refreshToken', tokens.refresh_token);",
    "}",
]
