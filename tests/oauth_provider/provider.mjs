// A real OAuth 2.0 / OpenID Connect provider for the test suite: the npm package `oidc-provider`
// (installed by `make node-tools` into ~/.cache/spreaders/node-tools), configured from one JSON
// argument and listening on 127.0.0.1. Its login and consent pages are the package's own
// devInteractions (any login and password are accepted); it adds one protected resource,
// GET /resource, that answers 200 with the token's subject and scopes for a valid bearer token.
//
// Usage: node provider.mjs '<json>' where json = {modulePath, port, clientId, clientSecret,
// redirectUris, accessTokenTtl, refreshTokenTtl}. Prints "READY <issuer>" once listening.
import { pathToFileURL } from 'node:url';

const config = JSON.parse(process.argv[2]);
const { default: Provider } = await import(pathToFileURL(config.modulePath).href);
const issuer = `http://127.0.0.1:${config.port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: config.clientId,
    client_secret: config.clientSecret,
    redirect_uris: config.redirectUris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'openid offline_access profile email api:read',
  }],
  // PKCE is required for this confidential client too, and only S256 is accepted.
  pkce: { required: () => true },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'api:read'],
  claims: { openid: ['sub'], email: ['email'], profile: ['name'] },
  ttl: {
    AccessToken: config.accessTokenTtl,
    AuthorizationCode: 60,
    RefreshToken: config.refreshTokenTtl,
    Grant: config.refreshTokenTtl,
    Interaction: 600,
    Session: 3600,
    IdToken: 3600,
  },
  // Every refresh hands out a new refresh token and retires the old one (as X and many providers do);
  // reusing a retired one revokes the whole grant, which is why concurrent refreshes must not race.
  rotateRefreshToken: true,
  features: {
    devInteractions: { enabled: true },
    revocation: { enabled: true },
    userinfo: { enabled: true },
  },
  cookies: { keys: ['spreaders-test-cookie-key'] },
  async findAccount(_ctx, sub) {
    return { accountId: sub, claims: async () => ({ sub, email: `${sub}@example.test`, name: sub }) };
  },
});

provider.use(async (ctx, next) => {
  if (ctx.path !== '/resource') {
    await next();
    return;
  }
  const header = ctx.get('authorization');
  const value = header.startsWith('Bearer ') ? header.slice(7) : '';
  const token = value ? await provider.AccessToken.find(value) : undefined;
  if (!token) {
    ctx.status = 401;
    ctx.body = { error: 'invalid_token' };
    return;
  }
  ctx.body = { sub: token.accountId, scope: token.scope, clientId: token.clientId };
});

const server = provider.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(`READY ${issuer}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
