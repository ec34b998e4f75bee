//! The provider as `openidconnect` sees it: discovery (with `end_session_endpoint`, which
//! the crate's core metadata leaves out), a client whose ID tokens keep every claim (the
//! role map reads any of them: `groups`, GitLab's `groups_direct`), the authorization
//! URL with state, nonce and an S256 PKCE challenge, and the checked code exchange.

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClaimName, CoreClaimType,
    CoreClientAuthMethod, CoreErrorResponseType, CoreGenderClaim, CoreGrantType, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm,
    CoreResponseMode, CoreResponseType, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreSubjectIdentifierType, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AdditionalProviderMetadata, AuthorizationCode, Client,
    ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IdTokenFields, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, ProviderMetadata, RedirectUrl, Scope, StandardErrorResponse,
    StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};

use super::http::ProviderHttp;
use crate::application::sso::SsoConfig;

/// Every claim of the ID token beyond the standard ones, as JSON.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OtherClaims {
    /// The claims, by name.
    #[serde(flatten)]
    pub claims: serde_json::Map<String, serde_json::Value>,
}
impl AdditionalClaims for OtherClaims {}

/// The discovery fields beyond the core ones that sign-out needs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LogoutMetadata {
    /// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0), when offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<String>,
}
impl AdditionalProviderMetadata for LogoutMetadata {}

type Metadata = ProviderMetadata<
    LogoutMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

type Tokens = StandardTokenResponse<
    IdTokenFields<
        OtherClaims,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;

type OidcClient = Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    Tokens,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Why talking to the provider failed. The message goes to the log and, shortened, to
/// the person's error page; it never holds a code, token or secret.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// A URL of the config is not one.
    #[error("invalid {what} URL: {why}")]
    Url {
        /// Which.
        what: &'static str,
        /// The parser's words.
        why: String,
    },
    /// Discovery or its keys failed.
    #[error("OIDC discovery at {issuer} failed: {why}")]
    Discovery {
        /// The issuer.
        issuer: String,
        /// What went wrong.
        why: String,
    },
    /// The provider refused the code or did not answer.
    #[error("the code exchange with the provider failed: {0}")]
    Exchange(String),
    /// The answer carried no ID token.
    #[error("the provider answered without an ID token (is the `openid` scope allowed?)")]
    NoIdToken,
    /// The ID token failed verification (signature, issuer, audience, expiry, nonce).
    #[error("the ID token was refused: {0}")]
    IdToken(String),
}

/// A discovered provider and this service's client there.
pub struct Provider {
    client: OidcClient,
    scopes: Vec<String>,
    /// RP-initiated logout at the provider, when it offers one.
    pub end_session: Option<String>,
    /// This service's client ID (the logout request names it).
    pub client_id: String,
}

/// A sign-in's start: where to send the browser, and what the callback will need.
pub struct Authorize {
    /// The provider's authorization URL with every parameter.
    pub url: String,
    /// `state`: CSRF protection of the callback.
    pub state: String,
    /// The ID token must carry it.
    pub nonce: Nonce,
    /// The PKCE secret behind the S256 challenge in `url`.
    pub verifier: PkceCodeVerifier,
}

/// A verified sign-in: the standard claims the session keeps, and all of them for the
/// role map.
pub struct Verified {
    /// `sub`.
    pub subject: String,
    /// `preferred_username`.
    pub username: Option<String>,
    /// `email`.
    pub email: Option<String>,
    /// Every claim beyond the standard ones.
    pub claims: serde_json::Map<String, serde_json::Value>,
    /// The raw ID token (the logout's `id_token_hint`).
    pub id_token: String,
}

impl Provider {
    /// Discovers `config.issuer` (metadata and keys) and sets the client up to come back
    /// to `redirect`.
    pub async fn discover(
        config: &SsoConfig,
        redirect: &str,
        http: &ProviderHttp,
    ) -> Result<Provider, ProviderError> {
        let issuer = IssuerUrl::new(config.issuer.clone()).map_err(|e| ProviderError::Url {
            what: "issuer",
            why: e.to_string(),
        })?;
        let metadata =
            Metadata::discover_async(issuer, http)
                .await
                .map_err(|e| ProviderError::Discovery {
                    issuer: config.issuer.clone(),
                    why: chain(&e),
                })?;
        let end_session = metadata.additional_metadata().end_session_endpoint.clone();
        let redirect = RedirectUrl::new(redirect.to_string()).map_err(|e| ProviderError::Url {
            what: "redirect",
            why: e.to_string(),
        })?;
        let client = OidcClient::from_provider_metadata(
            metadata,
            ClientId::new(config.client_id.clone()),
            config.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect);
        Ok(Provider {
            client,
            scopes: config.scopes.clone(),
            end_session,
            client_id: config.client_id.clone(),
        })
    }

    /// A new sign-in: random state and nonce, an S256 PKCE challenge.
    pub fn authorize(&self) -> Authorize {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = self.client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for s in self.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(s.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        Authorize {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce,
            verifier,
        }
    }

    /// Exchanges `code` (proving the login with `verifier`) and verifies the ID token:
    /// signature by the provider's keys, issuer, audience = this client, expiry, `nonce`,
    /// and the access token's hash when the token carries one.
    pub async fn exchange(
        &self,
        code: String,
        verifier: PkceCodeVerifier,
        nonce: &Nonce,
        http: &ProviderHttp,
    ) -> Result<Verified, ProviderError> {
        let answer = self
            .client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| ProviderError::Exchange(e.to_string()))?
            .set_pkce_verifier(verifier)
            .request_async(http)
            .await
            .map_err(|e| ProviderError::Exchange(chain(&e)))?;
        let token = answer.id_token().ok_or(ProviderError::NoIdToken)?;
        let verifier = self.client.id_token_verifier();
        let claims = token
            .claims(&verifier, nonce)
            .map_err(|e| ProviderError::IdToken(chain(&e)))?;
        if let Some(expected) = claims.access_token_hash() {
            let alg = token
                .signing_alg()
                .map_err(|e| ProviderError::IdToken(chain(&e)))?;
            let key = token
                .signing_key(&verifier)
                .map_err(|e| ProviderError::IdToken(chain(&e)))?;
            let actual = AccessTokenHash::from_token(answer.access_token(), alg, key)
                .map_err(|e| ProviderError::IdToken(chain(&e)))?;
            if actual != *expected {
                return Err(ProviderError::IdToken(
                    "at_hash does not match the access token".into(),
                ));
            }
        }
        Ok(Verified {
            subject: claims.subject().as_str().to_string(),
            username: claims.preferred_username().map(|u| u.as_str().to_string()),
            email: claims.email().map(|e| e.as_str().to_string()),
            claims: claims.additional_claims().claims.clone(),
            id_token: token.to_string(),
        })
    }
}

/// An error and its sources, `: `-joined (the crate's top-level words alone say little).
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        out.push_str(": ");
        out.push_str(&s.to_string());
        next = s.source();
    }
    out
}
