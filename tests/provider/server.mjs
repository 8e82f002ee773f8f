// A real OpenID provider for axum-identity's tests and quickstart example.
//
// It wraps `oidc-provider` (OpenID Certified) with just enough around it to be driven by tests:
// sign-in/consent pages a scripted browser can fill in, in-memory storage a test can inspect and
// revoke, and request counters.
//
//   PROVIDER_CONFIG='{"clients":[...]}' node tests/provider/server.mjs
//
// When it listens it prints exactly one line to stdout, `{"issuer":"http://127.0.0.1:<port>"}`;
// everything else goes to stderr. It exits when stdin closes (so it dies with the test process that
// spawned it) and on SIGTERM/SIGINT.
//
// PROVIDER_CONFIG (JSON, every field optional):
//   port                   listen port on 127.0.0.1; 0 (default) = ephemeral
//   clients                oidc-provider client metadata objects, passed through as-is
//                          (default: the `test-client` web client and, with deviceFlow, the
//                          `test-device` public device-flow client below)
//   accessTokenTtl         seconds, default 3600
//   idTokenTtl             seconds, default 3600
//   refreshTokenTtl        seconds, default 14 days
//   conformIdTokenClaims   default false: profile/email claims go into the ID token;
//                          true: the ID token from the code flow only has `sub`, the rest comes from userinfo
//   extraScopes            extra scope names accepted and grantable, default ["api.read", "api.write"]
//   deviceFlow             default true
//   deviceCodeTtl          seconds a device code lives, default 600
//   autoConsent            default false; true grants the consent prompt without showing a page
//   tokensExpireWithSession default false: tokens outlive the provider's browser session (as with most real
//                          providers) and RP-initiated logout does not revoke them; true: oidc-provider's
//                          own default for grants without offline_access (tokens die with the session)
//   rotateRefreshTokens    true / false; default: oidc-provider's policy (always for public clients,
//                          for confidential ones once 70% of the lifetime has passed)
//   verbose                default false; true logs every request to stderr
//   responseMode           default none (what each authorization request asks for); "form_post": every
//                          authorization response is posted back by an auto-submitting form, as a provider
//                          that insists on form_post does
//   apiResource            default none (no resource server: access tokens are opaque, for userinfo).
//                          {"indicator": "api://test-api", "scopes": ["api.read"], "roles": {"<sub or
//                          client_id>": ["Role"]}}: a web API as an RFC 8707 resource server. Its scopes
//                          are resource scopes (no longer OIDC scopes); a request asking for one of them
//                          without a `resource` parameter is for this API; its access tokens are RFC 9068
//                          JWTs (`typ: at+jwt`, `aud` = indicator) carrying `roles` for the listed
//                          accounts or clients; the client_credentials grant is enabled (app-only
//                          tokens, `sub` = client_id).
//
// Clients may authenticate with private_key_jwt (token_endpoint_auth_method 'private_key_jwt' and
// a `jwks` with the public key), and use the client_credentials and RFC 8693 token exchange
// (urn:ietf:params:oauth:grant-type:token-exchange) grants when their grant_types say so.
//
// Accounts: any user name signs in with any password. `sub` is the user name, with claims
// name (first letter upper-cased), preferred_username, email `<login>@example.test`, email_verified.
//
// Test hooks on the same port:
//   GET  /__stats              request counts per endpoint since start (or the last reset)
//   POST /__reset_stats        zero them
//   POST /__revoke_all?sub=X   revoke every grant and token of subject X

// oidc-provider prints its notices with console.info, i.e. to stdout, which is reserved for the
// ready line. Send all console output to stderr *before* oidc-provider is loaded (hence the dynamic
// imports below), and drop the "unsupported runtime" warning: Node 20 works fine for tests.
const toStderr = (...args) => console.error(...args);
console.log = toStderr;
console.info = toStderr;
console.debug = toStderr;
const warn = console.warn.bind(console);
console.warn = (...args) => {
  if (String(args[0]).includes('Unsupported runtime')) return;
  warn(...args);
};

const { createServer } = await import('node:http');
const { randomBytes } = await import('node:crypto');
const jose = await import('jose');
const { default: Provider, errors } = await import('oidc-provider');

// ---------------------------------------------------------------------------------------------
// Configuration

const DAY = 24 * 60 * 60;

const config = (() => {
  const raw = process.env.PROVIDER_CONFIG;
  if (!raw || raw.trim() === '') return {};
  try {
    return JSON.parse(raw);
  } catch (err) {
    console.error(`PROVIDER_CONFIG is not valid JSON: ${err.message}`);
    process.exit(2);
  }
})();

