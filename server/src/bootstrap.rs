//! First start: the organization, its Ed25519 key and the first administrator.

use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::StartError;
use crate::config::ServerConfig;
use crate::secrets::{self, PasswordCost};
use crate::store::{Db, NewOrganization, Store, StoreError};

/// Creates an organization with a fresh Ed25519 key (PKCS#8, ring) and an active
/// administrator; returns `(organization id, administrator id)`. Tests use it for a
/// second organization; it has no HTTP route.
pub fn create_organization(
    store: &dyn Store,
    name: &str,
    admin_email: &str,
    admin_password: &str,
    cost: PasswordCost,
) -> Result<(Uuid, Uuid), StoreError> {
    let rng = SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng)
        .map_err(|_| StoreError::Backend("cannot generate the organization key".into()))?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
        .map_err(|_| StoreError::Backend("cannot read the organization key".into()))?;
    let hash = secrets::hash_password(admin_password, cost).map_err(StoreError::Backend)?;
    let org = NewOrganization {
        id: Uuid::new_v4(),
        name: name.to_string(),
        signing_key_pkcs8: pkcs8.as_ref().to_vec(),
        public_key: pair.public_key().as_ref().to_vec(),
        admin_id: Uuid::new_v4(),
        admin_email: admin_email.to_string(),
        admin_name: "Administrator".into(),
        admin_password_hash: hash,
        now: OffsetDateTime::now_utc(),
    };
    store.create_organization(&org)?;
    Ok((org.id, org.admin_id))
}

/// An organization made by the operator's `access-server org create`.
#[derive(Debug, Clone)]
pub struct CreatedOrganization {
    pub id: Uuid,
    pub admin_email: String,
    /// The administrator's password when it was generated (shown once), else `None`.
    pub generated_password: Option<String>,
}

/// Checks the name and the administrator's email (a well-formed address nobody signs in
/// with yet), then creates the organization; without a password one is generated.
pub fn add_organization(
    store: &dyn Store,
    name: &str,
    admin_email: &str,
    admin_password: Option<String>,
    cost: PasswordCost,
) -> Result<CreatedOrganization, String> {
    let name =
        crate::validate::clean_name(name, "The organization name", 200).map_err(|e| e.message)?;
    let email = crate::validate::clean_email(admin_email).map_err(|e| e.message)?;
    if store
        .login_lookup(&email)
        .map_err(|e| e.to_string())?
        .is_some()
    {
        return Err(format!(
            "{email} already signs in to an organization on this server; choose another \
             administrator email"
        ));
    }
    let (password, generated) = password_or_new(admin_password);
    let (id, _) =
        create_organization(store, &name, &email, &password, cost).map_err(|e| e.to_string())?;
    Ok(CreatedOrganization {
        id,
        admin_email: email,
        generated_password: generated.then_some(password),
    })
}

/// The configured password, or a new random one (`true`: generated, to be shown once).
fn password_or_new(configured: Option<String>) -> (String, bool) {
    match configured {
        Some(p) => (p, false),
        None => (secrets::new_token(), true),
    }
}

/// On the very first start (no organization yet), creates it with the configured
/// administrator, generating and printing a password once when none is configured.
pub async fn first_start(db: &Db, config: &ServerConfig) -> Result<(), StartError> {
    if db.run(|s| s.organization_count()).await? > 0 {
        return Ok(());
    }
    let email = config
        .admin_email
        .clone()
        .unwrap_or_else(|| "admin@localhost".into());
    let (password, generated) = password_or_new(config.admin_password.clone());
    let (name, cost) = (config.organization_name.clone(), config.password_cost);
    let (e, p) = (email.clone(), password.clone());
    match db
        .run(move |s| create_organization(s, &name, &e, &p, cost))
        .await
    {
        Ok(_) => {}
        // Another instance created it at the same moment.
        Err(StoreError::Conflict(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    if generated {
        println!(
            "access-server: created administrator {email} with password {password} \
             (shown once; set ACCESS_ADMIN_PASSWORD to choose it)"
        );
    } else {
        println!("access-server: created administrator {email}");
    }
    Ok(())
}
