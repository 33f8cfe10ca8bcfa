// Resolve credentials with the SDK's default chain and print where they came from.
// Prints JSON: {"ok": true, "accessKeyId": "...", "temporary": bool} or {"ok": false, "error": "..."}.
// The access key id is an identifier, not a secret; the secret and token are never printed.
import { fromNodeProviderChain } from "@aws-sdk/credential-providers";

try {
  const creds = await fromNodeProviderChain()();
  console.log(JSON.stringify({ ok: true, accessKeyId: creds.accessKeyId, temporary: Boolean(creds.sessionToken) }));
} catch (err) {
  console.log(JSON.stringify({ ok: false, error: `${err.name}: ${err.message}`.split("\n")[0] }));
}