const defaultClients = [
  {
    // A confidential web app, like the quickstart example.
    client_id: 'test-client',
    client_secret: 'test-secret',
    redirect_uris: ['http://127.0.0.1:3000/callback', 'http://localhost:3000/callback'],
    post_logout_redirect_uris: ['http://127.0.0.1:3000/', 'http://localhost:3000/'],
    grant_types: ['authorization_code', 'refresh_token'],
  },
  {
    // A public client for the device authorization flow (it must have no secret, see DESIGN.md).
    client_id: 'test-device',
    token_endpoint_auth_method: 'none',
    grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
    response_types: [],
  },
];

const settings = {
  port: config.port ?? 0,
  clients: config.clients
    ?? defaultClients.filter((c) => config.deviceFlow !== false || c.client_id !== 'test-device'),
  accessTokenTtl: config.accessTokenTtl ?? 3600,
  idTokenTtl: config.idTokenTtl ?? 3600,
  refreshTokenTtl: config.refreshTokenTtl ?? 14 * DAY,
  conformIdTokenClaims: config.conformIdTokenClaims ?? false,
  extraScopes: config.extraScopes ?? ['api.read', 'api.write'],
  deviceFlow: config.deviceFlow ?? true,
  deviceCodeTtl: config.deviceCodeTtl ?? 600,
  autoConsent: config.autoConsent ?? false,
  tokensExpireWithSession: config.tokensExpireWithSession ?? false,
  rotateRefreshTokens: config.rotateRefreshTokens,
  verbose: config.verbose ?? false,
  apiResource: config.apiResource ?? null,
  responseMode: config.responseMode ?? null,
};
const api = settings.apiResource;
const oidcExtraScopes = settings.extraScopes.filter((scope) => !api?.scopes?.includes(scope));
const isApiScope = (scope) => Boolean(api?.scopes?.includes(scope));

// The API as a resource server (RFC 8707), when configured.
const resourceIndicators = api ? {
  enabled: true,
  defaultResource: async (ctx, _client, oneOf) => {
    if (oneOf) return oneOf;
    const scope = ctx.oidc.params?.scope;
    if (typeof scope === 'string' && scope.split(' ').some(isApiScope)) return api.indicator;
    return undefined;
  },
  // The code and refresh grants carry no `resource`: use the one the authorization granted.
  useGrantedResource: async () => true,
  getResourceServerInfo: async (_ctx, indicator) => {
    if (indicator !== api.indicator) throw new errors.InvalidTarget();
    return {
      scope: api.scopes.join(' '),
      audience: api.indicator,
      accessTokenFormat: 'jwt',
      accessTokenTTL: settings.accessTokenTtl,
      jwt: { sign: { alg: 'RS256' } },
    };
  },
} : undefined;

const log = (...args) => console.error('[provider]', ...args);

// ---------------------------------------------------------------------------------------------
// Storage: a plain Map instead of oidc-provider's development adapter. That one is an LRU capped
// at 1000 entries and cannot be searched by subject; this one keeps everything until it expires
// and lets /__revoke_all find a subject's grants and tokens.

const store = new Map(); // `${model}:${id}` -> { model, payload, expiresAt }

// Expired entries are kept a minute longer so oidc-provider itself sees them and answers
// "refresh token is expired" rather than "not found" (both are invalid_grant).
const GRACE_MS = 60_000;
const alive = (entry) => entry && entry.expiresAt + GRACE_MS > Date.now();

class TestAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity;
    store.set(this.key(id), { model: this.model, payload, expiresAt });
  }

  async find(id) {
    const entry = store.get(this.key(id));
    return alive(entry) ? entry.payload : undefined;
  }

  #findBy(field, value) {
    for (const entry of store.values()) {
      if (entry.model === this.model && entry.payload[field] === value && alive(entry)) {
        return entry.payload;
      }
    }
    return undefined;
  }

  async findByUid(uid) {
    return this.#findBy('uid', uid);
  }

  async findByUserCode(userCode) {
    return this.#findBy('userCode', userCode);
  }

  async consume(id) {
    const entry = store.get(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    store.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    for (const [key, entry] of store) {
      if (entry.model === this.model && entry.payload.grantId === grantId) store.delete(key);
    }
  }
}

