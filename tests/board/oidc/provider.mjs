// A real OpenID Connect provider for the board's sign-in tests (panva/oidc-provider, the
// OpenID-certified implementation). Started by tests/board/conftest.py; never by the product.
//
//   node tests/board/oidc/provider.mjs CONFIG.json
//
// CONFIG.json: {issuer, port, keys: [private JWKs], accounts: {login: {email, name, groups}},
// registration_token, cookie_key}. The issuer may be another address than the port it listens
// on (the tests put a small proxy in front of it). Clients register themselves through dynamic
// client registration (RFC 7591), so every test server brings its own redirect URI.
// The built-in development login and consent pages are the provider's own.
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const accounts = config.accounts;

const provider = new Provider(config.issuer, {
  jwks: { keys: config.keys },
  cookies: { keys: [config.cookie_key] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'groups'],
  },
  features: {
    devInteractions: { enabled: true },
    registration: { enabled: true, initialAccessToken: config.registration_token },
    rpInitiatedLogout: { enabled: true },
  },
  // Every client must use PKCE: a sign-in without it fails at the provider.
  pkce: { required: () => true },
  async findAccount(_ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, email_verified: true, ...account };
      },
    };
  },
});

provider.on('server_error', (_ctx, error) => console.error('provider server_error', error));

const server = provider.listen(config.port, '127.0.0.1', () => {
  console.log(`oidc-provider ready on 127.0.0.1:${config.port} as ${config.issuer}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
