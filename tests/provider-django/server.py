"""The tests' second OpenID provider: django-oauth-toolkit, served on 127.0.0.1.

An implementation independent of oidc-provider (the tests' first provider), with habits of its
own that the library must meet as they are:

- its OpenID discovery document has no `revocation_endpoint` or `introspection_endpoint`; they
  are only in its RFC 8414 metadata (`/.well-known/oauth-authorization-server`);
- its access tokens are opaque (a web API introspects them, RFC 7662);
- its ID tokens are thin (`sub` only): names and e-mail come from userinfo;
- a refresh asking for fewer scopes narrows the new access token to them, and its userinfo
  answers only tokens with `openid`;
- one grant type per client (a client-credentials client is a client of its own).

Configuration: the JSON object in the environment variable PROVIDER_CONFIG (every field
optional):

- `clients`: a list of `{client_id, client_secret, redirect_uris, post_logout_redirect_uris,
  grant ("authorization-code" | "client-credentials"), public (bool), auth_method
  ("client_secret_basic" | "client_secret_post"; the only one the client may use; any when
  absent)}`;
- `scopes`: extra scopes besides openid, profile, email and introspection;
- `accessTokenTtl`: seconds (default 3600);
- `database`: the SQLite file to create (a fresh one per start; default in memory).

Prints `{"issuer": "http://127.0.0.1:<port>"}` on stdout when it is ready, and exits when stdin
closes (the test that started it is gone). Any user name signs in, with any password.
"""

import json
import os
import sys
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

CONFIG = json.loads(os.environ.get("PROVIDER_CONFIG") or "{}")
VERBOSE = bool(CONFIG.get("verbose"))


def rsa_key_pem():
    """A fresh RS256 signing key: ID tokens must be signed asymmetrically."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


SCOPES = {
    "openid": "OpenID Connect",
    "profile": "Your name",
    "email": "Your e-mail address",
    "introspection": "Introspect tokens",
}
for extra in CONFIG.get("scopes", []):
    SCOPES[extra] = extra

# The client authentication method each client must use (token, revocation, introspection).
AUTH_METHODS = {
    c["client_id"]: c["auth_method"] for c in CONFIG.get("clients", []) if c.get("auth_method")
}

from django.conf import settings  # noqa: E402

settings.configure(
    DEBUG=False,
    SECRET_KEY=os.urandom(32).hex(),
    ALLOWED_HOSTS=["127.0.0.1"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "oauth2_provider",
    ],
    MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ],
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": CONFIG.get("database") or "file:provider?mode=memory&cache=shared",
            "OPTIONS": {"uri": not CONFIG.get("database")},
        }
    },
    PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    TEMPLATES=[],
    USE_TZ=True,
    LOGIN_URL="/login/",
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    LOGGING={"version": 1, "disable_existing_loggers": False},
    OAUTH2_PROVIDER={
        "OIDC_ENABLED": True,
        "OIDC_RSA_PRIVATE_KEY": rsa_key_pem(),
        "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
        "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
        # Logout at the provider leaves the tokens alone: revoking them is the client's job
        # (RFC 7009), which the tests check.
        "OIDC_RP_INITIATED_LOGOUT_DELETE_TOKENS": False,
        "SCOPES": SCOPES,
        "DEFAULT_SCOPES": ["openid"],
        "ACCESS_TOKEN_EXPIRE_SECONDS": int(CONFIG.get("accessTokenTtl", 3600)),
        "ROTATE_REFRESH_TOKEN": True,
        "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
        "ALLOWED_SCHEMES": ["http", "https"],
        "OAUTH2_VALIDATOR_CLASS": __name__ + ".Validator",
        "PKCE_REQUIRED": True,
    },
)

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model, login  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.http import HttpResponse, HttpResponseRedirect  # noqa: E402
from django.middleware.csrf import get_token  # noqa: E402
from django.urls import include, path  # noqa: E402
from django.utils.html import escape  # noqa: E402
from django.utils.http import url_has_allowed_host_and_scheme  # noqa: E402
from oauth2_provider.models import get_application_model  # noqa: E402
from oauth2_provider.oauth2_validators import OAuth2Validator  # noqa: E402


class Validator(OAuth2Validator):
    """django-oauth-toolkit's validator, with each client held to its one authentication
    method (as providers that record `token_endpoint_auth_method` per client do), and the
    user's name and e-mail in userinfo only (a thin ID token)."""

    def authenticate_client(self, request, *args, **kwargs):
        used_basic = bool(self._extract_basic_auth(request))
        if not super().authenticate_client(request, *args, **kwargs):
            return False
        required = AUTH_METHODS.get(request.client.client_id)
        used = "client_secret_basic" if used_basic else "client_secret_post"
        return required is None or required == used

    def get_userinfo_claims(self, request):
        claims = super().get_userinfo_claims(request)
        user = request.user
        claims.update(
            {
                "name": user.username.title(),
                "preferred_username": user.username,
                "email": user.username + "@example.org",
            }
        )
        return claims


def login_view(request):
    """Any user name signs in (the user is created on first use), with any password."""
    next_url = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    if request.method == "POST" and request.POST.get("login"):
        user, _ = get_user_model().objects.get_or_create(username=request.POST["login"])
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return HttpResponseRedirect(next_url)
    return HttpResponse(
        "<!doctype html><title>Sign in</title><form method=post action=/login/>"
        f'<input type=hidden name=csrfmiddlewaretoken value="{escape(get_token(request))}">'
        f'<input type=hidden name=next value="{escape(next_url)}">'
        "<input name=login> <input type=password name=password>"
        "<button type=submit>Sign in</button></form>"
    )


urlpatterns = [
    path("login/", login_view),
    path("", include("oauth2_provider.urls", namespace="oauth2_provider")),
]


def create_clients():
    Application = get_application_model()
    for client in CONFIG.get("clients", []):
        Application.objects.create(
            client_id=client["client_id"],
            client_secret=client.get("client_secret", ""),
            hash_client_secret=True,
            client_type="public" if client.get("public") else "confidential",
            authorization_grant_type=client.get("grant", "authorization-code"),
            redirect_uris=" ".join(client.get("redirect_uris", [])),
            post_logout_redirect_uris=" ".join(client.get("post_logout_redirect_uris", [])),
            skip_authorization=True,
            algorithm="RS256",
            name=client["client_id"],
        )


class Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class Quiet(WSGIRequestHandler):
    def log_message(self, format, *args):
        if VERBOSE:
            super().log_message(format, *args)


def exit_when_stdin_closes():
    sys.stdin.read()
    os._exit(0)


def main():
    # The in-memory database lives as long as one connection to it: this thread's.
    call_command("migrate", verbosity=0, interactive=False)
    create_clients()
    from django.core.wsgi import get_wsgi_application

    server = make_server(
        "127.0.0.1", int(CONFIG.get("port", 0)), get_wsgi_application(), Server, Quiet
    )
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    print(json.dumps({"issuer": f"http://127.0.0.1:{server.server_port}"}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