// Kinds of stored things that belong to a subject's authorization (sessions are left alone).
const GRANT_BOUND = new Set([
  'Grant', 'AccessToken', 'RefreshToken', 'AuthorizationCode', 'DeviceCode',
  'BackchannelAuthenticationRequest',
]);

function revokeAll(sub) {
  let revoked = 0;
  for (const [key, entry] of store) {
    if (GRANT_BOUND.has(entry.model) && entry.payload.accountId === sub) {
      store.delete(key);
      revoked += 1;
    }
  }
  return revoked;
}

// ---------------------------------------------------------------------------------------------
// Accounts: anyone is who they say they are.

function accountClaims(login) {
  return {
    sub: login,
    name: login.charAt(0).toUpperCase() + login.slice(1),
    preferred_username: login,
    email: `${login}@example.test`,
    email_verified: true,
  };
}

async function findAccount(_ctx, sub) {
  return {
    accountId: sub,
    // oidc-provider filters these by the granted scopes/claims and by where they go.
    async claims() {
      return accountClaims(sub);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Pages. Plain HTML without scripts: the tests' browser reads forms, it runs no JavaScript.

const escapeHtml = (value) => String(value)
  .replace(/&/g, '&amp;')
  .replace(/</g, '&lt;')
  .replace(/>/g, '&gt;')
  .replace(/"/g, '&quot;')
  .replace(/'/g, '&#39;');

const page = (title, body) => `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>`;

// oidc-provider hands its built-in pages a `<form>...</form>` string with the hidden fields it needs
// and expects buttons outside it (`form="..."` attributes). Put the buttons inside instead, so any
// form parser sees them.
const withButtons = (formHtml, buttons) => formHtml.replace(/<\/form>\s*$/, `${buttons}\n</form>`);

function loginPage(uid, params, error) {
  const hint = params.login_hint ? ` value="${escapeHtml(params.login_hint)}"` : '';
  return page('Sign-in', `${error ? `<p class="error">${escapeHtml(error)}</p>\n` : ''}<p>Any user name and any password will do.</p>
<form id="login-form" method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="off">
  <input type="hidden" name="prompt" value="login">
  <label>User name <input type="text" name="login" required autofocus${hint}></label>
  <label>Password <input type="password" name="password"></label>
  <button type="submit">Sign in</button>
</form>
<p><a href="/interaction/${escapeHtml(uid)}/abort">Cancel</a></p>`);
}

function consentPage(uid, client, details) {
  const scopes = [...(details.missingOIDCScope ?? [])];
  const claims = [...(details.missingOIDCClaims ?? [])];
  const resources = Object.entries(details.missingResourceScopes ?? {})
    .map(([resource, list]) => `${resource}: ${list.join(' ')}`);
  const items = [...scopes, ...claims, ...resources]
    .map((item) => `  <li>${escapeHtml(item)}</li>`).join('\n');
  return page('Authorize', `<p><strong>${escapeHtml(client?.clientName ?? client?.clientId ?? 'An application')}</strong> asks for:</p>
<ul id="requested">
${items || '  <li>confirmation of an earlier authorization</li>'}
</ul>
<form id="consent-form" method="post" action="/interaction/${escapeHtml(uid)}/confirm">
  <input type="hidden" name="prompt" value="consent">
  <button type="submit">Allow</button>
</form>
<p><a href="/interaction/${escapeHtml(uid)}/abort">Deny</a></p>`);
}

// Grants everything the consent prompt says is missing (as oidc-provider's development pages do).
// The extra scopes are OIDC scopes here (no resource indicators), so they come in missingOIDCScope.
async function grantConsent(provider, interaction) {
  const { prompt: { details }, grantId, session, params } = interaction;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  for (const detail of details.rar ?? []) grant.addRar(detail);
  return grant.save();
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('form body too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// ---------------------------------------------------------------------------------------------
// Request counters

const TOKEN_GRANTS = ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code', 'client_credentials'];

function zeroStats() {
  return {
    token: Object.fromEntries(TOKEN_GRANTS.map((grant) => [grant, 0])),
    discovery: 0,
    jwks: 0,
    userinfo: 0,
    authorization: 0,
    end_session: 0,
    device_authorization: 0,
    introspection: 0,
    revocation: 0,
  };
}

let stats = zeroStats();

// Paths as configured in `routes` below (oidc-provider's defaults, spelled out here).
const routes = {
  authorization: '/auth',
  token: '/token',
  userinfo: '/me',
  jwks: '/jwks',
  end_session: '/session/end',
  device_authorization: '/device/auth',
  code_verification: '/device',
  introspection: '/token/introspection',
  revocation: '/token/revocation',
};

const endpointByPath = new Map([
  ['/.well-known/openid-configuration', 'discovery'],
  ['/.well-known/oauth-authorization-server', 'discovery'],
  [routes.authorization, 'authorization'],
  [routes.token, 'token'],
  [routes.userinfo, 'userinfo'],
  [routes.jwks, 'jwks'],
  [routes.end_session, 'end_session'],
  [routes.device_authorization, 'device_authorization'],
  [routes.introspection, 'introspection'],
  [routes.revocation, 'revocation'],
]);

// ---------------------------------------------------------------------------------------------
// Start: listen first (the port may be ephemeral and the issuer must name it), then build the
// provider with that issuer and hand it the requests.

const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(settings.port, '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const signingKey = { ...await jose.exportJWK(privateKey), alg: 'RS256', use: 'sig' };
signingKey.kid = await jose.calculateJwkThumbprint(signingKey);

const provider = new Provider(issuer, {
  adapter: TestAdapter,
  clients: settings.clients,
  clientDefaults: {
    // Clients that do not say otherwise may refresh, as with most real providers.
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  },
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  findAccount,
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
  },
  scopes: ['openid', 'offline_access', 'profile', 'email', ...oidcExtraScopes],
  conformIdTokenClaims: settings.conformIdTokenClaims,
  pkce: { required: () => true }, // S256 is the only method oidc-provider 9 accepts.
  routes,
  ttl: {
    AccessToken: settings.accessTokenTtl,
    IdToken: settings.idTokenTtl,
    RefreshToken: settings.refreshTokenTtl,
    AuthorizationCode: 60,
    ClientCredentials: settings.accessTokenTtl,
    DeviceCode: settings.deviceCodeTtl,
    Interaction: 3600,
    Session: 14 * DAY,
    // A refresh needs its grant, so the grant must live at least as long as the refresh token.
    Grant: Math.max(settings.refreshTokenTtl, 14 * DAY),
  },
  // oidc-provider only keeps offline_access when the request has prompt=consent (OIDC Core 11) and
  // by default only issues refresh tokens for offline_access. Real providers hand them to any
  // client allowed to refresh, so do that.
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  expiresWithSession: async () => settings.tokensExpireWithSession,
  ...(settings.rotateRefreshTokens === undefined ? {} : { rotateRefreshToken: settings.rotateRefreshTokens }),
  // autoConsent: hand back a grant holding whatever is asked, so the consent prompt never shows.
  // (Runs once the user is signed in; otherwise oidc-provider's default behaviour.)
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    let grant = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
    if (!settings.autoConsent) return grant;
    grant ??= new ctx.oidc.provider.Grant({
      accountId: ctx.oidc.session.accountId,
      clientId: ctx.oidc.client.clientId,
    });
    grant.addOIDCScope([...ctx.oidc.requestParamOIDCScopes].join(' '));
    grant.addOIDCClaims([...ctx.oidc.requestParamClaims]);
    const apiScopes = [...ctx.oidc.requestParamScopes].filter(isApiScope);
    if (apiScopes.length > 0) grant.addResourceScope(api.indicator, apiScopes.join(' '));
    await grant.save();
    return grant;
  },
  clientBasedCORS: () => true,
  // App roles in the API's access tokens, for the accounts or clients apiResource.roles lists.
  extraTokenClaims: async (_ctx, token) => {
    const roles = api?.roles?.[token.accountId ?? token.clientId];
    return roles ? { roles } : undefined;
  },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    ctx.body = page('Error', Object.entries(out)
      .map(([key, value]) => `<p class="${escapeHtml(key)}"><strong>${escapeHtml(key)}</strong>: ${escapeHtml(value)}</p>`)
      .join('\n'));
  },
  // The provider's own outgoing requests (back-channel logout tokens) go to the apps under test,
  // which listen on loopback; oidc-provider's SSRF guard refuses special-use addresses, so this
  // test provider sends them without it.
  fetch: (url, options) => {
    const { dispatcher, ...rest } = options;
    return globalThis.fetch(url, rest);
  },
  features: {
    devInteractions: { enabled: false }, // our own pages below
    revocation: { enabled: true, allowedPolicy: async () => true },
    introspection: { enabled: true, allowedPolicy: async () => true },
    userinfo: { enabled: true },
    // App-only tokens, for clients whose grant_types list client_credentials (no other client
    // may use the grant, so enabling it changes nothing for them).
    clientCredentials: { enabled: true },
    // Clients with a backchannel_logout_uri are told, server to server, when a user signs out.
    backchannelLogout: { enabled: true },
    ...(api ? { resourceIndicators, clientCredentials: { enabled: true } } : {}),
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: async (ctx, form) => {
        ctx.body = page('Sign out', `<p>Do you want to sign out from ${escapeHtml(ctx.host)}?</p>
${withButtons(form, `  <button type="submit" name="logout" value="yes">Yes, sign me out</button>
  <button type="submit">No, stay signed in</button>`)}`);
      },
      postLogoutSuccessSource: async (ctx) => {
        ctx.body = page('Signed out', '<p>You are signed out.</p>');
      },
    },
    deviceFlow: {
      enabled: settings.deviceFlow,
      userCodeInputSource: async (ctx, form, _out, err) => {
        const message = err ? `<p class="error">${escapeHtml(err.message ?? err.name ?? 'error')}</p>\n` : '';
        ctx.body = page('Device sign-in', `${message}<p>Enter the code displayed on your device.</p>
${withButtons(form, '  <button type="submit">Continue</button>')}`);
      },
      userCodeConfirmSource: async (ctx, form, client, _deviceInfo, userCode) => {
        ctx.body = page('Confirm device', `<p><strong>${escapeHtml(client.clientName ?? client.clientId)}</strong> shows the code <code>${escapeHtml(userCode)}</code>.</p>
${withButtons(form, `  <button type="submit">Continue</button>
  <button type="submit" name="abort" value="yes">Abort</button>`)}`);
      },
      successSource: async (ctx) => {
        ctx.body = page('Device signed in', '<p>Your device is signed in; you can close this page.</p>');
      },
    },
  },
});

// RFC 8693 token exchange, for clients whose grant_types list it (a web API exchanging the access
// token it received for one of its own downstream APIs): an active access token of this provider
// as subject_token gets a new access token for the asked scope (issued like a client credentials
// token: this test provider does not model delegation beyond that).
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
provider.registerGrantType(TOKEN_EXCHANGE, async (ctx) => {
  const { subject_token: subjectToken, subject_token_type: subjectType, scope } = ctx.oidc.params;
  if (subjectType !== ACCESS_TOKEN_TYPE) {
    throw new errors.InvalidRequest('subject_token_type must be an access token');
  }
  const subject = await provider.AccessToken.find(String(subjectToken ?? ''));
  if (!subject || subject.isExpired) {
    throw new errors.InvalidGrant('subject_token is invalid or expired');
  }
  const token = new provider.ClientCredentials({ client: ctx.oidc.client, scope: scope || undefined });
  ctx.oidc.entity('ClientCredentials', token);
  const value = await token.save();
  ctx.body = {
    access_token: value,
    issued_token_type: ACCESS_TOKEN_TYPE,
    token_type: 'Bearer',
    expires_in: token.expiration,
    scope: token.scope,
  };
}, ['scope', 'subject_token', 'subject_token_type', 'requested_token_type', 'audience', 'resource', 'actor_token', 'actor_token_type'], ['audience', 'resource']);

// Log every error event in one line: a failing test then shows why the provider said no.
const emit = provider.emit.bind(provider);
provider.emit = (name, ...args) => {
  if (typeof name === 'string' && (name.endsWith('.error') || name === 'server_error')) {
    const err = args.find((arg) => arg instanceof Error);
    if (err) {
      // error_detail says why (e.g. which check refused a grant); it is never sent to clients.
      const detail = [...new Set([err.error_description, err.error_detail, err.cause?.message])]
        .filter(Boolean).join('; ');
      log(`${name}: ${err.error ?? err.name}${detail ? ` (${detail})` : ''}`);
      if (name === 'server_error') log(err.stack);
    }
  }
  return emit(name, ...args);
};
provider.on('error', () => {}); // Koa would print these again; logged above.

// Test hooks and the sign-in pages. `provider.use` puts them before oidc-provider's own router.
provider.use(async (ctx, next) => {
  if (ctx.path === '/__stats' && ctx.method === 'GET') {
    ctx.body = stats;
    return;
  }
  if (ctx.path === '/__reset_stats' && ctx.method === 'POST') {
    stats = zeroStats();
    ctx.body = stats;
    return;
  }
  if (ctx.path === '/__revoke_all' && ctx.method === 'POST') {
    const { sub } = ctx.query;
    if (typeof sub !== 'string' || sub === '') {
      ctx.status = 400;
      ctx.body = { error: 'sub query parameter required' };
      return;
    }
    ctx.body = { sub, revoked: revokeAll(sub) };
    return;
  }

  const endpoint = ctx.method === 'OPTIONS' ? undefined : endpointByPath.get(ctx.path);
  if (endpoint && endpoint !== 'token') stats[endpoint] += 1;
  if (endpoint === 'authorization' && settings.responseMode && ctx.method === 'GET') {
    const query = new URLSearchParams(ctx.querystring);
    query.set('response_mode', settings.responseMode);
    ctx.querystring = query.toString();
  }
  try {
    await next();
  } finally {
    if (endpoint === 'token') {
      // The grant type is only known once oidc-provider has parsed the body.
      let grantType;
      try {
        grantType = ctx.oidc?.params?.grant_type;
      } catch {
        grantType = undefined;
      }
      const key = typeof grantType === 'string' ? grantType : 'unknown';
      stats.token[key] = (stats.token[key] ?? 0) + 1;
    }
    if (settings.verbose) log(`${ctx.method} ${ctx.originalUrl} -> ${ctx.status}`);
  }
});

const interactionPath = /^\/interaction\/([^/]+)(?:\/(login|confirm|abort))?$/;

provider.use(async (ctx, next) => {
  const match = interactionPath.exec(ctx.path);
  if (!match) return next();
  const [, uid, action] = match;
  ctx.set('cache-control', 'no-store');

  try {
    const interaction = await provider.interactionDetails(ctx.req, ctx.res);
    if (interaction.uid !== uid) throw new errors.SessionNotFound('interaction mismatch');
    const { prompt, params } = interaction;

    // Sends the browser on with the interaction's result, back to oidc-provider.
    const finish = async (result, mergeWithLastSubmission) => {
      const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission });
      ctx.status = 303;
      ctx.redirect(returnTo);
    };

    if (!action && ctx.method === 'GET') {
      if (prompt.name === 'login') {
        ctx.type = 'html';
        ctx.body = loginPage(uid, params);
      } else if (prompt.name === 'consent') {
        if (settings.autoConsent) {
          // Reached when consent is asked for explicitly (prompt=consent).
          await finish({ consent: { grantId: await grantConsent(provider, interaction) } }, true);
        } else {
          ctx.type = 'html';
          ctx.body = consentPage(uid, await provider.Client.find(params.client_id), prompt.details);
        }
      } else {
        ctx.throw(501, `prompt ${prompt.name} not implemented`);
      }
      return;
    }

    if (action === 'login' && ctx.method === 'POST') {
      const form = await readForm(ctx.req);
      const login = (form.get('login') ?? '').trim();
      if (prompt.name !== 'login' || login === '') {
        ctx.status = 400;
        ctx.type = 'html';
        ctx.body = loginPage(uid, params, 'Enter a user name.');
        return;
      }
      await finish({ login: { accountId: login } }, false);
      return;
    }

    if (action === 'confirm' && ctx.method === 'POST') {
      await readForm(ctx.req);
      if (prompt.name !== 'consent') ctx.throw(400, 'no consent prompt pending');
      await finish({ consent: { grantId: await grantConsent(provider, interaction) } }, true);
      return;
    }

    if (action === 'abort' && ctx.method === 'GET') {
      await finish({ error: 'access_denied', error_description: 'End-User aborted interaction' }, false);
      return;
    }

    ctx.throw(405, 'method not allowed');
  } catch (err) {
    log(`interaction ${ctx.method} ${ctx.path}: ${err.name}: ${err.message}`);
    ctx.status = err.status ?? err.statusCode ?? 500;
    ctx.type = 'html';
    ctx.body = page('Error', `<p class="error">${escapeHtml(err.message)}</p>`);
  }
});

// oidc-provider validates static clients on first use; do it now so a bad client fails the start
// (with the reason on stderr) instead of a sign-in later.
for (const { client_id: clientId } of settings.clients) {
  try {
    await provider.Client.find(clientId);
  } catch (err) {
    log(`invalid client ${JSON.stringify(clientId)}: ${err.error ?? err.name}: ${err.error_description ?? err.message}`);
    process.exit(1);
  }
}

server.on('request', provider.callback());

// ---------------------------------------------------------------------------------------------
// Lifetime

const stop = () => {
  server.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The parent holds our stdin; when it goes away (even by SIGKILL) stdin reaches its end.
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.on('error', stop);
process.stdin.resume();

process.stdout.write(`${JSON.stringify({ issuer })}\n`);
