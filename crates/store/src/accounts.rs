//! People who sign in: users, their roles, password hashes (argon2id), lockout
//! after repeated failures, and API tokens for scripts (stored hashed).

use crate::db::{self, Conn, DbResult, Row, Tx};
use crate::{Actor, ChangeError, audit, params};
use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use chrono::NaiveDateTime;
use jp_domain::session::LockoutPolicy;
use jp_domain::{Email, Password, Role};
use rand::RngCore;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub agency_id: Option<i64>,
    pub agency_name: Option<String>,
    pub team: Option<String>,
    pub active: bool,
    pub roles: Vec<Role>,
    pub locked_until: Option<NaiveDateTime>,
    pub version: i64,
}

impl User {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
    pub fn has_any(&self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.has(*r))
    }
}

pub fn hash_password(p: &Password) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(p.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
}

/// Compares in constant time through argon2. An account with no hash never matches.
pub fn password_matches(hash: Option<&str>, p: &Password) -> bool {
    // The same work is done for unknown accounts, so timing does not tell them apart.
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| {
        Password::for_sign_in("no account has this password")
            .map(|p| hash_password(&p))
            .unwrap_or_default()
    });
    let stored = hash.unwrap_or(dummy);
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    Argon2::default()
        .verify_password(p.expose().as_bytes(), &parsed)
        .is_ok()
        && hash.is_some()
}

const USER_COLUMNS: &str =
    "u.id, u.email, u.name, u.agency_id, a.name, u.team, u.active, u.locked_until, u.version";

fn user_from(conn: &mut Conn, r: &Row) -> DbResult<User> {
    let id: i64 = r.get(0)?;
    Ok(User {
        id,
        email: r.get(1)?,
        name: r.get(2)?,
        agency_id: r.get(3)?,
        agency_name: r.get(4)?,
        team: r.get(5)?,
        active: r.get(6)?,
        locked_until: r.get(7)?,
        version: r.get(8)?,
        roles: roles_of(conn, id)?,
    })
}

pub fn roles_of(conn: &mut Conn, user_id: i64) -> DbResult<Vec<Role>> {
    let mut roles: Vec<Role> = conn
        .query(
            "SELECT role FROM user_roles WHERE user_id = $1",
            &params![user_id],
        )?
        .iter()
        .filter_map(|r| r.get::<String>(0).ok().and_then(|s| Role::parse(&s)))
        .collect();
    roles.sort();
    Ok(roles)
}

/// The columns of [`USER_COLUMNS`] then the user's roles as one text, for
/// reading a user in one query (`users u LEFT JOIN agencies a`).
pub(crate) fn user_and_roles_columns(backend: crate::db::Backend) -> String {
    let roles = match backend {
        crate::db::Backend::Sqlite => "group_concat(role, ',')",
        crate::db::Backend::Postgres => "string_agg(role, ',')",
    };
    format!("{USER_COLUMNS}, (SELECT {roles} FROM user_roles WHERE user_id = u.id)")
}

/// A user read by [`user_and_roles_columns`], starting at column `at`.
pub(crate) fn user_and_roles_from(r: &Row, at: usize) -> DbResult<User> {
    let mut roles: Vec<Role> = r
        .get::<Option<String>>(at + 9)?
        .unwrap_or_default()
        .split(',')
        .filter_map(Role::parse)
        .collect();
    roles.sort();
    Ok(User {
        id: r.get(at)?,
        email: r.get(at + 1)?,
        name: r.get(at + 2)?,
        agency_id: r.get(at + 3)?,
        agency_name: r.get(at + 4)?,
        team: r.get(at + 5)?,
        active: r.get(at + 6)?,
        locked_until: r.get(at + 7)?,
        version: r.get(at + 8)?,
        roles,
    })
}

pub fn get(conn: &mut Conn, id: i64) -> DbResult<Option<User>> {
    let cols = user_and_roles_columns(conn.backend());
    conn.query_opt(
        &format!(
            "SELECT {cols} FROM users u LEFT JOIN agencies a ON a.id = u.agency_id WHERE u.id = $1"
        ),
        &params![id],
    )?
    .map(|r| user_and_roles_from(&r, 0))
    .transpose()
}

/// The user and their password hash, for signing in.
pub fn find_for_sign_in(
    conn: &mut Conn,
    email: &Email,
) -> DbResult<Option<(User, Option<String>, i64)>> {
    let row = conn.query_opt(
        &format!(
            "SELECT {USER_COLUMNS}, u.password_hash, u.failed_attempts FROM users u \
             LEFT JOIN agencies a ON a.id = u.agency_id WHERE u.email = $1"
        ),
        &params![email.as_str()],
    )?;
    match row {
        None => Ok(None),
        Some(r) => {
            let u = user_from(conn, &r)?;
            Ok(Some((u, r.get(9)?, r.get(10)?)))
        }
    }
}

