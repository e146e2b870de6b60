// Access tokens for the browser tests, signed with `jose` (not the server's
// JWT library, so a token both accept is the format, not a shared quirk):
// Mercure 1.0 tokens (RFC 9068 `at+jwt` with Mercure authorization
// details, `iss` and `aud` required) and v0.24 tokens (`typ: JWT`, a
// `mercure` claim, neither `iss` nor `aud`).

import { SignJWT } from "jose";

export const ISSUER = "https://example.com";
export const HUB_URL = "https://hub.example.com/.well-known/mercure";
export const PUBLISHER_SECRET = "a publisher secret of at least 32 bytes, for HS256";
export const SUBSCRIBER_SECRET = "a subscriber secret of at least 32 bytes, for HS256";

/** The server flags that make it check tokens signed with the secrets above. */
export const TOKEN_FLAGS = [
  "--publisher-jwt-key", PUBLISHER_SECRET,
  "--subscriber-jwt-key", SUBSCRIBER_SECRET,
  "--jwt-issuer", ISSUER,
  "--hub-url", HUB_URL,
];

const key = (secret) => new TextEncoder().encode(secret);

/**
 * A Mercure 1.0 token granting `actions` on `topics`, each an exact topic
 * or `{ match, match_type }`; signed with the publisher secret if it grants
 * `publish`, else with the subscriber secret, unless `secret` is given.
 */
export async function accessToken(actions, topics, secret) {
  const matchers = topics.map((t) => (typeof t === "string" ? { match: t } : t));
  return new SignJWT({
    client_id: ISSUER,
    authorization_details: [{ type: "https://mercure.rocks/authorization-detail", actions, topics: matchers }],
  })
    .setProtectedHeader({ alg: "HS256", typ: "at+jwt" })
    .setIssuer(ISSUER)
    .setAudience(HUB_URL)
    .setSubject("urn:example:browser-test")
    .setIssuedAt()
    .setExpirationTime("1h")
    .setJti(`urn:example:token:${crypto.randomUUID()}`)
    .sign(key(secret ?? (actions.includes("publish") ? PUBLISHER_SECRET : SUBSCRIBER_SECRET)));
}

/** A Mercure v0.24 token: `{"mercure": {"publish": [...], "subscribe": [...]}}`. */
export async function v0Token(claim, secret) {
  return new SignJWT({ mercure: claim })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(key(secret ?? (claim.publish ? PUBLISHER_SECRET : SUBSCRIBER_SECRET)));
}