pub fn find_by_email(conn: &mut Conn, email: &Email) -> DbResult<Option<User>> {
    Ok(find_for_sign_in(conn, email)?.map(|(u, _, _)| u))
}

pub fn list(conn: &mut Conn) -> DbResult<Vec<User>> {
    let rows = conn.query(
        &format!("SELECT {USER_COLUMNS} FROM users u LEFT JOIN agencies a ON a.id = u.agency_id ORDER BY LOWER(u.name), u.id"),
        &[],
    )?;
    rows.iter().map(|r| user_from(conn, r)).collect()
}

#[derive(Debug, Clone)]
pub struct UserFields {
    pub email: Email,
    pub name: String,
    pub agency_id: Option<i64>,
    pub team: Option<String>,
    pub active: bool,
    pub roles: Vec<Role>,
}

fn set_roles(tx: &mut Tx<'_>, user_id: i64, roles: &[Role]) -> DbResult<()> {
    tx.execute(
        "DELETE FROM user_roles WHERE user_id = $1",
        &params![user_id],
    )?;
    for r in roles {
        tx.execute(
            "INSERT INTO user_roles (user_id, role) VALUES ($1, $2)",
            &params![user_id, r.slug()],
        )?;
    }
    Ok(())
}

fn duplicate_email(e: db::DbError, email: &Email) -> ChangeError {
    if e.is_unique_violation() {
        ChangeError::Duplicate(format!("There is already an account for {email}"))
    } else {
        ChangeError::Db(e)
    }
}

fn check_agency(tx: &mut Tx<'_>, f: &UserFields) -> Result<(), ChangeError> {
    if let Some(a) = f.agency_id
        && crate::reference::agencies::get(tx, a)?.is_none()
    {
        return Err(ChangeError::Invalid(
            "Select an agency from the list".to_owned(),
        ));
    }
    Ok(())
}

pub fn create(
    tx: &mut Tx<'_>,
    actor: &Actor,
    f: &UserFields,
    password_hash: Option<String>,
) -> Result<i64, ChangeError> {
    check_agency(tx, f)?;
    let now = db::now();
    let password_set = password_hash.is_some();
    let row = tx
        .query_one(
            "INSERT INTO users (email, name, agency_id, team, password_hash, active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
            &params![f.email.as_str(), &f.name, f.agency_id, f.team.clone(), password_hash, f.active, now],
        )
        .map_err(|e| duplicate_email(e, &f.email))?;
    let id: i64 = row.get(0)?;
    set_roles(tx, id, &f.roles)?;
    audit::record(
        tx,
        actor,
        "user.created",
        "user",
        Some(id.to_string()),
        json!({"email": f.email, "name": f.name, "agency_id": f.agency_id, "team": f.team, "active": f.active,
               "roles": f.roles, "password_set": password_set}),
    )?;
    Ok(id)
}

/// Saves changed fields when `version` is still current.
pub fn update(
    tx: &mut Tx<'_>,
    actor: &Actor,
    id: i64,
    version: i64,
    f: &UserFields,
) -> Result<(), ChangeError> {
    check_agency(tx, f)?;
    let before = get(tx, id)?.ok_or(ChangeError::NotFound)?;
    if before.version != version {
        return Err(ChangeError::Conflict {
            current: before.version,
        });
    }
    let n = tx
        .execute(
            "UPDATE users SET email = $1, name = $2, agency_id = $3, team = $4, active = $5, version = version + 1, updated_at = $6 \
             WHERE id = $7 AND version = $8",
            &params![f.email.as_str(), &f.name, f.agency_id, f.team.clone(), f.active, db::now(), id, version],
        )
        .map_err(|e| duplicate_email(e, &f.email))?;
    if n == 0 {
        return Err(ChangeError::Conflict {
            current: before.version + 1,
        });
    }
    set_roles(tx, id, &f.roles)?;
    if !f.active {
        tx.execute("DELETE FROM sessions WHERE user_id = $1", &params![id])?;
    }
    let after = get(tx, id)?.ok_or(ChangeError::NotFound)?;
    audit::record(
        tx,
        actor,
        "user.updated",
        "user",
        Some(id.to_string()),
        crate::reference::diff(&before, &after),
    )?;
    Ok(())
}

pub fn set_password(
    tx: &mut Tx<'_>,
    actor: &Actor,
    id: i64,
    hash: &str,
) -> Result<(), ChangeError> {
    let n = tx.execute(
        "UPDATE users SET password_hash = $1, failed_attempts = 0, locked_until = NULL, version = version + 1, updated_at = $2 WHERE id = $3",
        &params![hash, db::now(), id],
    )?;
    if n == 0 {
        return Err(ChangeError::NotFound);
    }
    tx.execute("DELETE FROM sessions WHERE user_id = $1", &params![id])?;
    audit::record(
        tx,
        actor,
        "user.password-set",
        "user",
        Some(id.to_string()),
        json!({}),
    )?;
    Ok(())
}

/// Counts a failed sign-in; locks the account when the policy says so. Returns true if now locked.
pub fn record_failed_sign_in(
    tx: &mut Tx<'_>,
    user: &User,
    failures_before: i64,
    policy: &LockoutPolicy,
    now: NaiveDateTime,
) -> DbResult<bool> {
    let failures = failures_before + 1;
    let lock = failures >= policy.max_failures;
    let until = lock.then(|| now + policy.lock_for);
    tx.execute(
        "UPDATE users SET failed_attempts = $1, locked_until = $2 WHERE id = $3",
        &params![if lock { 0 } else { failures }, until, user.id],
    )?;
    let actor = Actor::system(format!("sign-in attempt for {}", user.email));
    audit::record(
        tx,
        &actor,
        "sign-in.failed",
        "user",
        Some(user.id.to_string()),
        json!({"failures": failures}),
    )?;
    if let Some(until) = until {
        audit::record(
            tx,
            &actor,
            "user.locked",
            "user",
            Some(user.id.to_string()),
            json!({"until": until.format("%Y-%m-%dT%H:%M:%S").to_string(), "after_failures": failures}),
        )?;
    }
    Ok(lock)
}

pub fn clear_failures(tx: &mut Tx<'_>, user_id: i64) -> DbResult<()> {
    tx.execute(
        "UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = $1",
        &params![user_id],
    )?;
    Ok(())
}

/// A random secret, hex-encoded, and its SHA-256 (what the database keeps).
pub fn new_secret(prefix: &str) -> (String, String) {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    let token = format!("{prefix}{}", hex::encode(b));
    let hash = sha256_hex(&token);
    (token, hash)
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Issues an API token for a user; the token itself is shown once and never stored.
pub fn create_token(
    tx: &mut Tx<'_>,
    actor: &Actor,
    user_id: i64,
    label: &str,
) -> Result<String, ChangeError> {
    let (token, hash) = new_secret("jp_");
    let row = tx.query_one(
        "INSERT INTO api_tokens (user_id, token_hash, label, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        &params![user_id, hash, label, db::now()],
    )?;
    let id: i64 = row.get(0)?;
    audit::record(
        tx,
        actor,
        "api-token.created",
        "user",
        Some(user_id.to_string()),
        json!({"token_id": id, "label": label}),
    )?;
    Ok(token)
}

/// The active user a bearer token belongs to.
pub fn user_for_token(conn: &mut Conn, token: &str) -> DbResult<Option<User>> {
    let hash = sha256_hex(token);
    let row = conn.query_opt(
        "SELECT t.id, t.user_id FROM api_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.active = TRUE",
        &params![hash],
    )?;
    let Some(row) = row else { return Ok(None) };
    let (token_id, user_id): (i64, i64) = (row.get(0)?, row.get(1)?);
    conn.execute(
        "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2",
        &params![db::now(), token_id],
    )?;
    get(conn, user_id)
}

#[derive(Debug, Clone, Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub label: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

pub fn tokens_of(conn: &mut Conn, user_id: i64) -> DbResult<Vec<TokenInfo>> {
    conn.query(
        "SELECT id, label, created_at, last_used_at, revoked_at FROM api_tokens WHERE user_id = $1 ORDER BY id DESC",
        &params![user_id],
    )?
    .iter()
    .map(|r| Ok(TokenInfo { id: r.get(0)?, label: r.get(1)?, created_at: r.get(2)?, last_used_at: r.get(3)?, revoked_at: r.get(4)? }))
    .collect()
}

pub fn revoke_token(
    tx: &mut Tx<'_>,
    actor: &Actor,
    user_id: i64,
    token_id: i64,
) -> Result<(), ChangeError> {
    let n = tx.execute(
        "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
        &params![db::now(), token_id, user_id],
    )?;
    if n == 0 {
        return Err(ChangeError::NotFound);
    }
    audit::record(
        tx,
        actor,
        "api-token.revoked",
        "user",
        Some(user_id.to_string()),
        json!({"token_id": token_id}),
    )?;
    Ok(())
}
